"""Course folders uploaded as a ZIP file from the web are imported by a background job."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from courses.models import Course
from courses.operations import import_job
from expertpool.core.jobs import JobContext, drain
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db
from tests.conftest import running_app
from tests.courses.test_import import write_course


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A file database: the job's progress is written through a connection of its own."""
    with running_app(tmp_path, JOBS_EAGER=False, JOBS_RETRY_BASE_SECONDS=0) as app:
        yield app


def zipped(folder: Path, *, under: str = "") -> bytes:
    """`folder`'s files in a ZIP archive, each name prefixed with `under`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, under + path.relative_to(folder).as_posix())
    return out.getvalue()


def upload(client: Any, data: bytes, **options: Any) -> Any:
    return client.post(
        "/admin/courses/import",
        data={"file": (io.BytesIO(data), "courses.zip"), **options},
        content_type="multipart/form-data",
    )


def started(response: Any) -> Job:
    found = re.fullmatch(
        r".*/admin/courses/import/jobs/(\d+)", response.headers.get("Location", "")
    )
    assert response.status_code == 302 and found, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    return db.session.get(Job, int(found.group(1)))


def course_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Course)) or 0


@pytest.fixture
def signed_in(client: Any, login: Any, admin: Any) -> Any:
    login(admin)
    return client


def test_an_uploaded_zip_is_imported_by_a_job_with_progress(
    app: Flask, signed_in: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[tuple[int, int | None, str | None]] = []
    real = JobContext.progress

    def progress(self: JobContext, done: int, total: int | None = None, stage: Any = None) -> None:
        reports.append((done, total, stage))
        real(self, done, total, stage)

    monkeypatch.setattr(JobContext, "progress", progress)
    write_course(tmp_path / "src", "rm-basics")
    write_course(tmp_path / "src", "rm-advanced", title="进阶", prerequisites=["rm-basics"])
    page = signed_in.get("/admin/courses/")
    assert "/admin/courses/import" in page.get_data(as_text=True)  # linked from the list

    job = started(upload(signed_in, zipped(tmp_path / "src", under="all-courses/")))
    assert job.status == JobStatus.QUEUED and course_count() == 0  # the request wrote nothing
    page = signed_in.get(f"/admin/courses/import/jobs/{job.id}").get_data(as_text=True)
    assert 'class="job-progress"' in page

    drain(app)
    assert course_count() == 2
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert done.status == JobStatus.DONE
    assert done.result == {"created": ["rm-advanced", "rm-basics"], "updated": []}
    assert (2, 2, "Checking courses") in reports  # each course counted as it is checked
    page = signed_in.get(f"/admin/courses/import/jobs/{job.id}").get_data(as_text=True)
    assert "Imported 2 new and updated 0 course(s)." in page
    advanced = db.session.scalar(select(Course).where(Course.slug == "rm-advanced"))
    assert [c.slug for c in advanced.prerequisites] == ["rm-basics"] and advanced.is_published
    index_jobs = db.session.scalars(select(Job).where(Job.task == "courses.index_materials"))
    assert [len(j.args["course_ids"]) for j in index_jobs] == [2]  # one index job for both


def test_a_folder_with_problems_imports_nothing_and_lists_them(
    app: Flask, signed_in: Any, tmp_path: Path
) -> None:
    write_course(tmp_path / "src", "good-one")
    write_course(tmp_path / "src", "broken", prerequisites=["no-such-course"])
    job = started(upload(signed_in, zipped(tmp_path / "src")))
    drain(app)
    db.session.expire_all()
    failed = db.session.get(Job, job.id)
    assert failed.status == JobStatus.FAILED and failed.attempts == 1  # not retried
    assert course_count() == 0  # not even the good one
    page = signed_in.get(f"/admin/courses/import/jobs/{job.id}").get_data(as_text=True)
    assert "1 problem(s) found; nothing was imported." in page
    assert "broken/course.toml" in page and "unknown course &#39;no-such-course&#39;" in page


def test_running_the_job_twice_imports_the_courses_once(
    app: Flask, signed_in: Any, tmp_path: Path
) -> None:
    write_course(tmp_path / "src", "once-only")
    job = started(upload(signed_in, zipped(tmp_path / "src")))
    drain(app)
    db.session.expire_all()
    again = db.session.get(Job, job.id)
    again.status = JobStatus.QUEUED  # as if its worker died after the commit
    db.session.commit()
    drain(app)
    db.session.expire_all()
    assert course_count() == 1
    assert db.session.get(Job, job.id).result == {"created": ["once-only"], "updated": []}


def test_not_a_zip_is_refused_by_the_page(app: Flask, signed_in: Any) -> None:
    response = upload(signed_in, b"PK not really")
    assert response.status_code == 200 and "This is not a ZIP file" in response.get_data(
        as_text=True
    )
    assert db.session.scalars(select(Job).where(Job.task == import_job.IMPORT_TASK)).all() == []


def _zip_of(members: dict[str, bytes], link: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return out.getvalue()


@pytest.mark.parametrize(
    ("members", "link", "fragment"),
    [
        ({"../escape.txt": b"x"}, None, "would unpack outside its folder"),
        ({"/abs/path.txt": b"x"}, None, "would unpack outside its folder"),
        ({"c/course.toml": b""}, "c/evil", "links are not accepted"),
    ],
)
def test_unsafe_archives_are_refused_before_anything_is_written(
    tmp_path: Path, app: Flask, members: dict[str, bytes], link: str | None, fragment: str
) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_of(members, link))
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(import_job.UnsafeZip, match=fragment):
        import_job.unpack_zip(archive, into)
    assert not (tmp_path / "escape.txt").exists()


def test_an_archive_that_unpacks_too_large_is_refused(
    tmp_path: Path, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_job, "MAX_UNPACKED_BYTES", 1000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("c/big.md", b"0" * 100_000)  # a few hundred bytes packed
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(import_job.UnsafeZip, match="unpacks to more than"):
        import_job.unpack_zip(archive, into)
    assert list(into.rglob("*.md")) == []


def test_chinese_member_names_from_windows_are_read() -> None:
    """Windows' own zip tool stores GBK names without the UTF-8 flag; Python reads them as
    cp437. Names flagged UTF-8 are taken as they are."""
    gbk = zipfile.ZipInfo("课程/讲义.md".encode("gbk").decode("cp437"))
    assert import_job._member_name(gbk) == "课程/讲义.md"
    utf8 = zipfile.ZipInfo("课程/讲义.md")
    utf8.flag_bits |= 0x800
    assert import_job._member_name(utf8) == "课程/讲义.md"


def test_the_cli_imports_inline_and_leaves_embedding_to_one_index_job(
    app: Flask, runner: Any, tmp_path: Path
) -> None:
    from expertpool.core.embeddings.store import Embedding

    write_course(tmp_path / "src", "cli-one")
    write_course(tmp_path / "src", "cli-two")
    result = runner.invoke(args=["courses", "import", str(tmp_path / "src")])
    assert result.exit_code == 0, result.output
    assert course_count() == 2
    assert db.session.scalar(select(func.count()).select_from(Embedding)) == 0
    queued = db.session.scalars(select(Job).where(Job.status == JobStatus.QUEUED)).all()
    assert [(j.task, len(j.args["course_ids"])) for j in queued] == [("courses.index_materials", 2)]


def test_the_job_prepares_the_courses_holding_no_lock(
    app: Flask, signed_in: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: while the job renders and stores each course ("Saving courses", counted) it
    holds no write lock: another connection's write with a 0 s busy timeout commits at once."""
    import sqlite3

    probed: list[int] = []
    real = JobContext.progress

    def progress(self: JobContext, done: int, total: int | None = None, stage: Any = None) -> None:
        if str(stage) == "Saving courses" and done:
            other = sqlite3.connect(str(db.engine.url.database), timeout=0)
            other.execute("UPDATE user SET last_login_at = '2026-01-01T00:00:00'")
            other.commit()
            other.close()
            probed.append(done)
        real(self, done, total, stage)

    monkeypatch.setattr(JobContext, "progress", progress)
    write_course(tmp_path / "src", "rm-basics")
    write_course(tmp_path / "src", "rm-advanced", title="进阶", prerequisites=["rm-basics"])
    job = started(upload(signed_in, zipped(tmp_path / "src")))
    drain(app)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == JobStatus.DONE
    assert probed and probed[-1] == 2 and course_count() == 2  # (reports are throttled)
