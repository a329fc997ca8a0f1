"""Changes an expert asked for that need an administrator's approval."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...core.pii import Encrypted
from ...db import db, utcnow
from ..constants import EXPERT_SUBJECT
from .experts import Expert


class PendingChange(db.Model):
    """审评项目变更, a change of institution, or a correction the expert asks for (PIPL) of a
    field they cannot edit: before/after kept for the approver (personal values masked; the
    requested value itself encrypted in `correction_value`)."""

    __tablename__ = "pending_change"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # review_fields | institution | correction
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    request_reason: Mapped[str | None] = mapped_column(Text)
    correction_value: Mapped[str | None] = mapped_column(Encrypted())
    expert: Mapped[Expert] = relationship()

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)
