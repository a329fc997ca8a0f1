"""Training: course catalogue, online learning, quizzes, certificates and required training.

Lives outside `expertpool/` as its own feature package (the design fixes the top level); it plugs
in like every other feature, through `init_app`, and sits above `experts` in the layer order.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: training pages, `flask courses`, the materials index, the demo courses,
    and the required-training section of the expert's technical file."""
    from flask_babel import lazy_gettext as _l

    from expertpool.accounts.mydata import SLOT
    from expertpool.core.exports import register_export
    from expertpool.core.features import contribute, register_demo_loader
    from expertpool.core.jobs import register_task
    from expertpool.core.jobs.schedule import register_schedule

    from . import demo, mydata
    from .blueprint import bp
    from .cli import courses_cli
    from .operations import import_job, importer
    from .queries import transcript
    from .search import index as search_index

    app.register_blueprint(bp)
    app.cli.add_command(courses_cli)
    importer.connect()
    register_export(
        app, transcript.EXPORT_TASK, transcript.export_job, _l("Export a training transcript")
    )
    register_task(
        app,
        import_job.IMPORT_TASK,
        import_job.import_job,
        max_attempts=3,
        label=_l("Import course folders"),
    )
    register_task(app, EXPIRY_TASK, expiry_reminders, label=_l("Certificate expiry reminders"))
    register_schedule(
        app, "courses.expiry_reminders", app.config.get("TRAINING_REMINDER_CRON"), EXPIRY_TASK
    )
    search_index.init_app(app)
    register_demo_loader(app, "courses", demo.load_demo)
    contribute(app, "experts.file.sections", _training_section)
    contribute(app, SLOT, mydata.sections)


EXPIRY_TASK = "courses.expiry_reminders"


def expiry_reminders(ctx: Any, at: str | None = None) -> dict[str, int]:
    """The daily job (TRAINING_REMINDER_CRON); `at` is the day it stands for. Idempotent: one
    reminder per certificate and threshold, however often it runs."""
    import datetime as dt

    from .operations.recertification import send_expiry_reminders

    day = dt.date.fromisoformat(at) if at else dt.date.today()
    return send_expiry_reminders(ctx.session, day).as_dict()


def _training_section(expert: Any) -> tuple[str, dict[str, Any]]:
    from .queries.training import training_status

    return "courses/_file_training.html", {"records": training_status(expert)}
