"""An expert's review of a submission: a verdict and comment per criterion, a recommendation."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import db, utcnow
from ...experts.constants import EXPERT_SUBJECT
from ..constants import CRITERIA, ReviewStatus

if TYPE_CHECKING:
    from .assignments import Assignment


class Review(db.Model):
    __tablename__ = "review"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignment.id", ondelete="CASCADE"), unique=True
    )
    # Copied from the assignment so the audit log files the review under its expert.
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    # One verdict (constants.VERDICTS) and one comment per criterion (constants.CRITERIA):
    # plain columns, so the audit log shows each change and reports can query them.
    homogeneity: Mapped[str | None] = mapped_column(String(16))
    homogeneity_comment: Mapped[str | None] = mapped_column(Text)
    stability: Mapped[str | None] = mapped_column(String(16))
    stability_comment: Mapped[str | None] = mapped_column(Text)
    value_assignment: Mapped[str | None] = mapped_column(String(16))
    value_assignment_comment: Mapped[str | None] = mapped_column(Text)
    uncertainty: Mapped[str | None] = mapped_column(String(16))
    uncertainty_comment: Mapped[str | None] = mapped_column(Text)
    traceability: Mapped[str | None] = mapped_column(String(16))
    traceability_comment: Mapped[str | None] = mapped_column(Text)
    certificate_label: Mapped[str | None] = mapped_column(String(16))
    certificate_label_comment: Mapped[str | None] = mapped_column(Text)
    recommendation: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.DRAFT, index=True)
    submitted_at: Mapped[dt.datetime | None]
    # The administrator's review-quality rating, also kept in the expert's technical file.
    quality_rating: Mapped[int | None]
    quality_assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="SET NULL")
    )
    quality_rated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    assignment: Mapped[Assignment] = relationship(back_populates="review")

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)

    @property
    def submitted(self) -> bool:
        return self.status == ReviewStatus.SUBMITTED

    def criteria(self) -> list[tuple[str, str | None, str | None]]:
        """(criterion, verdict, comment) in the order of the form."""
        return [(name, getattr(self, name), getattr(self, f"{name}_comment")) for name in CRITERIA]

    def __repr__(self) -> str:
        return f"<Review {self.id} a{self.assignment_id} {self.status}>"
