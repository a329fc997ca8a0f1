"""A submission to review: an RM certification application or a technical-assistance request."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ...core.pii import Encrypted
from ...core.provinces import keep_or_normalise
from ...db import db, utcnow
from ...experts.models import Institution
from ..constants import Kind, SubmissionStatus

if TYPE_CHECKING:
    from .attachments import Attachment


class Submission(db.Model):
    __tablename__ = "submission"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    # The regulator's application number (受理编号), when there is one: import refuses repeats.
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24), default=Kind.RM_CERTIFICATION, index=True)
    review_type: Mapped[str | None] = mapped_column(String(16))  # RM certification only
    grade: Mapped[str | None] = mapped_column(String(8))  # RM certification only
    title: Mapped[str] = mapped_column(String(256))
    rm_name: Mapped[str | None] = mapped_column(String(256))
    gbw_number: Mapped[str | None] = mapped_column(String(32), index=True)
    category: Mapped[int | None] = mapped_column(Integer, index=True)  # GBW category 1-13
    matrix: Mapped[str | None] = mapped_column(String(256))
    analytes: Mapped[list[str]] = mapped_column(JSON, default=list)
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    intended_use: Mapped[str | None] = mapped_column(Text)
    applicant_institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institution.id"), index=True
    )
    applicant_province: Mapped[str | None] = mapped_column(String(16), index=True)
    # Names of the applicant's people, checked against experts' declared personal conflicts.
    applicant_people: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The applicant's contact persons (联系人): named people for recusal like the developers.
    contact_people: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Their e-mail addresses are personal data (PIPL): encrypted at rest (one per line), read
    # only by administrators; recusal needs only their domains, kept apart in clear
    # (`contact_domains`, set by `submissions.operations`), so the pool never decrypts them.
    contact_emails: Mapped[str | None] = mapped_column(
        Encrypted(), deferred=True, deferred_group="personal"
    )
    contact_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[dt.date | None] = mapped_column(Date)
    window_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=SubmissionStatus.REGISTERED, index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    applicant_institution: Mapped[Institution | None] = relationship(lazy="joined")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    @validates("applicant_province")
    def _canonical_province(self, _key: str, value: str | None) -> str | None:
        """Aliases ("北京", "Beijing") are stored as the canonical name; unknown refused."""
        return keep_or_normalise(value, self.applicant_province)

    @property
    def contact_email_list(self) -> list[str]:
        """The contacts' e-mail addresses (decrypts: administrators' pages only)."""
        return [e for e in (self.contact_emails or "").splitlines() if e.strip()]

    @property
    def named_people(self) -> list[str]:
        """Everyone the applicant names: developers, then contacts (recusal compares them)."""
        return [*(self.applicant_people or []), *(self.contact_people or [])]

    def __repr__(self) -> str:
        return f"<Submission {self.id} {self.title!r}>"
