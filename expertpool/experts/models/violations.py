"""Violations (违规处理): a report about an expert, its investigation, decision and objection."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import db, utcnow
from ..constants import EXPERT_SUBJECT
from .experts import Expert


class Violation(db.Model):
    """One violation case. Audited under the expert (the administrators' history of the file);
    the expert's own pages show only decided cases, never the internal note."""

    __tablename__ = "violation"
    __audited__ = True
    # Not part of the technical file the matching texts read: no re-embedding on a change.
    __file_part__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    state: Mapped[str] = mapped_column(String(16), default="reported", index=True)
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    # An evidence file under UPLOAD_FOLDER (core.storage): the stored path, never the upload's.
    evidence_path: Mapped[str | None] = mapped_column(String(512))
    evidence_filename: Mapped[str | None] = mapped_column(String(256))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    occurred_on: Mapped[dt.date | None] = mapped_column(Date)
    reporter: Mapped[str | None] = mapped_column(String(128))  # who reported it (may be outside)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    investigation_started_at: Mapped[dt.datetime | None]
    internal_note: Mapped[str | None] = mapped_column(Text)  # the office's only
    decision: Mapped[str | None] = mapped_column(Text)  # what the expert is told
    consequence: Mapped[str | None] = mapped_column(String(16))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None]
    objection_reason: Mapped[str | None] = mapped_column(Text)
    objection_at: Mapped[dt.datetime | None]
    objection_answer: Mapped[str | None] = mapped_column(Text)
    objection_outcome: Mapped[str | None] = mapped_column(String(16))  # upheld | rejected
    objection_answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    objection_answered_at: Mapped[dt.datetime | None]

    expert: Mapped[Expert] = relationship()

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)

    def __repr__(self) -> str:
        return f"<Violation {self.id} {self.kind} {self.state}>"
