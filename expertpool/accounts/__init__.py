"""Accounts: users, roles, sign-in, registration and user administration."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: sign-in pages and `flask users`."""
    from .blueprint import bp
    from .cli import users_cli

    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
