"""The job table: every background job, its state, progress and last error.

The table is the source of truth on every backend: a job is added in the same transaction as
the change that needs it (so it exists if and only if that change was committed), workers claim
it with a lease, and the administrators' jobs page reads it. With Redis (JOBS_BACKEND=rq) the
queue only carries job ids to wake the workers; the state stays here.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...db import db, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(db.Model):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(64))  # a name registered with `register_task`
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The worker holding the job and until when; a lease that runs out (worker killed) is
    # taken back and the job runs again.
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[dt.datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    stage: Mapped[str | None] = mapped_column(String(200))
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_by_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # "<schedule>@<time>" for a scheduled run: unique, so workers racing to add it add it once
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_job_status_run_after", "status", "run_after"),
        Index("ix_job_dedupe_key", "dedupe_key", unique=True),
    )

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def as_dict(self) -> dict[str, Any]:
        """What a progress bar polls (no arguments: they may name people)."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
            "attempts": self.attempts,
            "error": self.error if self.status == JobStatus.FAILED else None,
            "result": self.result if self.status == JobStatus.DONE else None,
            "cancel_requested": self.cancel_requested,
        }

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.task} {self.status}>"
