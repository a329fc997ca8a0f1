"""Read-only JSON API for administrators."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: `/api/v1`, exempt from CSRF (read-only GET: nothing to forge)."""
    from ..extensions import csrf
    from .blueprint import bp

    app.register_blueprint(bp)
    csrf.exempt(bp)
