"""The experts feature's part of a person's own data (`accounts.mydata`): the technical file."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import undefer_group

from ..accounts.mydata import Corrections, Section, row_of, rows_of
from ..db import db
from . import violations
from .models import Expert, PendingChange
from .models.experts import PERSONAL_GROUP


def sections(user: Any) -> list[Section] | None:
    """The person's technical file and its parts, their change requests; None if no file."""
    expert = db.session.scalar(
        select(Expert).where(Expert.user_id == user.id).options(undefer_group(PERSONAL_GROUP))
    )
    if expert is None:
        return None
    file = row_of(
        expert,
        institution=expert.institution.name if expert.institution else None,
        categories=expert.category_codes,
    )
    changes = db.session.scalars(
        select(PendingChange).where(PendingChange.expert_id == expert.id).order_by(PendingChange.id)
    )
    return [
        Section("technical_file", _("Technical file"), [file]),
        Section("specialties", _("Specialties"), rows_of(expert.specialties)),
        Section("publications", _("Publications"), rows_of(expert.publications)),
        Section("developed_rms", _("RMs developed"), rows_of(expert.developed_rms)),
        Section("past_reviews", _("Past reviews"), rows_of(expert.past_reviews)),
        Section("assessments", _("Assessments"), rows_of(expert.assessments)),
        Section("unavailable", _("Unavailable periods"), rows_of(expert.unavailable_periods)),
        Section("conflicts", _("Declared conflicts of interest"), rows_of(expert.conflicts)),
        Section("employments", _("Former employers"), rows_of(expert.employments)),
        Section("status_events", _("Status history"), rows_of(expert.status_events)),
        Section("change_requests", _("Change requests"), rows_of(changes)),
        Section("violations", _("Violation decisions"), _violations(expert.id)),
    ]


def _violations(expert_id: int) -> list[dict[str, Any]]:
    """Decided cases only, as the expert's page shows them (`violations.expert_view`)."""
    cases = db.session.scalars(violations.visible_to_expert(expert_id))
    return [violations.expert_view(case) for case in cases]


def corrections(user: Any) -> Corrections | None:
    """An expert asks for corrections of their file's ID number, e-mail and province through the
    change requests administrators already decide (`PendingChange`, kind "correction")."""
    from . import operations as ops
    from .history import FIELD_LABELS

    expert = db.session.scalar(select(Expert).where(Expert.user_id == user.id))
    if expert is None:
        return None
    changes = db.session.scalars(
        select(PendingChange)
        .where(PendingChange.expert_id == expert.id, PendingChange.kind == ops.CORRECTION)
        .order_by(PendingChange.id.desc())
    )
    requests = [
        {
            "field": str(FIELD_LABELS.get(next(iter(c.after)), "")),
            "value": next(iter(c.after.values())),
            "status": c.status,
            "created_at": c.requested_at,
            "decided_at": c.decided_at,
            "decision_reason": c.decision_reason,
        }
        for c in changes
    ]
    fields = [
        (f"expert.{f}", _("Technical file: %(field)s", field=FIELD_LABELS[f]))
        for f in ops.CORRECTABLE_FIELDS
    ]

    def file(session: Any, who: Any, key: str, value: str, reason: str) -> Any:
        field = key.removeprefix("expert.")
        return ops.request_correction(session, who, expert, field, value, reason)

    return Corrections(fields, file, requests)
