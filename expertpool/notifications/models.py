"""A message in a user's in-app inbox (also e-mailed when SMTP is configured)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import db, utcnow


class Notification(db.Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An expert may have no account yet: then the message waits under the expert (their inbox
    # shows it once the account is linked) and still goes out by e-mail.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("expert.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(512))
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id", ondelete="SET NULL"), index=True
    )
    # Reminders carry "<kind>:<assignment>:<day>", so a second run on one day adds nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    email_to: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[dt.datetime | None]
    emailed_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"
