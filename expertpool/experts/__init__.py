"""The expert pool: experts' technical files, their life cycle, vetting, imports and coverage."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: the pool's pages, `flask experts`, file tracking and event receivers.

    Slot `experts.file.sections` (see `core.features.contribute`): providers take the expert and
    return `(template, context)` for a section of the technical file, e.g. training records.
    """
    from flask_babel import lazy_gettext as _l

    from ..accounts.mydata import CORRECTIONS_SLOT, SLOT
    from ..core import signals
    from ..core.exports import register_export
    from ..core.features import contribute
    from ..core.jobs import register_task
    from . import exporter, mydata, operations, tracking, views_import, violations
    from .blueprint import bp
    from .cli import experts_cli

    app.register_blueprint(bp)
    app.cli.add_command(experts_cli)
    for pages in (views_import.PAGES, views_import.PUBLICATION_PAGES):
        register_task(app, pages.job_task, pages.run_job, max_attempts=3, label=pages.job_label)
    register_export(app, exporter.EXPORT_TASK, exporter.export_job, _l("Export experts"))
    contribute(app, SLOT, mydata.sections)
    contribute(app, CORRECTIONS_SLOT, mydata.corrections)
    tracking.connect()
    signals.user_registered.connect(operations.open_applicant_file)
    # The annual assessment counts the year's decided cases among an expert's facts.
    signals.assessment_facts.connect(violations.assessment_facts)
