"""The annual assessment of experts (年度考核): a round per year, facts gathered by a job, grades
with reasons, results into the technical files and consequences proposed for approval.

`facts.py` and `rules.py` are the pure core (no Flask, no database); `queries.py` reads the plain
records they count; `operations.py` starts, gathers, grades and closes. Other features add facts
of an expert's year (violations, ...) through `core.signals.assessment_facts`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: the pages, the gathering and export jobs, the demo round, the file's
    section with the expert's closed results."""
    from flask_babel import lazy_gettext as _l

    from ..core.exports import register_export
    from ..core.features import contribute, register_demo_loader
    from ..core.jobs import register_task
    from . import demo, exporter, operations
    from .blueprint import bp

    app.register_blueprint(bp)
    # A crash is retried (the gathering is idempotent); a refusal leaves the round as it was.
    register_task(
        app,
        operations.GATHER_TASK,
        operations.gather_round,
        max_attempts=3,
        label=_l("Gather the facts of an annual assessment"),
    )
    register_task(
        app,
        operations.CLOSE_TASK,
        operations.close_round_job,
        max_attempts=3,
        label=_l("Close an annual assessment"),
    )
    register_export(app, exporter.EXPORT_TASK, exporter.export_job, _l("Export an assessment"))
    register_demo_loader(app, "assessment", demo.load_demo)
    contribute(app, "experts.file.sections", _file_section)


def _file_section(expert: Any) -> tuple[str, dict[str, Any]] | None:
    from ..db import db
    from .queries import closed_results

    results = closed_results(db.session, expert.id)
    return ("assessment/_file_section.html", {"results": results}) if results else None
