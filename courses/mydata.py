"""The training part of a person's own data (`expertpool.accounts.mydata`)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from expertpool.accounts.mydata import Section, rows_of
from expertpool.db import db

from .models import Certificate, Enrollment, QuizAttempt


def sections(user: Any) -> list[Section]:
    """Enrolments, quiz attempts and certificates."""
    enrollments = list(
        db.session.scalars(
            select(Enrollment).where(Enrollment.user_id == user.id).order_by(Enrollment.id)
        )
    )
    attempts = db.session.scalars(
        select(QuizAttempt)
        .where(QuizAttempt.enrollment_id.in_([e.id for e in enrollments]))
        .order_by(QuizAttempt.id)
    )
    certificates = db.session.scalars(
        select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id)
    )
    return [
        Section("enrollments", _("Courses enrolled"), rows_of(enrollments)),
        Section("quiz_attempts", _("Quiz attempts"), rows_of(attempts)),
        Section("certificates", _("Certificates"), rows_of(certificates)),
    ]
