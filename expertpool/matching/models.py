"""A review round: many submissions assigned at once, proposed, then confirmed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.jobs.models import Job, JobStatus
from ..db import db, utcnow


class ReviewRound(db.Model):
    __tablename__ = "review_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    # solving (its job computes the proposal) -> proposed -> confirmed | cancelled;
    # solving -> failed (the proposal was refused, `error` says why)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per submission: members and alternates with affinities; plus the round's figures.
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    # The background job computing (or that last computed) the proposal; the round page shows
    # its progress. `error`: why the last attempt gave no proposal, in plain words.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    job: Mapped[Job | None] = relationship()
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def state(self) -> str:
        """The status as people see it: a solve whose job failed or was cancelled says so
        ("failed", "stopped"); otherwise the status."""
        if self.status != "solving":
            return self.status
        job = self.job
        if job is None or job.status == JobStatus.CANCELLED:
            return "stopped"
        if job.status == JobStatus.FAILED:
            return "failed"
        return "solving"


class PoolState(db.Model):
    """Version of one part of the matching pool's snapshot (`snapshot.py`), one row per part.

    Every commit that changes a part bumps `version` and writes a fresh random `stamp`; a process
    keeps its snapshot while the stamps it read still match (one small SELECT per ranking). A
    stamp, unlike a counter, never repeats: a rolled-back bump or a restored older database can
    never look like a state the process has cached.
    """

    __tablename__ = "pool_state"

    part: Mapped[str] = mapped_column(String(16), primary_key=True)  # snapshot.PARTS
    version: Mapped[int] = mapped_column(Integer, default=0)
    stamp: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
