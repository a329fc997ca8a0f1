"""Large imports commit as background jobs: the request only hands the staged file over.

The bulk imports (experts, submissions, publications) share `core.importing.ImportPages`, so each test runs
for both. The threshold is set low here; jobs wait for `drain` as they would for a worker.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from expertpool.core import staging
from expertpool.core.audit import AuditLog
from expertpool.core.jobs import JobContext, drain
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db
from expertpool.experts import importer as experts_importer
from expertpool.experts import publication_importer
from expertpool.experts.models import Expert, Publication
from expertpool.submissions import importer as submissions_importer
from expertpool.submissions.models import Submission
from tests.experts import test_import as experts_file
from tests.experts import test_publication_import as publications_file
from tests.submissions import test_submission_import as submissions_file


@dataclass(frozen=True)
class Kind:
    name: str  # the noun of the messages ("5 experts imported.")
    path: str  # the URL prefix of its pages: /<path>/import...
    task: str  # the background job's task
    model: type
    importer: Any  # the module with parse, validate, commit
    file: Callable[[int], bytes]  # an XLSX file of n valid rows
    clash: Callable[[Any], None]  # adds a row that makes the file's row 3 a duplicate
    clash_column: str  # the column the duplicate is reported in
    prefix: str  # of its staged files
    command: tuple[str, ...]  # `flask ...` that imports a file
    listing: str  # where a small file's import leads
    indexed: bool  # whether its rows change experts' files (one index job after the file)
    derived: str  # the one job queued after the file for its derived work (index, embedding)
    setup: Callable[[Any], None] = lambda _makers: None  # what its files need to exist


def _experts_file(n: int) -> bytes:
    return experts_file.xlsx_bytes([experts_file.good_row(i) for i in range(1, n + 1)])


def _submissions_file(n: int) -> bytes:
    rows = [submissions_file.good_row(i) for i in range(1, n + 1)]
    return submissions_file.xlsx_bytes(rows, submissions_file.HEADERS)


def _expert_clash(make: Any) -> None:
    make["expert"](email="imported2@example.cn")


def _submission_clash(make: Any) -> None:
    make["submission"](reference="SAMR-2025-0002")


def _publications_setup(make: Any) -> None:
    make["expert"](name="欧阳建国", email="ouyang@nim.ac.cn")


def _publication_clash(make: Any) -> None:
    from expertpool.experts import operations as ops

    expert = db.session.scalar(select(Expert).where(Expert.email == "ouyang@nim.ac.cn"))
    row = publications_file.paper(2)
    values = {"title": row["题名"], "year": int(row["年份"]), "language": "zh", "authors": ""}
    ops.add_part(db.session, None, expert, "publication", values)
    db.session.commit()


KINDS = {
    "experts": Kind(
        "experts",
        "experts",
        "experts.import_commit",
        Expert,
        experts_importer,
        _experts_file,
        _expert_clash,
        "电子邮箱",
        "",
        ("experts", "import"),
        "/experts/",
        True,
        "matching.index_experts",
    ),
    "submissions": Kind(
        "submissions",
        "submissions",
        "submissions.import_commit",
        Submission,
        submissions_importer,
        _submissions_file,
        _submission_clash,
        "受理编号",
        "sub-",
        ("submissions", "import"),
        "/submissions/",
        False,
        "matching.embed_submissions",  # the submissions' query vectors (issue 11)
    ),
    "publications": Kind(
        "publications",
        "experts/publications",
        "experts.import_publications",
        Publication,
        publication_importer,
        publications_file.papers,
        _publication_clash,
        "题名",
        "pub-",
        ("experts", "import-publications"),
        "/experts/",
        True,
        "matching.index_experts",
        _publications_setup,
    ),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest, makers: dict[str, Any]) -> Kind:
    found = KINDS[request.param]
    found.setup(makers)
    return found


@pytest.fixture
def deferred(app: Flask) -> Flask:
    """Jobs wait for a worker (`drain`), and every file above 2 rows is imported by one."""
    app.config.update(JOBS_EAGER=False, JOBS_RETRY_BASE_SECONDS=0, IMPORT_JOB_THRESHOLD=2)
    return app


@pytest.fixture
def makers(make_expert: Any, admin: Any) -> dict[str, Any]:
    from tests.conftest import submission_maker

    return {"expert": make_expert, "submission": submission_maker(admin)}


@pytest.fixture
def admin_client(client: Any, auth: Any, admin: Any) -> Any:
    auth.login()
    client.post("/language", data={"locale": "en"})
    return client


def count(kind: Kind) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(kind.model)) or 0


def preview(client: Any, kind: Kind, data: bytes) -> str:
    """Upload the file for its dry run; the token of the staged file."""
    page = client.post(
        f"/{kind.path}/import",
        data={"file": (io.BytesIO(data), "f.xlsx"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    found = re.search(r'name="token" type="hidden" value="(\w+)"', page)
    assert found, re.findall(r"alert-[a-z]+[^>]*>([^<]*)", page)
    return found.group(1)


def start(client: Any, kind: Kind, token: str) -> Job:
    """Confirm the import; it answers with the job's page, the job still queued."""
    response = client.post(f"/{kind.path}/import/commit", data={"token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.fullmatch(rf".*/{kind.path}/import/jobs/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    db.session.expire_all()
    return db.session.get(Job, int(found.group(1)))


def test_a_large_file_is_imported_by_a_job_not_by_the_request(
    deferred: Flask, admin_client: Any, admin: Any, kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports: list[tuple[int, int | None, str | None]] = []
    real_progress = JobContext.progress

    def progress(self: JobContext, done: int, total: int | None = None, stage: Any = None) -> None:
        reports.append((done, total, stage))
        real_progress(self, done, total, stage)

    monkeypatch.setattr(JobContext, "progress", progress)
    token = preview(admin_client, kind, kind.file(5))
    job = start(admin_client, kind, token)
    assert (job.status, job.task, job.title) == (
        JobStatus.QUEUED,
        kind.task,
        "XLSX · 5",  # in no language: the page names the task in the reader's
    )
    assert count(kind) == 0  # the request wrote nothing but the job
    page = admin_client.get(f"/{kind.path}/import/jobs/{job.id}").get_data(as_text=True)
    assert 'class="job-progress"' in page and f"/jobs/{job.id}.json" in page
    assert f"Import {kind.name}" in page

    assert drain(deferred) >= 1
    assert count(kind) == 5
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert (done.status, done.result, done.done, done.total) == (
        JobStatus.DONE,
        {"imported": 5},
        5,
        5,
    )
    assert (5, 5, "Checking rows") in reports  # the rows are counted as they are checked
    page = admin_client.get(f"/{kind.path}/import/jobs/{job.id}").get_data(as_text=True)
    assert f"5 {kind.name} imported." in page and 'class="job-progress"' not in page
    logged = select(AuditLog.actor_id).where(AuditLog.entity_type == kind.model.__name__)
    assert set(db.session.scalars(logged)) == {admin.id}  # the rows are the starter's
    if kind.indexed:  # derived work: one index job for the whole file, after it
        index_jobs = db.session.scalars(
            select(Job).where(Job.task == "matching.index_experts", Job.id > job.id)
        )
        assert [sorted(j.args["expert_ids"]) for j in index_jobs] == [
            sorted(db.session.scalars(select(Expert.id)))
        ]
    assert staging.staged(kind.prefix, token, (".xlsx",)) is None  # the staged file is gone


def test_a_small_file_is_still_imported_by_the_request(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    token = preview(admin_client, kind, kind.file(2))
    response = admin_client.post(f"/{kind.path}/import/commit", data={"token": token})
    assert response.headers["Location"].endswith(kind.listing)
    assert count(kind) == 2
    assert (
        db.session.scalar(select(func.count()).select_from(Job).where(Job.task.like("%import%")))
        == 0
    )


def test_threshold_zero_hands_every_file_to_a_job(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    deferred.config["IMPORT_JOB_THRESHOLD"] = 0
    job = start(admin_client, kind, preview(admin_client, kind, kind.file(1)))
    assert job.status == JobStatus.QUEUED and count(kind) == 0
    drain(deferred)
    assert count(kind) == 1


def test_a_file_that_fails_at_commit_time_imports_nothing_and_shows_the_rows(
    deferred: Flask, admin_client: Any, kind: Kind, makers: dict[str, Any]
) -> None:
    job = start(admin_client, kind, preview(admin_client, kind, kind.file(4)))
    kind.clash(makers)  # registered between the preview and the job
    before = count(kind)
    drain(deferred)
    db.session.expire_all()
    failed = db.session.get(Job, job.id)
    assert failed.status == JobStatus.FAILED and failed.attempts == 1  # not retried
    assert count(kind) == before  # none of the file's rows
    page = admin_client.get(f"/{kind.path}/import/jobs/{job.id}").get_data(as_text=True)
    assert "The file no longer passes validation; nothing was imported." in page
    assert f"<td>3</td><td>{kind.clash_column}</td>" in page


def test_running_the_job_twice_imports_the_file_once(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    job = start(admin_client, kind, preview(admin_client, kind, kind.file(3)))
    drain(deferred)
    assert count(kind) == 3
    # As if its worker had been killed after the commit and the job were taken back.
    db.session.expire_all()
    again = db.session.get(Job, job.id)
    again.status = JobStatus.QUEUED
    db.session.commit()
    assert drain(deferred) >= 1
    assert count(kind) == 3
    db.session.expire_all()
    assert db.session.get(Job, job.id).result == {"imported": 3}


def test_a_second_click_follows_the_same_job(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    token = preview(admin_client, kind, kind.file(3))
    first = start(admin_client, kind, token)
    second = start(admin_client, kind, token)
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).where(Job.task == kind.task)) == 1
    drain(deferred)
    assert count(kind) == 3


def test_two_jobs_of_one_staged_file_import_it_once(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    """The consumed mark, not the job's state, is what keeps a file from being imported twice."""
    from expertpool.core.jobs import enqueue

    job = start(admin_client, kind, preview(admin_client, kind, kind.file(3)))
    twin = enqueue(db.session, job.task, dict(job.args))
    db.session.commit()
    drain(deferred)
    assert count(kind) == 3
    db.session.expire_all()
    assert db.session.get(Job, twin.id).status == JobStatus.DONE


def test_the_job_page_is_only_for_import_jobs(
    deferred: Flask, admin_client: Any, kind: Kind
) -> None:
    from expertpool.core.jobs import enqueue

    other = enqueue(db.session, "matching.index_experts", {"expert_ids": []})
    db.session.commit()
    assert admin_client.get(f"/{kind.path}/import/jobs/{other.id}").status_code == 404
    assert admin_client.get(f"/{kind.path}/import/jobs/99999").status_code == 404


def test_rows_are_built_without_holding_the_write_lock(app: Flask, admin: Any, kind: Kind) -> None:
    """While the rows are built another connection writes at once (no wait allowed), and the
    import still commits: the transaction takes SQLite's write lock only for its one flush."""
    from sqlalchemy import text, update

    from expertpool.accounts.models import User

    importer = kind.importer
    report = importer.validate(db.session, importer.parse("f.xlsx", kind.file(4)))
    assert report.ok, report.errors
    writes: list[int] = []

    def someone_else_writes(_row: int) -> None:
        with db.engine.begin() as conn:
            conn.execute(text("PRAGMA busy_timeout=0"))  # fails at once if the lock were held
            conn.execute(update(User).where(User.id == admin.id).values(name=f"写入{_row}"))
            conn.execute(text("PRAGMA busy_timeout=10000"))
        writes.append(_row)

    created = importer.commit(db.session, admin, report, progress=someone_else_writes)
    db.session.commit()
    assert writes == [2, 3, 4, 5] and len(created) == 4 and count(kind) == 4


def test_the_cli_imports_inline_and_leaves_embedding_to_one_index_job(
    deferred: Flask, runner: Any, admin: Any, kind: Kind, tmp_path: Any
) -> None:
    """`flask <feature> import` writes the rows itself, whatever the threshold; the embeddings
    are not computed in its transaction but by one index job for the whole file."""
    from expertpool.core.embeddings.store import Embedding

    path = tmp_path / "f.xlsx"
    path.write_bytes(kind.file(5))
    before = db.session.scalar(select(func.max(Job.id))) or 0
    embedded = db.session.scalar(select(func.count()).select_from(Embedding))
    result = runner.invoke(args=[*kind.command, str(path), "--as-user", "admin"])
    assert result.exit_code == 0, result.output
    assert count(kind) == 5
    assert db.session.scalar(select(func.count()).select_from(Embedding)) == embedded
    queued = db.session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED, Job.id > before)
    ).all()
    assert [j.task for j in queued] == [kind.derived]
