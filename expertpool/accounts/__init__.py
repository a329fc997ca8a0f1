"""Accounts: users, roles, sign-in, registration and user administration."""

from __future__ import annotations

from flask import Flask

PRUNE_TASK = "accounts.prune_login_history"


def init_app(app: Flask) -> None:
    """The front door: sign-in pages, server-side sessions, `flask users`, history pruning."""
    from ..core.jobs import register_task
    from ..core.jobs.schedule import register_schedule
    from ..extensions import login_manager
    from . import sessions
    from .blueprint import bp
    from .cli import users_cli
    from .pruning import prune_login_history

    app.register_blueprint(bp)
    app.cli.add_command(users_cli)
    login_manager.user_loader(sessions.load_user)
    sessions.connect()
    register_task(app, PRUNE_TASK, prune_login_history)
    register_schedule(app, PRUNE_TASK, app.config.get("LOGIN_HISTORY_PRUNE_CRON"), PRUNE_TASK)
