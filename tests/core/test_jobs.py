"""Background jobs: added with the change, run once, retried, survive a killed worker, visible."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.core.jobs import JobContext, drain, enqueue, register_task
from expertpool.core.jobs import queue as jobqueue
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db, utcnow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def deferred(app: Flask) -> Flask:
    """Jobs wait for a worker, as in production (the suite's default runs them eagerly)."""
    app.config["JOBS_EAGER"] = False
    app.config["JOBS_RETRY_BASE_SECONDS"] = 0
    return app


@pytest.fixture
def rename_task(deferred: Flask) -> list[int]:
    """`test.rename`: set a user's name; records the attempt number of every run."""
    runs: list[int] = []

    def rename(ctx: JobContext, user_id: int, name: str) -> dict[str, str]:
        runs.append(ctx.attempt)
        ctx.session.get(User, user_id).name = name
        return {"name": name}

    register_task(deferred, "test.rename", rename, max_attempts=3)
    return runs


def _job(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails after `timeout` (a deadline, not a sleep)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        threading.Event().wait(0.02)
    return time.monotonic() - start


# -- adding and running --------------------------------------------------------------------------


def test_a_rolled_back_change_leaves_no_job(rename_task, make_user):
    user = make_user(Role.TRAINEE)
    enqueue(db.session, "test.rename", {"user_id": user.id, "name": "甲"})
    db.session.rollback()
    assert db.session.scalars(select(Job)).all() == []


def test_a_committed_job_waits_for_a_worker_then_runs_once(deferred, rename_task, make_user):
    user = make_user(Role.TRAINEE)
    job = enqueue(db.session, "test.rename", {"user_id": user.id, "name": "乙"}, actor=user)
    db.session.commit()
    assert _job(job.id).status == JobStatus.QUEUED and rename_task == []

    assert drain(deferred) == 1
    done = _job(job.id)
    assert (done.status, done.attempts, done.result) == (JobStatus.DONE, 1, {"name": "乙"})
    assert db.session.get(User, user.id).name == "乙"
    # a duplicate message (RQ, eager mode) for a finished job runs nothing
    assert jobqueue.Worker(deferred).run_job(job.id) is False
    assert drain(deferred) == 0 and rename_task == [1]


def test_a_job_is_claimed_by_one_worker_only(deferred, rename_task, make_user):
    user = make_user(Role.TRAINEE)
    job = enqueue(db.session, "test.rename", {"user_id": user.id, "name": "丙"})
    db.session.commit()
    first, second = jobqueue.Worker(deferred, "a"), jobqueue.Worker(deferred, "b")
    assert first.claim(db.session) == job.id
    db.session.commit()
    assert second.claim(db.session) is None
    assert _job(job.id).worker == "a"


def test_eager_mode_runs_the_job_right_after_the_commit(app, make_user):
    runs: list[int] = []
    register_task(app, "test.note", lambda ctx, n: runs.append(n))
    job = enqueue(db.session, "test.note", {"n": 7})
    assert runs == []  # not before the commit
    db.session.commit()
    assert runs == [7] and _job(job.id).status == JobStatus.DONE


# -- failures ------------------------------------------------------------------------------------


def test_a_failing_job_is_retried_with_back_off_then_fails_with_its_error(deferred, make_user):
    deferred.config.update(JOBS_RETRY_BASE_SECONDS=30, JOBS_RETRY_MAX_SECONDS=45)
    user = make_user(Role.TRAINEE)

    def broken(ctx: JobContext, user_id: int) -> None:
        ctx.session.get(User, user_id).name = "half-done"
        raise ValueError(f"attempt {ctx.attempt} broke")

    register_task(deferred, "test.broken", broken, max_attempts=3)
    job = enqueue(db.session, "test.broken", {"user_id": user.id})
    db.session.commit()
    delays = []
    for attempt in (1, 2, 3):
        before = utcnow()
        assert drain(deferred) == 1
        row = _job(job.id)
        assert row.attempts == attempt and f"attempt {attempt} broke" in row.error
        if attempt < 3:
            assert row.status == JobStatus.QUEUED
            delays.append((row.run_after - before).total_seconds())
            assert drain(deferred) == 0  # not due before its back-off has passed
            row.run_after = utcnow()  # let time pass
            db.session.commit()
    assert _job(job.id).status == JobStatus.FAILED
    assert 29 <= delays[0] <= 31 and 44 <= delays[1] <= 46  # 30 s, then 60 s capped at 45 s
    assert db.session.get(User, user.id).name != "half-done"  # each failed attempt rolled back


def test_backoff_doubles_up_to_its_cap():
    assert [jobqueue.backoff_seconds(a, 2, 20) for a in (1, 2, 3, 4, 5)] == [2, 4, 8, 16, 20]


def test_the_system_administrator_retries_a_failed_job(deferred, client, auth, sysadmin):
    job = enqueue(db.session, "matching.index_experts", {"expert_ids": []})
    job.status, job.attempts, job.error = JobStatus.FAILED, 5, "boom"
    db.session.commit()
    auth.login("sysadmin")
    page = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert "boom" in page and f"/admin/jobs/{job.id}/retry" in page
    client.post(f"/admin/jobs/{job.id}/retry")
    row = _job(job.id)
    assert (row.status, row.attempts, row.error) == (JobStatus.QUEUED, 0, None)
    assert drain(deferred) == 1 and _job(job.id).status == JobStatus.DONE


def test_an_unknown_task_fails_rather_than_looping(deferred):
    job = Job(task="gone.task", args={}, max_attempts=1)
    db.session.add(job)
    db.session.commit()
    drain(deferred)
    row = _job(job.id)
    assert row.status == JobStatus.FAILED and "gone.task" in row.error


# -- cancellation --------------------------------------------------------------------------------


def test_a_queued_job_is_cancelled_at_once(deferred, rename_task, make_user):
    user = make_user(Role.TRAINEE)
    job = enqueue(db.session, "test.rename", {"user_id": user.id, "name": "丁"})
    db.session.commit()
    jobqueue.request_cancel(db.session, job)
    db.session.commit()
    assert drain(deferred) == 0 and _job(job.id).status == JobStatus.CANCELLED


def test_a_running_job_stops_at_its_next_check_and_keeps_nothing(deferred, make_user):
    user = make_user(Role.TRAINEE)

    def long(ctx: JobContext, user_id: int) -> None:
        ctx.session.get(User, user_id).name = "partial"  # not yet written
        with db.engine.begin() as conn:  # the administrator presses "cancel" meanwhile
            conn.execute(Job.__table__.update().values(cancel_requested=True))
        ctx.check_cancelled()
        ctx.session.get(User, user_id).name = "finished"

    register_task(deferred, "test.long", long)
    job = enqueue(db.session, "test.long", {"user_id": user.id})
    db.session.commit()
    drain(deferred)
    assert _job(job.id).status == JobStatus.CANCELLED
    assert db.session.get(User, user.id).name not in ("partial", "finished")


# -- a killed worker -----------------------------------------------------------------------------


def test_a_job_survives_a_killed_worker_and_runs_again(deferred, tmp_path, make_user):
    """kill -9 of the worker mid-job: its lease runs out and another worker runs the job."""
    deferred.config["JOBS_LEASE_SECONDS"] = 1
    user = make_user(Role.TRAINEE)
    done: list[int] = []

    def finish(ctx: JobContext, user_id: int) -> None:  # the same task, in a healthy worker
        ctx.session.get(User, user_id).name = "完成"
        done.append(ctx.attempt)

    register_task(deferred, "test.hold", finish)
    job = enqueue(db.session, "test.hold", {"user_id": user.id})
    db.session.commit()

    config = {
        "DATABASE_URL": deferred.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test-secret",
        "EMBEDDING_MODEL": "hashing",
        "JOBS_LEASE_SECONDS": 1,
        "JOBS_POLL_SECONDS": 0.05,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.job_worker", json.dumps(config), str(tmp_path / "w")],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    try:
        _wait_for(lambda: _job(job.id).stage == "holding", 60, "the worker took the job")
        assert _job(job.id).status == JobStatus.RUNNING and _job(job.id).worker == "doomed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    assert drain(deferred) == 0  # its lease has not run out yet: nobody else may take it
    _wait_for(lambda: _job(job.id).lease_until < utcnow(), 10, "the lease ran out")
    assert drain(deferred) == 1
    row = _job(job.id)
    assert (row.status, row.attempts, done) == (JobStatus.DONE, 2, [2])
    assert db.session.get(User, user.id).name == "完成"


def test_a_lost_job_that_used_its_attempts_fails_with_the_reason(deferred, make_user):
    job = enqueue(db.session, "matching.index_experts", {"expert_ids": []})
    job.status, job.attempts, job.max_attempts = JobStatus.RUNNING, 5, 5
    job.worker, job.lease_until = "gone:1", utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    drain(deferred)
    row = _job(job.id)
    assert row.status == JobStatus.FAILED and "gone:1 stopped" in row.error


# -- progress and the pages ----------------------------------------------------------------------


def test_progress_is_readable_while_the_job_still_runs(deferred, make_user):
    seen: list[dict[str, Any]] = []

    def counting(ctx: JobContext) -> None:
        for n in range(1, 4):
            ctx.progress(n, 3, stage=f"step {n}")
            with db.engine.connect() as conn:  # what another request sees meanwhile
                seen.append(dict(conn.execute(select(Job.done, Job.stage)).mappings().one()))

    register_task(deferred, "test.counting", counting)
    job = enqueue(db.session, "test.counting")
    db.session.commit()
    drain(deferred)
    assert seen == [{"done": n, "stage": f"step {n}"} for n in (1, 2, 3)]
    assert _job(job.id).percent == 100


def test_progress_json_is_for_the_person_who_started_the_job_and_administrators(
    deferred, client, auth, admin, sysadmin, auditor, make_user
):
    owner, other = make_user(Role.TRAINEE), make_user(Role.TRAINEE)
    job = enqueue(db.session, "matching.index_experts", {"expert_ids": []}, actor=owner)
    db.session.commit()
    cases = ((owner, 200), (other, 404), (admin, 200), (sysadmin, 200), (auditor, 404))
    for user, status in cases:
        auth.login(user.username)
        response = client.get(f"/jobs/{job.id}.json")
        assert response.status_code == status, user.username
        if status == 200:
            assert response.get_json()["status"] == "queued"
            assert "args" not in response.get_json()  # arguments may name people
        auth.logout()


def test_the_jobs_page_shows_each_state_with_counts(deferred, client, auth, sysadmin):
    for status in ("queued", "running", "failed"):
        db.session.add(Job(task="matching.index_experts", title=f"job-{status}", status=status))
    db.session.commit()
    auth.login("sysadmin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert all(f"job-{s}" in page for s in ("queued", "running", "failed"))
    only_failed = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert "job-failed" in only_failed and "job-queued" not in only_failed


def test_the_cancel_button_refuses_another_persons_job(deferred, client, auth, make_user):
    owner, other = make_user(Role.TRAINEE), make_user(Role.TRAINEE)
    job = enqueue(db.session, "matching.index_experts", {"expert_ids": []}, actor=owner)
    db.session.commit()
    auth.login(other.username)
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 404
    auth.logout()
    auth.login(owner.username)
    client.post(f"/jobs/{job.id}/cancel", data={"next": "//evil.example/"})
    assert _job(job.id).status == JobStatus.CANCELLED


# -- derived work: eventual visibility -----------------------------------------------------------


@pytest.fixture
def running_worker(deferred: Flask) -> Iterator[jobqueue.Worker]:
    deferred.config["JOBS_POLL_SECONDS"] = 0.5  # the default
    worker = jobqueue.Worker(deferred, name="background")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, kwargs={"stop": stop})
    thread.start()
    yield worker
    stop.set()
    thread.join()


def test_an_expert_file_change_is_searchable_within_the_visibility_bound(
    deferred, admin, make_expert, running_worker
):
    from expertpool.experts import operations as experts
    from expertpool.matching.sync import expert_keyword_index

    expert = make_expert()
    _wait_for(lambda: drain(deferred) == 0 and not _open_jobs(), 30, "the new expert indexed")
    experts.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "蜂蜜中氯霉素残留测定", "language": "zh"},
    )
    db.session.commit()  # the request ends here: nothing indexed yet by the request itself

    def found() -> bool:
        return [h.doc_id for h in expert_keyword_index().search("氯霉素").hits] == [str(expert.id)]

    took = _wait_for(found, 30, "the publication found by search")
    assert took <= jobqueue.VISIBILITY_SECONDS, f"visible after {took:.2f} s"


def _open_jobs() -> list[Job]:
    db.session.expire_all()
    return list(db.session.scalars(select(Job).where(Job.status.in_(("queued", "running")))))


def test_the_request_that_changes_a_file_does_not_index_it(deferred, admin, make_expert):
    from expertpool.experts import operations as experts
    from expertpool.matching.sync import INDEX_TASK, expert_keyword_index

    expert = make_expert()
    drain(deferred)
    experts.add_part(
        db.session, admin, expert, "publication", {"title": "土壤中镉的测定", "language": "zh"}
    )
    db.session.commit()
    assert expert_keyword_index().search("镉").hits == []  # only the job does it
    pending = _open_jobs()
    assert [(j.task, j.args) for j in pending] == [(INDEX_TASK, {"expert_ids": [expert.id]})]
    drain(deferred)
    assert [h.doc_id for h in expert_keyword_index().search("镉").hits] == [str(expert.id)]


def test_the_jobs_page_names_each_job_in_the_readers_language(deferred, client, auth, sysadmin):
    enqueue(db.session, "matching.index_experts", {"expert_ids": [3, 8]}, title="#3, #8")
    db.session.commit()
    auth.login("sysadmin")
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "更新专家检索索引" in page and "#3, #8" in page and "排队中" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "Update the experts&#39; search index" in page and "Queued" in page


def test_a_job_title_names_its_rows_in_no_language():
    from expertpool.core.jobs import ids_title

    assert ids_title([3, 8]) == "#3, #8"
    assert ids_title(list(range(1, 9)), shown=3) == "#1, #2, #3 (+5)"


def test_a_worker_yields_the_cpu_to_the_web_workers(app: Flask, monkeypatch: Any) -> None:
    """`flask jobs worker` lowers its priority by JOBS_NICE before it runs anything (in a child
    process here: the test's own priority stays as it is)."""
    from expertpool.core.jobs import cli

    asked: list[int] = []
    monkeypatch.setattr(cli, "lower_priority", lambda n: asked.append(n))
    app.config["JOBS_NICE"] = 7
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert asked == [7]
    code = (
        "import os; from expertpool.core.jobs.cli import lower_priority as lower; "
        "before = os.nice(0); after = lower(5); none = lower(0); "
        "print(before, after, none, os.nice(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    ).stdout.split()
    before = int(out[0])
    assert out[1:] == [str(min(before + 5, 19)), "None", str(min(before + 5, 19))]
