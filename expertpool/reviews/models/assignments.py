"""An expert's place on a submission's panel: member or ranked alternate, and its progress."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import db, utcnow
from ...experts.constants import EXPERT_SUBJECT
from ...experts.models import Expert
from ...submissions.models import Submission
from ..constants import AssignmentStatus, Role

if TYPE_CHECKING:
    from .reviews import Review


class Assignment(db.Model):
    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("submission_id", "expert_id"),)
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER)
    rank: Mapped[int] = mapped_column(Integer, default=0)  # order within the role, from 1
    affinity: Mapped[float] = mapped_column(default=0.0)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.PROPOSED, index=True)
    invited_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    responded_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # The expert's declaration, when accepting, that they have no conflict of interest.
    conflict_declared_none: Mapped[bool] = mapped_column(default=False)
    due_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # The review round that proposed it, if any (kept as history if a round row goes).
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_round.id", ondelete="SET NULL"), index=True
    )
    # Why an alternate was passed over or an assignment withdrawn (exclusion codes, a reason).
    exclusions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    submission: Mapped[Submission] = relationship(lazy="joined")
    expert: Mapped[Expert] = relationship(lazy="joined")
    review: Mapped[Review | None] = relationship(
        back_populates="assignment", cascade="all, delete-orphan"
    )

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)

    def overdue(self, today: dt.date) -> bool:
        return (
            self.status == AssignmentStatus.ACCEPTED
            and self.due_date is not None
            and self.due_date < today
        )

    def __repr__(self) -> str:
        return f"<Assignment {self.id} s{self.submission_id} e{self.expert_id} {self.status}>"
