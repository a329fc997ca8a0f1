"""Large exports are written by background jobs and downloaded by the person who asked.

The expert list export and the training transcripts (the learner's own and the administrator's
copy) share `core.exports`. The threshold is set low here; jobs wait for `drain`.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from courses import operations as courses_ops
from expertpool.core.access import Role
from expertpool.core.jobs import drain, enqueue
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _english(english_ui: None) -> None:
    """These tests assert interface text in English."""


def export_jobs() -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.task.in_(EXPORT_TASKS))))


EXPORT_TASKS = ("experts.export", "courses.transcript_export")


@pytest.fixture
def deferred(app: Flask) -> Flask:
    """Jobs wait for a worker (`drain`); an export of more than 2 rows is written by one."""
    app.config.update(JOBS_EAGER=False, JOBS_RETRY_BASE_SECONDS=0, EXPORT_JOB_THRESHOLD=2)
    return app


def login(client: Any, user: Any) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def exported_files(app: Flask) -> list[Path]:
    folder = Path(app.config["EXPORT_FOLDER"])
    return sorted(folder.iterdir()) if folder.is_dir() else []


def download(client: Any, job: Job) -> Any:
    """The export's download, its file read and closed (a sent file stays open until then)."""
    response = client.get(f"/exports/{job.id}/download")
    response.get_data()
    response.close()
    return response


def the_job(response: Any) -> Job:
    found = re.fullmatch(r".*/exports/(\d+)", response.headers.get("Location", ""))
    assert response.status_code == 302 and found, (response.status_code, response.headers)
    db.session.expire_all()
    return db.session.get(Job, int(found.group(1)))


def test_a_large_expert_export_is_written_by_a_job_for_its_starter(
    deferred: Flask, client: Any, admin: Any, make_expert: Any, make_user: Any
) -> None:
    for n in range(3):
        make_expert(name=f"导出专家{n}", status="active")
    make_expert(name="暂停专家", status="suspended")  # filtered out below
    login(client, admin)
    offer = client.get("/experts/export.xlsx?status=active")
    assert offer.status_code == 200 and "Prepare the file" in offer.get_data(as_text=True)
    assert export_jobs() == []  # offering writes nothing

    job = the_job(client.post("/experts/export.xlsx?status=active"))
    assert (job.task, job.status, job.created_by_id) == (
        "experts.export",
        JobStatus.QUEUED,
        admin.id,
    )
    assert exported_files(deferred) == []  # the request wrote no file
    page = client.get(f"/exports/{job.id}").get_data(as_text=True)
    assert 'class="job-progress"' in page and download(client, job).status_code == 404

    assert drain(deferred) >= 1
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert (done.status, done.done, done.total) == (JobStatus.DONE, 3, 3)  # rows counted
    assert len(exported_files(deferred)) == 1
    assert f"/exports/{job.id}/download" in client.get(f"/exports/{job.id}").get_data(as_text=True)
    file = download(client, job)
    assert file.status_code == 200 and "attachment" in file.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(file.data)).active.iter_rows(values_only=True))
    assert sorted(r[0] for r in rows[1:]) == ["导出专家0", "导出专家1", "导出专家2"]

    other = make_user(Role.EXPERT, Role.TRAINEE, username="someone-else")
    login(client, other)
    assert client.get(f"/exports/{job.id}").status_code == 404
    assert download(client, job).status_code == 404


def test_a_small_expert_export_is_still_downloaded_at_once(
    deferred: Flask, client: Any, admin: Any, make_expert: Any
) -> None:
    make_expert(status="active")
    login(client, admin)
    response = client.get("/experts/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert export_jobs() == []


def _learner_with_courses(make_user: Any, admin: Any, n: int) -> Any:
    learner = make_user(Role.TRAINEE, username="learner", name="李小梅")
    for i in range(n):
        course = courses_ops.create_course(
            db.session,
            admin,
            {
                "slug": f"export-{i}",
                "title": f"成绩单课程{i}",
                "summary": "",
                "language": "zh",
                "topic": "homogeneity_stability",
                "audience": ["technician"],
                "level": "intermediate",
                "hours": 2,
                "instructor": "王建平",
                "tags": [],
            },
        )
        chapter = courses_ops.add_chapter(db.session, course, "第一章")
        courses_ops.save_lesson(
            db.session, chapter, None, title="1.1", kind="text", minutes=30, markdown="# 课时"
        )
        courses_ops.set_status(db.session, admin, course, True)
        courses_ops.enrol(db.session, learner, course)
    db.session.commit()
    return learner


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_a_long_transcript_is_written_by_a_job_for_the_learner_and_admins(
    deferred: Flask, client: Any, admin: Any, make_user: Any, fmt: str
) -> None:
    learner = _learner_with_courses(make_user, admin, 3)
    login(client, learner)
    assert "Prepare the file" in client.get(f"/me/transcript.{fmt}").get_data(as_text=True)
    job = the_job(client.post(f"/me/transcript.{fmt}"))
    assert job.task == "courses.transcript_export" and exported_files(deferred) == []
    drain(deferred)
    db.session.expire_all()
    assert (db.session.get(Job, job.id).done, db.session.get(Job, job.id).total) == (3, 3)
    mine = download(client, job)
    assert mine.status_code == 200
    assert mine.headers["Content-Disposition"].startswith(
        "attachment; filename=transcript-learner-"
    )
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(mine.data)).worksheets[0]
        assert {"成绩单课程0", "成绩单课程1", "成绩单课程2"} <= {
            r[0] for r in sheet.iter_rows(values_only=True)
        }
    else:
        assert mine.data.startswith(b"%PDF")

    login(client, make_user(Role.TRAINEE, username="classmate"))
    assert client.get(f"/exports/{job.id}").status_code == 404
    assert download(client, job).status_code == 404
    login(client, admin)
    assert download(client, job).status_code == 200


def test_the_administrators_copy_of_a_transcript_is_a_job_too(
    deferred: Flask, client: Any, admin: Any, make_user: Any
) -> None:
    learner = _learner_with_courses(make_user, admin, 3)
    login(client, admin)
    job = the_job(client.post(f"/admin/training/learners/{learner.id}/transcript.xlsx"))
    drain(deferred)
    db.session.expire_all()  # the test's session still holds the queued job
    assert download(client, job).status_code == 200
    login(client, learner)  # not the one who started it
    assert download(client, job).status_code == 404


def test_an_expired_export_is_refused_and_cleaned_up(
    deferred: Flask, client: Any, admin: Any, make_expert: Any
) -> None:
    for _n in range(3):
        make_expert()
    login(client, admin)
    job = the_job(client.post("/experts/export.csv"))
    drain(deferred)
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    done.result = {**done.result, "expires_at": "2000-01-01T00:00:00"}
    db.session.commit()
    assert download(client, job).status_code == 404
    assert "expired" in client.get(f"/exports/{job.id}").get_data(as_text=True)

    [path] = exported_files(deferred)
    old = time.time() - 25 * 3600
    os.utime(path, (old, old))
    cleanup = enqueue(db.session, "exports.cleanup")
    db.session.commit()
    drain(deferred)
    db.session.expire_all()
    assert db.session.get(Job, cleanup.id).result == {"deleted": 1}
    assert exported_files(deferred) == []


def test_export_pages_are_only_for_export_jobs(deferred: Flask, client: Any, admin: Any) -> None:
    other = enqueue(db.session, "matching.index_experts", {"expert_ids": []}, actor=admin)
    db.session.commit()
    login(client, admin)
    assert client.get(f"/exports/{other.id}").status_code == 404
    assert download(client, other).status_code == 404
