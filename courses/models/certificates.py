"""Certificates of completion, verifiable by their public code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.accounts.models import User
from expertpool.db import db, utcnow

from .. import validity
from .catalogue import Course
from .learning import Enrollment


def expiring_days() -> int:
    """TRAINING_EXPIRING_DAYS of the running app (the default outside one)."""
    try:
        from flask import current_app

        return int(current_app.config.get("TRAINING_EXPIRING_DAYS", validity.DEFAULT_WINDOW_DAYS))
    except RuntimeError:  # no application context
        return validity.DEFAULT_WINDOW_DAYS


class Certificate(db.Model):
    """Issued once per enrolment; name, title and hours are copied so later edits don't change it."""

    __tablename__ = "course_certificate"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrollment.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    learner_name: Mapped[str] = mapped_column(String(64))
    course_title: Mapped[str] = mapped_column(String(200))
    hours: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Re-certification: a renewal's certificate supersedes the holder's earlier ones of the
    # course. They stay (history, verification) but are no longer the one to renew or remind.
    superseded_at: Mapped[dt.datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_certificate.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    enrollment: Mapped[Enrollment] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_superseded(self) -> bool:
        return self.superseded_at is not None

    def valid_until(self) -> dt.date | None:
        """Last day the certificate counts for required training (None: no expiry)."""
        return validity.expiry_date(self.issued_at.date(), self.course.validity_years)

    def state(self, today: dt.date | None = None, window_days: int | None = None) -> str:
        """valid / expiring / lapsed / revoked (`courses.validity`); the window defaults to
        TRAINING_EXPIRING_DAYS."""
        if window_days is None:
            window_days = expiring_days()
        return validity.state(
            self.valid_until(), today or dt.date.today(), window_days, revoked=self.is_revoked
        )

    def __repr__(self) -> str:
        return f"<Certificate {self.code}>"
