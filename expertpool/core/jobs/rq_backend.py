"""JOBS_BACKEND=rq: Redis wakes RQ workers as soon as a job is committed.

The job table stays the source of truth (state, progress, retries, the jobs page); Redis only
carries job ids. The RQ worker runs `run(job_id)` in its own process (RQ's SimpleWorker: no fork
per job, so the embedding model it loaded once stays loaded), which claims the row like any
worker, so a duplicate or stale message is harmless: a job that is done, running elsewhere or not yet due
is not claimed. A maintenance thread in each RQ worker process hands Redis what it cannot know
of by itself: retries whose back-off has passed and jobs whose worker was killed (lease expired).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import db, utcnow
from .models import Job, JobStatus
from .queue import Worker

log = logging.getLogger(__name__)
QUEUE_NAME = "expertpool"
_app: Flask | None = None  # the app of this RQ worker process


def connection(app: Flask) -> Redis:
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("JOBS_BACKEND=rq needs REDIS_URL, e.g. redis://127.0.0.1:6379/0")
    return Redis.from_url(url)


def push(app: Flask, job_ids: Iterable[int]) -> None:
    """Tell the RQ workers about committed jobs (a lost message is found by the maintenance)."""
    try:
        queue = Queue(QUEUE_NAME, connection=connection(app))
        for job_id in job_ids:
            queue.enqueue(run, job_id, result_ttl=0, failure_ttl=3600)
    except Exception:  # the jobs are committed; the workers' maintenance loop will find them
        log.exception("jobs %s not pushed to Redis; a worker will find them", list(job_ids))


def run(job_id: int) -> bool:
    """In the RQ worker: claim and run the job if it is still due."""
    if _app is None:
        raise RuntimeError("run() must be called from `flask jobs worker`")
    return Worker(_app, name=f"rq:{job_id}").run_job(job_id)


def maintain(app: Flask, stop: threading.Event) -> None:
    """Every poll interval: take back lost jobs and push the due ones to Redis."""
    worker = Worker(app, name="rq-maintenance", schedules=True)
    pushed: dict[int, int] = {}  # job id -> attempts when last pushed (push each attempt once)
    while not stop.wait(worker.poll * 4):
        try:
            with app.app_context(), Session(db.engine) as session:
                worker.check_schedules(session)
                worker.reclaim_expired(session)
                session.commit()
                due = session.execute(
                    select(Job.id, Job.attempts).where(
                        Job.status == JobStatus.QUEUED, Job.run_after <= utcnow()
                    )
                ).all()
            fresh = [job_id for job_id, attempts in due if pushed.get(job_id) != attempts]
            if fresh:
                push(app, fresh)
                pushed.update({job_id: attempts for job_id, attempts in due})
        except Exception:
            log.exception("job maintenance failed")


class _RQWorker(SimpleWorker):
    """RQ's in-process worker without its command channel: stopping and cancelling a job go
    through the job table (`queue.request_cancel`), and RQ's channel thread delays every exit
    by up to a minute (it blocks in a 60 s read)."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def run_rq_worker(app: Flask, name: str | None = None, *, burst: bool = False) -> None:
    """`flask jobs worker` with JOBS_BACKEND=rq: RQ's loop plus the maintenance thread."""
    global _app
    _app = app
    stop = threading.Event()
    thread = threading.Thread(target=maintain, args=(app, stop), daemon=True)
    thread.start()
    try:
        queue = Queue(QUEUE_NAME, connection=connection(app))
        _RQWorker([queue], connection=queue.connection, name=name).work(burst=burst)
    finally:
        stop.set()
