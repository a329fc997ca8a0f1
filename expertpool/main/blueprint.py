"""URL rules of the home page."""

from flask import Blueprint

from . import controllers as c

bp = Blueprint("main", __name__)

bp.add_url_rule("/", "home", c.home)
bp.add_url_rule("/healthz", "health", c.health)
bp.add_url_rule("/readyz", "ready", c.ready)
