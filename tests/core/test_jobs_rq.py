"""The same jobs on RQ + a real redis-server (JOBS_BACKEND=rq), as at scale.

`make test` installs Debian's redis-server; each test starts its own on a Unix socket.
"""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from redis import Redis
from rq import Queue

from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.core.jobs import JobContext, enqueue, register_task, rq_backend
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db, utcnow
from tests import redis_server

redis_url = redis_server.redis_url  # a fixture: a redis-server on a socket, per test


@pytest.fixture
def rq_app(app: Flask, redis_url: str) -> Flask:
    app.config.update(JOBS_EAGER=False, JOBS_BACKEND="rq", REDIS_URL=redis_url)
    app.config["JOBS_RETRY_BASE_SECONDS"] = 0
    return app


def _queued_messages(url: str) -> int:
    return Queue(rq_backend.QUEUE_NAME, connection=Redis.from_url(url)).count


def _rename(ctx: JobContext, user_id: int, name: str) -> None:
    ctx.session.get(User, user_id).name = name


def test_a_committed_job_reaches_redis_and_an_rq_worker_runs_it(rq_app, redis_url, make_user):
    register_task(rq_app, "test.rename", _rename)
    user = make_user(Role.TRAINEE)
    enqueue(db.session, "test.rename", {"user_id": user.id, "name": "甲"})
    db.session.rollback()
    assert _queued_messages(redis_url) == 0  # a rolled-back change sends nothing

    job = enqueue(db.session, "test.rename", {"user_id": user.id, "name": "乙"})
    db.session.commit()
    assert _queued_messages(redis_url) == 1

    rq_backend.run_rq_worker(rq_app, "test-worker", burst=True)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.DONE
    assert db.session.get(User, user.id).name == "乙"
    assert _queued_messages(redis_url) == 0


def test_a_duplicate_message_runs_the_job_once(rq_app, redis_url, make_user):
    runs: list[int] = []
    register_task(rq_app, "test.count", lambda ctx: runs.append(ctx.attempt))
    job = enqueue(db.session, "test.count")
    db.session.commit()
    rq_backend.push(rq_app, [job.id])  # e.g. the maintenance thread also found it
    assert _queued_messages(redis_url) == 2
    rq_backend.run_rq_worker(rq_app, "test-worker", burst=True)
    assert runs == [1]


def test_maintenance_hands_redis_the_retries_and_the_lost_jobs(rq_app, redis_url, make_user):
    """What Redis cannot know: a retry whose back-off passed, a job whose worker was killed."""
    register_task(rq_app, "test.rename", _rename)
    user = make_user(Role.TRAINEE)
    retry = Job(task="test.rename", args={"user_id": user.id, "name": "丙"}, attempts=1)
    lost = Job(
        task="test.rename",
        args={"user_id": user.id, "name": "丙"},
        status=JobStatus.RUNNING,
        attempts=1,
        worker="killed:1",
        lease_until=utcnow(),
    )
    db.session.add_all([retry, lost])
    db.session.commit()  # added directly: no message was ever pushed
    assert _queued_messages(redis_url) == 0

    rq_app.config["JOBS_POLL_SECONDS"] = 0.01
    stop = threading.Event()
    thread = threading.Thread(target=rq_backend.maintain, args=(rq_app, stop))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while _queued_messages(redis_url) < 2:
            assert time.monotonic() < deadline, "maintenance pushed nothing"
            threading.Event().wait(0.02)
    finally:
        stop.set()
        thread.join()
    rq_backend.run_rq_worker(rq_app, "test-worker", burst=True)
    db.session.expire_all()
    assert {db.session.get(Job, j.id).status for j in (retry, lost)} == {JobStatus.DONE}


def test_redis_down_loses_no_job(app, tmp_path, make_user):
    """Redis unreachable at commit time: the change and its job are kept; a worker finds it."""
    app.config.update(
        JOBS_EAGER=False, JOBS_BACKEND="rq", REDIS_URL=f"unix://{tmp_path / 'nothing.sock'}"
    )
    register_task(app, "test.rename", _rename)
    user = make_user(Role.TRAINEE)
    job = enqueue(db.session, "test.rename", {"user_id": user.id, "name": "丁"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.QUEUED
