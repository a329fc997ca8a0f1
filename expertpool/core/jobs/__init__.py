"""Background jobs for derived and long work (index updates, rebuilds, imports, round proposals).

`queue` holds the mechanics (see its docstring), `models.Job` the state, `views` the jobs page and
the progress JSON that `jobs/_progress.html` polls, `cli` `flask jobs worker|run|list`.
Features declare their tasks in `init_app` with `register_task` and add jobs with `enqueue`.
"""

from __future__ import annotations

from flask import Flask

from . import queue
from .queue import (
    JobCancelled,
    JobContext,
    JobFailed,
    drain,
    enqueue,
    ids_title,
    register_task,
)

__all__ = [
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "drain",
    "enqueue",
    "ids_title",
    "init_app",
    "register_task",
]


def init_app(app: Flask) -> None:
    from ..health import register_check
    from .cli import jobs_cli
    from .views import bp

    app.config.setdefault("JOBS_BACKEND", "database")
    app.config.setdefault("JOBS_EAGER", False)
    queue.connect_listeners()
    app.register_blueprint(bp)
    app.cli.add_command(jobs_cli)
    register_check(app, "jobs", queue.readiness)
