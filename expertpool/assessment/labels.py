"""What the assessment pages say about facts and suggestions, in the reader's language."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .rules import grades_from

ROUND_STATES = {
    "gathering": _l("Gathering facts"),
    "stopped": _l("Gathering stopped"),
    "failed": _l("Gathering failed"),
    "open": _l("Open for grading"),
    "closing": _l("Closing: filing the grades"),
    "close_stopped": _l("Closing stopped"),
    "close_failed": _l("Closing failed"),
    "closed": _l("Closed"),
}
# Colours of the grades in the charts, best first (each with at least 3:1 contrast on white).
COLOURS = ("#1a7f37", "#0b5ed7", "#b35900", "#b02a37", "#6f42c1", "#495057")


def grade_label(code: str | None) -> str:
    """A grade in the reader's language (the stored Chinese name, or its English label)."""
    if not code:
        return ""
    for grade in grades_from(current_app.config["ASSESSMENT_GRADES"]):
        if grade.code == code:
            return grade.label(str(get_locale()))
    return code


def grade_choices() -> list[tuple[str, str]]:
    locale = str(get_locale())
    return [(g.code, g.label(locale)) for g in grades_from(current_app.config["ASSESSMENT_GRADES"])]


def reason_text(code: str, value: Any) -> str:
    """Why a grade was suggested, e.g. "40% of reviews late or overdue"."""
    if code == "late_share":
        return _("%(share)s%% of reviews late or overdue", share=round(float(value) * 100))
    if code == "low_rating":
        return _("average review-quality rating %(avg)s", avg=value)
    if code == "violations":
        return _("%(n)s violations recorded", n=value)
    if code == "training_missing":
        return _("%(n)s required courses not complete", n=value)
    if code == "file_stale":
        return _("technical file not updated since %(date)s", date=value or "—")
    if code == "declines":
        return _("%(n)s invitations declined", n=value)
    if code == "excellent":
        return _("%(n)s reviews, all on time, highly rated", n=value)
    return code
