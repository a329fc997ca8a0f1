"""Background jobs: enqueue in the change's transaction, claim with a lease, run, retry, report.

- `enqueue(session, task, args)` adds a `Job` row in the caller's transaction, so the job exists
  exactly when the change that needs it is committed (a rolled-back change leaves no job).
- A worker (`flask jobs worker`, `Worker`) claims the oldest due job with a lease, runs the task
  registered under its name with a `JobContext` (its own session, progress, cancellation), and
  commits the task's work together with the job's "done". A task that raises is retried with
  exponential back-off until `max_attempts`, then marked failed with the error. A worker killed
  mid-job (kill -9) stops renewing its lease; the next worker takes the job back and runs it
  again, which is why every task must be idempotent (re-running it gives the same state).
  A task that raises `JobFailed` (a refusal no retry can change, e.g. a file with errors) fails
  at once, with its message and details kept on the job.
- Backends (JOBS_BACKEND): `database` (default) — workers poll the job table, no other server;
  `rq` — the same rows, and Redis carries the job ids to RQ workers, so a job starts as soon as
  it is committed. `JOBS_EAGER` (tests, one-off scripts) runs each job in-process right after
  the commit that added it, through the same code path as a worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...db import SQLITE_BUSY_TIMEOUT_MS, db, utcnow
from .. import audit
from ..features import listen, registry
from .models import OPEN, Job, JobStatus

log = logging.getLogger(__name__)

_ENQUEUED = "jobs_enqueued"  # session.info: ids of the jobs this transaction added
Task = Callable[..., Any]  # task(ctx: JobContext, **args) -> JSON-able result or None
# The promise for derived work (index updates after a change): on an idle system with a worker
# running (poll 0.5 s), search and matching see a committed change within this many seconds.
# tests/core/test_jobs.py holds the code to it; the README states it.
VISIBILITY_SECONDS = 2.0
_PROGRESS_WAIT_MS = 200


class JobCancelled(Exception):
    """Raised inside a task (by `JobContext.check_cancelled`) when an administrator cancelled."""


class JobFailed(Exception):
    """Raised by a task when no retry could help (a file with errors): the job fails at once,
    its work rolled back, with this message as its error and `details` (JSON) as its result."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: Task
    max_attempts: int = 5
    label: Any = None  # what the jobs page calls it (a lazy translation); the name otherwise


# -- declaring and adding jobs -------------------------------------------------------------------


def register_task(
    app: Flask, name: str, fn: Task, *, max_attempts: int = 5, label: Any = None
) -> None:
    """A feature's `init_app` declares each kind of job it runs (the name is stored in the row;
    `label`, a lazy translation, is what people see: it follows the reader's language)."""
    registry(app, "jobs.tasks")[name] = TaskSpec(name, fn, max_attempts, label)


def tasks(app: Flask | None = None) -> dict[str, TaskSpec]:
    return registry(app or current_app, "jobs.tasks")


def enqueue(
    session: Session,
    task: str,
    args: dict[str, Any] | None = None,
    *,
    title: str = "",
    actor: Any | None = None,
    delay: float = 0.0,
    dedupe_key: str | None = None,
) -> Job:
    """Add a job to the caller's transaction; it runs once that transaction commits."""
    spec = tasks().get(task)
    if spec is None:
        raise KeyError(f"no task registered as {task!r}")
    job = Job(
        task=task,
        args=args or {},
        title=title or task,
        max_attempts=spec.max_attempts,
        run_after=utcnow() + dt.timedelta(seconds=delay),
        created_by_id=getattr(actor, "id", None),
        created_by_name=getattr(actor, "username", None),
        dedupe_key=dedupe_key,
    )
    session.add(job)
    session.flush()
    session.info.setdefault(_ENQUEUED, []).append(job.id)
    return job


def ids_title(ids: list[int], shown: int = 5) -> str:
    """A job title naming the rows it works on, in no language: "#3, #8, #9 (+12)"."""
    head = ", ".join(f"#{i}" for i in ids[:shown])
    return f"{head} (+{len(ids) - shown})" if len(ids) > shown else head


def request_cancel(session: Session, job: Job) -> None:
    """A queued job is cancelled at once; a running one stops at its next check."""
    if job.status == JobStatus.QUEUED:
        job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
    elif job.status == JobStatus.RUNNING:
        job.cancel_requested = True


def retry(session: Session, job: Job) -> None:
    """Run a failed or cancelled job again, with a fresh count of attempts."""
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return
    job.status, job.attempts, job.error = JobStatus.QUEUED, 0, None
    job.cancel_requested, job.run_after = False, utcnow()
    job.done, job.stage, job.finished_at = 0, None, None
    session.flush()
    session.info.setdefault(_ENQUEUED, []).append(job.id)


# -- after the commit ----------------------------------------------------------------------------


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_ENQUEUED, None)
    if not ids or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("JOBS_EAGER"):
        worker = Worker(app, name="eager")
        for job_id in ids:
            worker.run_job(job_id)
    elif app.config.get("JOBS_BACKEND") == "rq":
        from .rq_backend import push

        push(app, ids)


def _after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


def connect_listeners() -> None:
    listen("after_commit", _after_commit)
    listen("after_rollback", _after_rollback)


# -- the task's view of its job ------------------------------------------------------------------


class JobContext:
    """What a running task gets: its own session, its arguments, progress and cancellation.

    Progress is written through a separate connection, so the page polling it sees it while
    the task's own work is still uncommitted; it also renews the lease.
    """

    def __init__(self, job: Job, session: Session, worker: Worker) -> None:
        self.job_id = job.id
        self.args = dict(job.args or {})
        self.attempt = job.attempts
        self.session = session
        self._worker = worker

    def progress(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        values: dict[str, Any] = {"done": done, "lease_until": self._worker.lease_end()}
        if total is not None:
            values["total"] = total
        if stage is not None:
            values["stage"] = stage[:200]
        self._worker.write(self.job_id, values)

    def check_cancelled(self) -> None:
        with db.engine.connect() as conn:
            wanted = conn.scalar(select(Job.cancel_requested).where(Job.id == self.job_id))
        if wanted:
            raise JobCancelled()


# -- workers -------------------------------------------------------------------------------------


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay before attempt `attempt + 1`: base, 2·base, 4·base, ... at most `cap`."""
    return min(cap, base * 2 ** max(0, attempt - 1))


class Worker:
    """Claims and runs jobs, one at a time; run several worker processes for more."""

    def __init__(self, app: Flask, name: str | None = None, *, schedules: bool = False) -> None:
        """`schedules`: also add the periodic jobs that fell due (`flask jobs worker` does)."""
        self.app = app
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = float(app.config.get("JOBS_LEASE_SECONDS", 60))
        self.poll = float(app.config.get("JOBS_POLL_SECONDS", 0.5))
        self.base = float(app.config.get("JOBS_RETRY_BASE_SECONDS", 2))
        self.cap = float(app.config.get("JOBS_RETRY_MAX_SECONDS", 300))
        self.schedules = schedules
        self._next_schedule_check = 0.0

    def lease_end(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.lease)

    def write(self, job_id: int, values: dict[str, Any]) -> None:
        """Best effort (progress, heartbeats): a busy database only delays the bar.

        On SQLite a task that has written holds the database's one write lock until it commits;
        this write then gives up after a short wait instead of stalling the task (the next
        progress call or heartbeat tries again). A held lock also keeps every other worker
        from taking the job back, so a missed heartbeat cannot start a second run.
        """
        try:
            with db.engine.begin() as conn:
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={_PROGRESS_WAIT_MS}")
                try:
                    conn.execute(update(Job).where(Job.id == job_id).values(**values))
                finally:
                    if sqlite:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        except Exception:
            log.info("job %s: progress not written (database busy)", job_id)

    # claiming

    def reclaim_expired(self, session: Session) -> int:
        """Jobs whose worker stopped renewing its lease (killed) go back to the queue."""
        now = utcnow()
        lost = session.scalars(
            select(Job).where(Job.status == JobStatus.RUNNING, Job.lease_until < now)
        ).all()
        for job in lost:
            log.warning("job %s: worker %s lost it; queued again", job.id, job.worker)
            self._requeue_or_fail(job, f"worker {job.worker} stopped (lease expired)")
        return len(lost)

    def claim(self, session: Session, job_id: int | None = None) -> int | None:
        """Take the oldest due job (or `job_id`) atomically; its id, or None."""
        now = utcnow()
        pick = select(Job.id).where(Job.status == JobStatus.QUEUED, Job.run_after <= now)
        if job_id is not None:
            pick = pick.where(Job.id == job_id)
        pick = pick.order_by(Job.run_after, Job.id).limit(1).with_for_update(skip_locked=True)
        candidate = session.scalar(pick)
        if candidate is None:
            return None
        taken = session.execute(
            update(Job)
            .where(Job.id == candidate, Job.status == JobStatus.QUEUED)
            .values(
                status=JobStatus.RUNNING,
                worker=self.name,
                lease_until=self.lease_end(),
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        return candidate if taken else None

    # running

    def check_schedules(self, session: Session) -> None:
        """Add the periodic jobs that fell due (at most every CHECK_SECONDS)."""
        from .schedule import CHECK_SECONDS, enqueue_due

        if not self.schedules or time.monotonic() < self._next_schedule_check:
            return
        self._next_schedule_check = time.monotonic() + CHECK_SECONDS
        try:
            enqueue_due(self.app, session)
            session.commit()
        except Exception:  # a busy database: the next check adds them
            session.rollback()
            log.warning("scheduled jobs not checked", exc_info=True)

    def run_once(self) -> bool:
        """Claim and run one due job; False when there was none."""
        with self.app.app_context():
            with Session(db.engine) as session:
                self.check_schedules(session)
                self.reclaim_expired(session)
                job_id = self.claim(session)
                session.commit()
            if job_id is None:
                return False
            self._run(job_id)
            return True

    def run_job(self, job_id: int) -> bool:
        """Claim and run this job if it is due (RQ and eager mode name the job they carry)."""
        with self.app.app_context():
            with Session(db.engine) as session:
                job_id_taken = self.claim(session, job_id)
                session.commit()
            if job_id_taken is None:
                return False  # done, running elsewhere, cancelled or not due: nothing to do
            self._run(job_id)
            return True

    def run(self, *, burst: bool = False, stop: threading.Event | None = None) -> int:
        """Work until stopped (or, with `burst`, until no job is due); returns jobs run."""
        stop = stop or threading.Event()
        count = 0
        while not stop.is_set():
            if self.run_once():
                count += 1
            elif burst:
                break
            else:
                stop.wait(self.poll)
        return count

    def _run(self, job_id: int) -> None:
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job_id, beating), daemon=True)
        heart.start()
        try:
            self._execute(job_id)
        finally:
            beating.set()
            heart.join()

    def _heartbeat(self, job_id: int, stop: threading.Event) -> None:
        with self.app.app_context():
            while not stop.wait(self.lease / 3):
                self.write(job_id, {"lease_until": self.lease_end()})

    def _execute(self, job_id: int) -> None:
        with Session(db.engine) as session:
            job = session.get(Job, job_id)
            spec = tasks(self.app).get(job.task)
            # the job's changes are logged under the person who started it
            actor = (
                SimpleNamespace(id=job.created_by_id, username=job.created_by_name)
                if job.created_by_id
                else None
            )
            audit.set_actor(session, actor, note=f"job {job.id}: {job.title}"[:200])
            try:
                if spec is None:
                    raise LookupError(f"no task registered as {job.task!r}")
                result = spec.fn(JobContext(job, session, self), **job.args)
            except JobCancelled:
                session.rollback()
                self._finish(session, job_id, JobStatus.CANCELLED, stage="cancelled")
            except JobFailed as exc:
                session.rollback()
                log.info("job %s (%s) refused: %s", job_id, job.task, exc)
                job = session.get(Job, job_id)
                job.error, job.result = str(exc), exc.details
                self._finish(session, job_id, JobStatus.FAILED, stage=job.stage or "failed")
            except Exception as exc:
                session.rollback()
                log.exception("job %s (%s) failed", job_id, job.task if job else "?")
                job = session.get(Job, job_id)
                self._requeue_or_fail(job, _error_text(exc))
                session.commit()
            else:
                # re-read: progress was written through another connection meanwhile
                job = session.get(Job, job_id, populate_existing=True)
                job.status, job.finished_at = JobStatus.DONE, utcnow()
                job.result = result if isinstance(result, dict) else None
                job.lease_until, job.worker = None, None
                if job.total:
                    job.done = job.total
                session.commit()

    def _requeue_or_fail(self, job: Job, error: str) -> None:
        job.error, job.worker, job.lease_until = error, None, None
        if job.attempts >= job.max_attempts:
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
        else:
            job.status = JobStatus.QUEUED
            job.run_after = utcnow() + dt.timedelta(
                seconds=backoff_seconds(job.attempts, self.base, self.cap)
            )

    def _finish(self, session: Session, job_id: int, status: JobStatus, stage: str) -> None:
        job = session.get(Job, job_id)
        job.status, job.stage, job.finished_at = status, stage, utcnow()
        job.lease_until, job.worker = None, None
        session.commit()


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    return "".join(lines)[-4000:]


def readiness() -> str:
    """/readyz: the job table answers (and Redis, with the rq backend); the queue's state.

    A queue whose oldest due job waits long means no worker is running: shown, not failed,
    because the web side still serves.
    """
    now = utcnow()
    counts = dict(
        db.session.execute(
            select(Job.status, func.count()).where(Job.status.in_(OPEN)).group_by(Job.status)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED, Job.run_after <= now)
    )
    detail = f"{counts.get(JobStatus.QUEUED, 0)} queued, {counts.get(JobStatus.RUNNING, 0)} running"
    if oldest is not None:
        detail += f", oldest due {int((now - oldest).total_seconds())} s ago"
    if current_app.config.get("JOBS_BACKEND") == "rq":
        from .rq_backend import connection

        connection(current_app).ping()
        detail += ", redis ok"
    return detail


def drain(app: Flask, *, limit: int = 1000) -> int:
    """Run every due job now, in this thread (CLI `flask jobs run`, tests)."""
    worker = Worker(app, name="drain")
    ran = 0
    while ran < limit and worker.run_once():
        ran += 1
    return ran
