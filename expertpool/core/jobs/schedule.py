"""Periodic jobs: routine work (reminders, clean-ups) on cron expressions, with no cron daemon.

A feature declares `register_schedule(app, name, cron, task)` in its `init_app`. Every worker
looks at the schedules between jobs (`enqueue_due`, at most every `CHECK_SECONDS`) and adds one
job for the latest occurrence that has no job yet. The occurrence's key ("name@time") is unique
in the job table, so workers on several hosts racing for it add it once. Only the latest
occurrence is added: a worker that was stopped for a week sends one round of reminders, not
seven, and a task that needs the day it stands for gets it as its `at` argument (ISO date).
Times are in BABEL_DEFAULT_TIMEZONE (Asia/Shanghai): "0 8 * * *" is eight in the morning there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import utcnow
from ..features import registry
from .models import Job
from .queue import enqueue

CHECK_SECONDS = 30.0  # how often a worker looks for due occurrences


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    task: str
    args: dict[str, Any] = field(default_factory=dict)


def register_schedule(
    app: Flask, name: str, cron: str | None, task: str, args: dict[str, Any] | None = None
) -> None:
    """Run `task` at every occurrence of `cron`; an empty `cron` (a setting left blank) is off."""
    if not cron:
        registry(app, "jobs.schedules").pop(name, None)
        return
    if not croniter.is_valid(cron):
        raise ValueError(f"schedule {name!r}: {cron!r} is not a cron expression")
    registry(app, "jobs.schedules")[name] = Schedule(name, cron, task, dict(args or {}))


def schedules(app: Flask) -> dict[str, Schedule]:
    return registry(app, "jobs.schedules")


def latest_occurrence(cron: str, now: dt.datetime) -> dt.datetime:
    """The last time at or before `now` (aware) that `cron` names."""
    return croniter(cron, now + dt.timedelta(microseconds=1)).get_prev(dt.datetime)


def _taken(session: Session, key: str) -> bool:
    return session.scalar(select(Job.id).where(Job.dedupe_key == key)) is not None


def enqueue_due(app: Flask, session: Session, now: dt.datetime | None = None) -> list[Job]:
    """Add a job for each schedule's latest occurrence that has none; the caller commits."""
    zone = ZoneInfo(app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    local = (now or utcnow()).replace(tzinfo=dt.UTC).astimezone(zone)
    added = []
    for schedule in schedules(app).values():
        at = latest_occurrence(schedule.cron, local)
        key = f"{schedule.name}@{at.isoformat(timespec='minutes')}"
        if _taken(session, key):
            continue
        try:
            with session.begin_nested():
                job = enqueue(
                    session,
                    schedule.task,
                    {**schedule.args, "at": at.date().isoformat()},
                    title=f"{schedule.name} {at:%Y-%m-%d %H:%M}",
                    dedupe_key=key,
                )
        except IntegrityError:  # another worker added it a moment ago
            continue
        added.append(job)
    return added
