"""Two app hosts on one database: a change made through host A is found on host B.

Each host is an app with its own instance folder (its own Whoosh indexes, its own vector
matrices in memory) on one database: a SQLite file (runs everywhere), and PostgreSQL + Redis as
at scale (jobs on RQ, sign-in rate limits in Redis; skipped without a server, see tests/pg.py).
Host A's requests change an expert's file and a course; host A's worker runs the index jobs;
host B's searches and candidate ranking see the change, and the deletion, with no job run on B.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses import operations as courses
from expertpool import create_app
from expertpool.accounts import operations as accounts
from expertpool.core.access import Role
from expertpool.core.embeddings.store import get_store
from expertpool.core.jobs import drain, rq_backend
from expertpool.core.search.app import get_index
from expertpool.core.search.changes import SearchIndexChange, record_changes
from expertpool.db import db
from expertpool.experts import operations as experts
from expertpool.experts.models import Publication
from expertpool.matching.service import rank
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import EXPERT_INDEX
from expertpool.reviews.eligibility import rules_from_config
from expertpool.submissions.operations import create_submission
from tests import pg, redis_server
from tests.conftest import PASSWORD, SAFE_PRODUCTION

pg_server = pg.pg_server  # fixtures
redis_url = redis_server.redis_url

TERM = {"term_start": dt.date(2024, 1, 1), "term_end": dt.date(2030, 12, 31)}
PUBLICATION = "蜂蜜中氯霉素残留的液相色谱质谱测定"
LESSON_TITLE = "1.3 铀同位素丰度测量"
LESSON_TEXT = "## 质谱法\n\n用热电离质谱测定铀同位素丰度，并评定其不确定度。\n"


@dataclass
class Hosts:
    a: Flask
    b: Flask
    run_worker_of_a: Callable[[], Any]


def _config(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "the-same-key-on-every-host",
        "PII_KEYS": SAFE_PRODUCTION["PII_KEYS"],  # and the same personal-data keys
        "PII_INDEX_KEY": SAFE_PRODUCTION["PII_INDEX_KEY"],
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "EMBEDDING_MODEL": "hashing",
        "JOBS_EAGER": False,  # jobs wait for a worker, as in production
        "SEARCH_SYNC_SECONDS": 0,  # host B checks the log at every search (default 0.5 s)
        "SERVER_NAME": "localhost",
        **extra,
    }


def _two_hosts(tmp_path: Path, database_url: str, **extra: Any) -> tuple[Flask, Flask]:
    return tuple(  # type: ignore[return-value]
        create_app(_config(database_url, **extra), instance_path=str(tmp_path / name))
        for name in ("host-a", "host-b")
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hosts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hosts]:
    if request.param == "sqlite":
        a, b = _two_hosts(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")
        yield from _with_schema(Hosts(a, b, lambda: drain(a)))
        return
    server: pg.PgServer = request.getfixturevalue("pg_server")
    redis = request.getfixturevalue("redis_url")
    name = pg.database_name("expertpool_two_hosts")
    url = server.create_database(name)
    a, b = _two_hosts(
        tmp_path,
        url,
        JOBS_BACKEND="rq",
        REDIS_URL=redis,
        RATELIMIT_STORAGE_URI=_limits_uri(redis),
        JOBS_RETRY_BASE_SECONDS=0,
    )
    try:
        yield from _with_schema(
            Hosts(a, b, lambda: rq_backend.run_rq_worker(a, "host-a-worker", burst=True))
        )
    finally:
        server.drop_database(name)


def _with_schema(hosts: Hosts) -> Iterator[Hosts]:
    with hosts.a.app_context():
        db.create_all()
    try:
        yield hosts
    finally:
        for app in (hosts.a, hosts.b):
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _limits_uri(redis: str) -> str:
    """flask-limiter's spelling of a Redis socket: redis+unix:///path/to/redis.sock."""
    return "redis+unix://" + redis.removeprefix("unix://")


@dataclass
class World:
    expert_id: int
    submission_id: int
    course_id: int
    chapter_id: int
    lesson_id: int


def _world(app: Flask) -> World:
    """Made on host A: an administrator, an expert with an account, a submission, a course."""
    with app.app_context():
        s = db.session
        admin = accounts.create_user(
            s, username="admin", name="管理员", email="a@example.cn", password=PASSWORD,
            roles=[Role.ADMIN],
        )  # fmt: skip
        user = accounts.create_user(
            s, username="wang", name="王芳", email="w@example.cn", password=PASSWORD,
            roles=[Role.EXPERT],
        )  # fmt: skip
        common = {"id_number": None, "province": "北京市", **TERM}
        expert = experts.create_expert(
            s,
            admin,
            {
                "name": "王芳",
                "email": "w@example.cn",
                "institution": "中国计量科学研究院",
                "categories": [10],
                "summary": "热电离质谱测量",
                "user_id": user.id,
                **common,
            },
            status="active",
        )
        experts.create_expert(
            s,
            admin,
            {
                "name": "李强",
                "email": "l@example.cn",
                "institution": "中国地质调查局",
                "categories": [8],
                "summary": "土壤中铅镉成分分析",
                **common,
            },
            status="active",
        )
        submission = create_submission(
            s,
            admin,
            {
                "kind": "rm_certification",
                "review_type": "new",
                "grade": "first",
                "title": "蜂蜜中氯霉素残留分析标准物质",
                "rm_name": "蜂蜜中氯霉素",
                "category": 10,
                "matrix": "蜂蜜",
                "analytes": ["氯霉素"],
                "methods": ["LC-MS/MS"],
                "description": "研制蜂蜜中氯霉素残留的有证标准物质。",
                "applicant_institution": "广东省计量科学研究院",
                "window_start": dt.date.today() + dt.timedelta(days=10),
                "window_end": dt.date.today() + dt.timedelta(days=60),
            },
        )
        course = courses.create_course(
            s,
            admin,
            {
                "slug": "isotopes",
                "title": "同位素标准物质",
                "summary": "同位素丰度标准物质的研制。",
                "language": "zh",
                "topic": "homogeneity_stability",
                "audience": ["technician"],
                "level": "intermediate",
                "hours": 2,
                "instructor": "张伟",
                "tags": [],
            },
        )
        chapter = courses.add_chapter(s, course, "第一章")
        courses.save_lesson(
            s,
            chapter,
            None,
            title="1.1 概述",
            kind="text",
            minutes=20,
            markdown="## 概述\n\n同位素。",
        )
        lesson = courses.save_lesson(
            s,
            chapter,
            None,
            title="1.2 分离",
            kind="text",
            minutes=20,
            markdown="## 分离\n\n离子交换。",
        )
        courses.set_status(s, admin, course, True)
        s.commit()
        return World(expert.id, submission.id, course.id, chapter.id, lesson.id)


def _client(app: Flask) -> FlaskClient:
    """A browser of one host (no app context is held between requests: each gets its own)."""
    return app.test_client()


def _sign_in(client: FlaskClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, "sign-in failed"


def _same_session(source: FlaskClient, target: FlaskClient) -> None:
    """The browser's session cookie, from one host to the other (a load balancer's doing)."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value, domain=cookie.domain)


# -- what host B sees ----------------------------------------------------------------------------


def _keyword_hits(app: Flask, word: str) -> list[str]:
    with app.app_context():
        return [h.doc_id for h in expert_keyword_index().search(word).hits]


def _vector_chunks(app: Flask, expert_id: int) -> set[str]:
    with app.app_context():
        matrix = get_store().matrix(EXPERT_INDEX)
        return {
            c
            for s, c in zip(matrix.source_ids.tolist(), matrix.chunks, strict=True)
            if s == expert_id
        }


def _keyword_part(app: Flask, world: World) -> float:
    from expertpool.submissions.models import Submission

    with app.app_context():
        submission = db.session.get(Submission, world.submission_id)
        ranking = rank(db.session, submission, rules_from_config(app.config))
        candidate = ranking.candidate(world.expert_id)
        assert candidate is not None, "the expert is a candidate"
        return candidate.explanation.parts["keyword"]


def _marks(html: str, word: str) -> int:
    return len(re.findall(f"<mark>{word}</mark>", html))


def _text(response: Any) -> str:
    """The page without its highlighting (a hit's title comes with <mark>ed words)."""
    assert response.status_code == 200
    return re.sub(r"</?mark>", "", response.get_data(as_text=True))


def _generation(app: Flask, name: str) -> str | None:
    with app.app_context():
        return get_index(name).current_generation()


# -- the test ------------------------------------------------------------------------------------


def test_a_change_through_host_a_is_found_by_search_and_matching_on_host_b(hosts: Hosts) -> None:
    a, b = hosts.a, hosts.b
    world = _world(a)
    hosts.run_worker_of_a()  # the set-up's index jobs
    client_a, client_b = _client(a), _client(b)

    # Before: host B builds its indexes from the database at its first search.
    assert _keyword_hits(b, "氯霉素") == []
    assert _keyword_part(b, world) == 0.0
    _sign_in(client_a, "admin")
    _same_session(client_a, client_b)  # signed cookies: host B knows the administrator too
    page = client_b.get(f"/submissions/{world.submission_id}/candidates")
    assert page.status_code == 200 and "王芳" in page.get_data(as_text=True)
    search = "/courses/search?q=铀同位素丰度"
    assert LESSON_TITLE not in _text(client_b.get(search))
    generations = {name: _generation(b, name) for name in ("experts", "materials")}
    assert None not in generations.values()

    # The expert adds a publication on host A.
    expert = _client(a)
    _sign_in(expert, "wang")
    added = expert.post(
        f"/experts/{world.expert_id}/parts/publication",
        data={"title": PUBLICATION, "year": "2024", "language": "zh"},
    )
    assert added.status_code == 302
    assert _keyword_hits(b, "氯霉素") == []  # the request only queued the job
    hosts.run_worker_of_a()
    with a.app_context():
        pub_id = db.session.scalar(
            select(Publication.id).where(Publication.expert_id == world.expert_id)
        )
    assert _keyword_hits(a, "氯霉素") == [str(world.expert_id)]  # host A, after its own job

    assert _keyword_hits(b, "氯霉素") == [str(world.expert_id)]
    assert f"pub:{pub_id}" in _vector_chunks(b, world.expert_id)
    assert _keyword_part(b, world) > 0
    html = client_b.get(f"/submissions/{world.submission_id}/candidates").get_data(as_text=True)
    assert _marks(html, "氯霉素") >= 1, "host B's explanation shows the new publication"

    # ... and removes it on host A.
    removed = expert.post(f"/experts/{world.expert_id}/parts/publication/{pub_id}/delete")
    assert removed.status_code == 302
    hosts.run_worker_of_a()
    assert _keyword_hits(b, "氯霉素") == []
    assert f"pub:{pub_id}" not in _vector_chunks(b, world.expert_id)
    assert _keyword_part(b, world) == 0.0
    html = client_b.get(f"/submissions/{world.submission_id}/candidates").get_data(as_text=True)
    assert _marks(html, "氯霉素") == 0

    # An administrator edits a lesson on host A; host B's course search finds it ...
    edited = client_a.post(
        f"/admin/courses/lessons/{world.lesson_id}",
        data={
            "chapter_id": world.chapter_id,
            "title": LESSON_TITLE,
            "kind": "text",
            "minutes": "30",
            "markdown": LESSON_TEXT,
        },
    )
    assert edited.status_code == 302
    hosts.run_worker_of_a()
    assert LESSON_TITLE in _text(client_b.get(search))

    # ... and no longer once it is deleted on host A.
    deleted = client_a.post(
        f"/admin/courses/lessons/{world.lesson_id}/action", data={"action": "delete"}
    )
    assert deleted.status_code == 302
    hosts.run_worker_of_a()
    assert LESSON_TITLE not in _text(client_b.get(search))
    with b.app_context():
        left = get_index("materials").search("", per_page=1000, snippets=False).hits
        assert left and not [h for h in left if h.fields.get("lesson_id") == world.lesson_id]

    # Host B followed the log in place: its indexes were never rebuilt after the first build.
    assert {name: _generation(b, name) for name in generations} == generations


# -- rate limits across processes ----------------------------------------------------------------

_ATTEMPTS = """
import json, sys
from expertpool import create_app
app = create_app(json.loads(sys.argv[1]), instance_path=sys.argv[2])
client = app.test_client()
print(json.dumps([
    client.post("/login", data={"username": "nobody", "password": "wrong"}).status_code
    for _ in range(2)
]))
"""


def test_sign_in_attempts_are_counted_across_processes(tmp_path: Path, redis_url: str) -> None:
    """Two processes share the Redis counter: the limit holds for the pair, not for each."""
    config = _config(
        f"sqlite:///{tmp_path / 'shared.db'}",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=_limits_uri(redis_url),
        LOGIN_RATE_LIMIT="3 per minute",
    )
    app = create_app(config, instance_path=str(tmp_path / "host-a"))
    with app.app_context():
        db.create_all()
    other = subprocess.run(
        [sys.executable, "-c", _ATTEMPTS, json.dumps(config), str(tmp_path / "host-b")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(other.stdout.strip().splitlines()[-1]) == [200, 200]
    client = app.test_client()
    attempt = {"username": "nobody", "password": "wrong"}
    assert client.post("/login", data=attempt).status_code == 200  # the third
    assert client.post("/login", data=attempt).status_code == 429  # the fourth, on this host


# -- the log's versions ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_concurrent_jobs_get_versions_in_commit_order(pg_server: pg.PgServer, tmp_path: Path):
    """A second job's log entry waits for the first's commit, so a host that reads version v
    committed has every entry up to v (none can appear later below it)."""
    name = pg.database_name("expertpool_log_order")
    app = create_app(_config(pg_server.create_database(name)), instance_path=str(tmp_path / "a"))
    try:
        with app.app_context():
            db.create_all()
            first = Session(db.engine)
            v1 = record_changes(first, EXPERT_INDEX, upserted=["1"])
            got: list[int | None] = []

            def second_job() -> None:
                with app.app_context(), Session(db.engine) as session:
                    got.append(record_changes(session, EXPERT_INDEX, upserted=["2"]))
                    session.commit()

            thread = threading.Thread(target=second_job)
            thread.start()
            _wait_for_a_lock_wait(pg_server, name)
            assert got == []  # blocked behind the first, uncommitted job
            first.commit()
            first.close()
            thread.join(timeout=30)
            assert got == [v1 + 1]
            with Session(db.engine) as reader:
                rows = reader.execute(
                    select(SearchIndexChange.version, SearchIndexChange.doc_key).order_by(
                        SearchIndexChange.version
                    )
                ).all()
            assert [tuple(r) for r in rows] == [(v1, "1"), (v1 + 1, "2")]
            db.session.remove()
            db.engine.dispose()
    finally:
        pg_server.drop_database(name)


def _wait_for_a_lock_wait(server: pg.PgServer, database: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with server.connect() as conn:
        while not conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            (database,),
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the second job never waited for the first"
            threading.Event().wait(0.02)
