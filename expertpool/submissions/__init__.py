"""Submissions to review: RM certification applications and technical-assistance requests."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: the submissions' pages, `flask submissions` and the demo submissions.

    Slots of the submission's page (see `core.features.contribute`), filled by features above:
    - `submissions.detail.actions`: `(label, url)` buttons in the page's header;
    - `submissions.detail.sections`: `(template, context)` sections below the details;
    - `submissions.withdraw.effects`: a sentence saying what withdrawing will also undo.
    """
    from ..core.features import register_demo_loader
    from ..core.jobs import register_task
    from . import demo, views_import
    from .blueprint import bp
    from .cli import submissions_cli

    app.register_blueprint(bp)
    app.cli.add_command(submissions_cli)
    register_task(
        app,
        views_import.IMPORT_TASK,
        views_import.PAGES.run_job,
        max_attempts=3,
        label=views_import.PAGES.job_label,
    )
    register_demo_loader(app, "submissions", demo.load_demo)
