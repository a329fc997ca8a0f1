"""The round as an XLSX workbook: one row per expert with the facts, the suggestion and the grade.

A round of more than EXPORT_JOB_THRESHOLD experts is written by the job `assessment.export`
(`core.exports`); either way the download is audited (`core.audit.record_export`). No ID number
or phone is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
from flask_babel import force_locale
from flask_babel import gettext as _

from ..core import exports
from ..core.cells import append_row
from ..core.jobs import JobContext
from ..core.provinces import province_label
from ..core.tabular import workbook_bytes
from ..experts.constants import category_label
from .labels import grade_label
from .models import AssessmentDraft, AssessmentRound

EXPORT_TASK = "assessment.export"
MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers() -> list[str]:
    return [
        _("Expert"),
        _("Institution"),
        _("Province"),
        _("Categories"),
        _("Reviews done"),
        _("On time"),
        _("Late"),
        _("Overdue"),
        _("Invitations declined"),
        _("Decline reasons"),
        _("Quality ratings"),
        _("Average rating"),
        _("Training hours"),
        _("Required training complete"),
        _("File up to date"),
        _("Violations"),
        _("Suggested grade"),
        _("Assessment grade"),
        _("Reason"),
    ]


def row(draft: AssessmentDraft, locale: str) -> list[Any]:
    f, expert = draft.facts or {}, draft.expert
    yes, no = _("Yes"), _("No")
    return [
        expert.name,
        expert.institution.name if expert.institution else None,
        province_label(expert.province, locale) if expert.province else None,
        "; ".join(category_label(c, locale) for c in expert.category_codes),
        f.get("reviews_done", 0),
        f.get("on_time", 0),
        f.get("late", 0),
        f.get("overdue_open", 0),
        f.get("declined", 0),
        "; ".join(f.get("decline_reasons") or []) or None,
        f.get("ratings_count", 0),
        f.get("rating_average"),
        f.get("training_hours", 0),
        yes if f.get("required_complete") else no,
        yes if f.get("file_up_to_date") else no,
        len(f.get("violations") or []),
        grade_label(draft.suggested_grade),
        grade_label(draft.grade),
        draft.reason,
    ]


def workbook(round_: AssessmentRound, drafts: Iterable[AssessmentDraft], locale: str) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = str(round_.year)
    append_row(ws, headers())
    for draft in drafts:
        append_row(ws, row(draft, locale))
    ws.auto_filter.ref = ws.dimensions
    ws.freeze_panes = "B2"
    return workbook_bytes(wb)


def filename(round_: AssessmentRound) -> str:
    return f"assessment-{round_.year}.xlsx"


def export_job(ctx: JobContext, round_id: int, locale: str) -> dict[str, Any]:
    """The task: the round's workbook, to download from the export's page."""
    from .queries import export_drafts

    with force_locale(locale):
        round_ = ctx.session.get(AssessmentRound, round_id)
        if round_ is None:
            return {"skipped": True}
        drafts: Sequence[AssessmentDraft] = export_drafts(ctx.session, round_id)
        rows = exports.counted(drafts, ctx, len(drafts), _("Writing rows"))
        data = workbook(round_, rows, locale)
        return exports.save(ctx, data, filename(round_), MIMETYPE, rows=len(drafts))
