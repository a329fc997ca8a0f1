"""Periodic jobs (reminders, clean-ups) and the maintenance jobs an administrator starts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core import maintenance
from expertpool.core.jobs import JobCancelled, drain, register_task
from expertpool.core.jobs import schedule as sched
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.core.jobs.queue import Worker
from expertpool.core.search.app import get_index
from expertpool.db import db, utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def deferred(app: Flask) -> Flask:
    app.config["JOBS_EAGER"] = False
    return app


def _jobs(**where: object) -> list[Job]:
    db.session.expire_all()
    stmt = select(Job).order_by(Job.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Job, column) == value)
    return list(db.session.scalars(stmt))


def test_the_latest_occurrence_is_at_or_before_now():
    at = dt.datetime(2026, 12, 5, 7, 59, tzinfo=SHANGHAI)
    assert sched.latest_occurrence("0 8 * * *", at) == dt.datetime(
        2026, 12, 4, 8, 0, tzinfo=SHANGHAI
    )
    at = dt.datetime(2026, 12, 5, 8, 0, tzinfo=SHANGHAI)
    assert sched.latest_occurrence("0 8 * * *", at) == at


@pytest.mark.parametrize(
    ("utc", "day"),
    [
        (dt.datetime(2026, 12, 5, 0, 30), "2026-12-05"),  # 08:30 in Shanghai
        (dt.datetime(2026, 12, 4, 23, 30), "2026-12-04"),  # 07:30 on the 5th in Shanghai
    ],
)
def test_reminders_stand_for_the_day_in_the_configured_time_zone(deferred, utc, day):
    added = sched.enqueue_due(deferred, db.session, now=utc)
    db.session.commit()
    reminders = [j for j in added if j.task == "reviews.send_reminders"]
    assert [j.args["at"] for j in reminders] == [day]


def test_each_occurrence_is_added_once(deferred):
    now = dt.datetime(2026, 12, 5, 1, 0)
    first = sched.enqueue_due(deferred, db.session, now=now)
    db.session.commit()
    assert {j.task for j in first} == {
        "reviews.send_reminders",
        "jobs.prune",
        "exports.cleanup",
        "accounts.prune_login_history",
        "audit.seal",
        "audit.verify",
        "courses.expiry_reminders",
    }
    # two hours on: only the hourly clean-up of expired exports and audit sealing have new ones
    again = sched.enqueue_due(deferred, db.session, now=now + dt.timedelta(hours=2))
    assert sorted(j.dedupe_key for j in again) == [
        "audit.seal@2026-12-05T10:17+08:00",
        "exports.cleanup@2026-12-05T10:10+08:00",
    ]
    # the next day's occurrences are new jobs
    later = sched.enqueue_due(deferred, db.session, now=now + dt.timedelta(days=1))
    assert sorted(j.dedupe_key for j in later) == [
        "accounts.prune_login_history@2026-12-06T03:40+08:00",
        "audit.seal@2026-12-06T08:17+08:00",
        "audit.verify@2026-12-06T02:40+08:00",
        "courses.expiry_reminders@2026-12-06T08:30+08:00",
        "exports.cleanup@2026-12-06T08:10+08:00",
        "jobs.prune@2026-12-06T03:30+08:00",
        "reviews.reminders@2026-12-06T08:00+08:00",
    ]


def test_a_worker_that_lost_the_race_adds_nothing(deferred, monkeypatch):
    """Two workers saw no job for the occurrence; the unique key lets only one add it."""
    now = dt.datetime(2026, 12, 5, 1, 0)
    sched.enqueue_due(deferred, db.session, now=now)
    db.session.commit()
    monkeypatch.setattr(sched, "_taken", lambda session, key: False)  # its look came too early
    assert sched.enqueue_due(deferred, db.session, now=now) == []
    db.session.commit()
    assert len(_jobs(task="reviews.send_reminders")) == 1


def test_a_worker_adds_and_runs_the_due_reminders_once(deferred):
    Worker(deferred, "w1", schedules=True).run(burst=True)
    Worker(deferred, "w2", schedules=True).run(burst=True)
    reminders = _jobs(task="reviews.send_reminders")
    assert len(reminders) == 1
    assert reminders[0].status == JobStatus.DONE and reminders[0].result == {"sent": 0}


def test_drain_and_the_eager_mode_add_no_scheduled_jobs(deferred):
    drain(deferred)
    assert _jobs() == []


def test_a_schedule_is_off_when_its_setting_is_empty_and_refuses_nonsense(app):
    sched.register_schedule(app, "reviews.reminders", "", "reviews.send_reminders")
    assert "reviews.reminders" not in sched.schedules(app)
    with pytest.raises(ValueError, match="not a cron expression"):
        sched.register_schedule(app, "x", "every morning", "jobs.prune")


def test_prune_forgets_old_finished_jobs_only(deferred):
    old = utcnow() - dt.timedelta(days=31)
    db.session.add_all(
        [
            Job(task="jobs.prune", title="old-done", status=JobStatus.DONE, finished_at=old),
            Job(task="jobs.prune", title="old-failed", status=JobStatus.FAILED, finished_at=old),
            Job(task="jobs.prune", title="recent", status=JobStatus.DONE, finished_at=utcnow()),
            Job(task="jobs.prune", title="waiting", status=JobStatus.QUEUED, run_after=old),
        ]
    )
    db.session.commit()
    job = Job(task="jobs.prune", title="the prune")
    db.session.add(job)
    db.session.commit()
    Worker(deferred, "w").run_job(job.id)
    left = {j.title for j in _jobs()}
    assert left == {"recent", "waiting", "the prune"}


def test_the_system_administrator_rebuilds_the_search_indexes_from_the_jobs_page(
    deferred, client, auth, sysadmin, make_expert
):
    make_expert(name="甲专家")
    drain(deferred)
    get_index("experts").rebuild([], total=0)  # lost: empty
    assert get_index("experts").doc_count() == 0
    auth.login("sysadmin")
    page = client.post("/admin/jobs/start/search.reindex", follow_redirects=True)
    assert "search.reindex" in page.get_data(as_text=True)  # listed, queued
    assert client.post("/admin/jobs/start/jobs.prune").status_code == 404  # not offered
    assert drain(deferred) == 1
    job = _jobs(task="search.reindex")[0]
    assert job.status == JobStatus.DONE and job.result["experts"] == 1
    assert get_index("experts").doc_count() == 1


def test_reindex_reports_each_index_and_stops_when_cancelled(deferred, make_expert):
    make_expert()
    drain(deferred)
    seen = []

    class Ctx:
        job_id = 0

        def progress(self, done, total=None, stage=None):
            seen.append((stage, done, total))

        def check_cancelled(self):
            if len(seen) >= 1:  # the administrator pressed "cancel" during the first index
                raise JobCancelled()

    get_index("materials").rebuild([], total=0)
    with pytest.raises(JobCancelled):
        maintenance.reindex(Ctx(), ["experts", "materials"])
    assert seen == [("experts", 0, 2)]
    assert get_index("experts").doc_count() == 1  # finished
    assert get_index("materials").doc_count() == 0  # never begun


def test_the_cli_hands_a_rebuild_to_the_workers(deferred, runner):
    result = runner.invoke(args=["search", "reindex", "--background"])
    assert result.exit_code == 0 and "queued" in result.output
    result = runner.invoke(args=["embeddings", "rebuild", "--background"])
    assert result.exit_code == 0
    assert [j.task for j in _jobs()] == ["search.reindex", "embeddings.rebuild"]
    assert all(j.status == JobStatus.QUEUED for j in _jobs())
    drain(deferred)
    assert {j.status for j in _jobs()} == {JobStatus.DONE}


def test_a_task_registered_later_is_not_confused_with_a_schedule(deferred):
    register_task(deferred, "test.noop", lambda ctx: None)
    assert "test.noop" not in {s.task for s in sched.schedules(deferred).values()}
