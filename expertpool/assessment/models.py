"""An annual assessment round (年度考核) and each active expert's draft in it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.jobs.models import Job, JobStatus
from ..db import db, utcnow
from ..experts.constants import EXPERT_SUBJECT
from ..experts.models import Expert


class AssessmentRound(db.Model):
    """One per year: gathering (its job collects the facts) -> open (grading) -> closing (its
    job files the grades) -> closed."""

    __tablename__ = "assessment_round"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="gathering")
    # The day the facts are judged on (overdue reviews, training, file): the year's last day,
    # or the day the round started when that is earlier.
    as_of: Mapped[dt.date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    closed_at: Mapped[dt.datetime | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    job: Mapped[Job | None] = relationship()
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    drafts: Mapped[list[AssessmentDraft]] = relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="AssessmentDraft.id"
    )

    @property
    def state(self) -> str:
        """As people see it: a gathering or closing whose job failed or was cancelled says so
        ("stopped", "failed"; "close_stopped", "close_failed")."""
        if self.status not in ("gathering", "closing"):
            return self.status
        prefix = "close_" if self.status == "closing" else ""
        if self.job is None or self.job.status == JobStatus.CANCELLED:
            return f"{prefix}stopped"
        if self.job.status == JobStatus.FAILED:
            return f"{prefix}failed"
        return self.status


class AssessmentDraft(db.Model):
    """An expert's facts of the year, the suggested grade and the administrator's grade."""

    __tablename__ = "assessment_draft"
    __table_args__ = (UniqueConstraint("round_id", "expert_id"),)
    __audited__ = True
    # Derived from other rows (each of which is audited where it changes): not worth a log row.
    __audit_skip__ = ("facts", "suggested_grade", "suggestion_reasons")

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("assessment_round.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suggested_grade: Mapped[str | None] = mapped_column(String(32))
    suggestion_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    grade: Mapped[str | None] = mapped_column(String(32), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    graded_at: Mapped[dt.datetime | None]
    # When the round closed: the technical file's entry, and the life-cycle step proposed.
    file_assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="SET NULL")
    )
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("pending_change.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    round: Mapped[AssessmentRound] = relationship(back_populates="drafts")
    expert: Mapped[Expert] = relationship(lazy="joined")

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)
