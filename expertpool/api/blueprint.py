"""URL rules of the JSON API (read-only, administrators only)."""

from flask import Blueprint

from . import controllers as c

bp = Blueprint("api", __name__, url_prefix="/api/v1")

bp.add_url_rule("/experts", "experts", c.experts)
bp.add_url_rule("/experts/<int:expert_id>", "expert", c.expert)
bp.add_url_rule("/openapi.json", "openapi", c.openapi)
