"""The home page: what each role needs to see first."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: the home page and the pages every role shares."""
    from .blueprint import bp

    app.register_blueprint(bp)
