"""A file attached to a submission; the text of a PDF is kept for matching."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import db, utcnow

if TYPE_CHECKING:
    from .submissions import Submission


class Attachment(db.Model):
    __tablename__ = "submission_attachment"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(256))  # as uploaded, shown to people
    # Relative to UPLOAD_FOLDER; a random name, so nothing the uploader chose reaches the disk.
    stored_path: Mapped[str] = mapped_column(String(256), unique=True)
    content_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer, default=0)
    text_chars: Mapped[int] = mapped_column(Integer, default=0)  # length of the extracted text
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="attachments")
    text_row: Mapped[AttachmentText | None] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def text(self) -> str:
        """The extracted text ('' when the file has none)."""
        return self.text_row.text if self.text_row else ""

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.filename!r}>"


class AttachmentText(db.Model):
    """Extracted text, apart from the audited row so the audit log does not copy whole files."""

    __tablename__ = "submission_attachment_text"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("submission_attachment.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
