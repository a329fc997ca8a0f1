"""The expert pool on PostgreSQL: migrations, the list queries, audit, locking, a request.

A private server comes from tests/pg.py (or `DATABASE_URL_TEST`); without one these tests skip.
One test builds the schema with the Alembic migrations and compares it with the models; the
others share a per-worker database built once with create_all, each starting from empty tables.
`app` overrides conftest's, so its fixtures (admin, make_expert, auth, client) run on PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from expertpool import create_app
from expertpool.core import audit
from expertpool.core.audit import AuditLog
from expertpool.core.pagination import paginate_query
from expertpool.db import db
from expertpool.experts import institutions, queries
from expertpool.experts import operations as ops
from expertpool.experts.models import Expert
from expertpool.experts.queries import ExpertFilter
from tests import pg
from tests.pg import PgServer, database_name

pytestmark = pytest.mark.postgres
# The server and this worker's database (fixtures of tests/pg.py).
pg_server = pg.pg_server
pg_database_url = pg.pg_database_url


def _make_app(url: str, tmp_path) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "EMBEDDING_MODEL": "hashing",
            "JOBS_EAGER": True,  # jobs run right after the commit that adds them
            "SERVER_NAME": "localhost",
        },
        instance_path=str(tmp_path / "instance"),
    )


@pytest.fixture(scope="session")
def schema_url(pg_database_url: str, tmp_path_factory) -> str:
    """This worker's database with the models' tables.

    Built with create_all (as conftest does for SQLite) so that a model still waiting for its
    migration fails only the migration test below, not every test here.
    """
    app = _make_app(pg_database_url, tmp_path_factory.mktemp("pg-schema"))
    with app.app_context():
        try:
            db.create_all()
        finally:
            db.engine.dispose()
    return pg_database_url


@pytest.fixture
def app(schema_url: str, tmp_path) -> Iterator[Flask]:
    app = _make_app(schema_url, tmp_path)
    with app.app_context():
        try:
            _empty_all_tables()
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()  # else psycopg warns about connections left to the GC


def _empty_all_tables() -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        # A connection some test left open would block TRUNCATE: fail instead of hanging.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _pool(make_expert):
    """Two experts that differ in every filtered field; 中国计量院 is an alias of the first."""
    nim = make_expert(
        name="张伟",
        institution="中国计量科学研究院",
        province="北京市",
        categories=[8],
        specialties={"technique": ["ICP-MS"]},
        title="研究员",
        title_grade="正高级",
        years_experience=20,
    )
    gd = make_expert(
        name="李娜",
        institution="广东省计量科学研究院",
        province="广东省",
        categories=[10],
        specialties={"analyte": ["三聚氰胺"]},
        title="高级工程师",
        title_grade="副高级",
        status="suspended",
        summary="乳制品检测",
    )
    institutions.add_alias(db.session, nim.institution, "中国计量院")
    db.session.commit()
    return nim, gd


def _names(flt: ExpertFilter) -> list[str]:
    return [e.name for e in db.session.scalars(flt.statement())]


# --- schema -------------------------------------------------------------------------------------


def test_migrations_build_the_models_schema_and_remove_it(pg_server: PgServer, tmp_path):
    name = database_name("expertpool_migrations")
    app = _make_app(pg_server.create_database(name), tmp_path)
    try:
        with app.app_context():
            try:
                upgrade()
                with db.engine.connect() as conn:
                    assert conn.dialect.name == "postgresql"
                    diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
                assert diff == [], f"models and migrations differ on PostgreSQL: {diff}"
                downgrade(revision="base")
                with db.engine.connect() as conn:
                    tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
                assert tables == set()
            finally:
                db.engine.dispose()
    finally:
        pg_server.drop_database(name)


# --- operations and queries ---------------------------------------------------------------------


def test_create_expert_stores_the_file_and_unique_email_holds(app, admin, make_expert):
    expert = make_expert(
        name="王芳",
        email="wf@example.cn",
        categories=[9, 8],
        specialties={"analyte": ["葡萄糖"], "matrix": ["人血清"]},
        birth_date=dt.date(1975, 2, 28),
    )
    db.session.expire_all()
    stored = db.session.get(Expert, expert.id)
    assert stored.category_codes == [8, 9]
    assert stored.specialties_of("analyte") == ["葡萄糖"]
    assert stored.institution.name == "中国计量科学研究院" and stored.version == 1
    assert stored.birth_date == dt.date(1975, 2, 28)
    assert [e.to_status for e in stored.status_events] == ["active"]
    with pytest.raises(ops.ExpertError, match="wf@example.cn"):  # refused before the INSERT
        ops.create_expert(db.session, admin, {"name": "重名", "email": "wf@example.cn"})
    db.session.rollback()  # PostgreSQL aborts the transaction: the session must recover
    assert db.session.scalar(select(Expert.name).where(Expert.email == "wf@example.cn")) == "王芳"


def test_each_filter_selects_its_experts(app, make_expert):
    _pool(make_expert)
    assert _names(ExpertFilter()) == ["张伟", "李娜"]
    assert _names(ExpertFilter(category=8)) == ["张伟"]
    assert _names(ExpertFilter(specialty="三聚氰胺")) == ["李娜"]
    assert _names(ExpertFilter(province="广东省")) == ["李娜"]
    assert _names(ExpertFilter(status="active")) == ["张伟"]
    assert _names(ExpertFilter(title="研究员")) == ["张伟"]
    assert _names(ExpertFilter(title="副高级")) == ["李娜"]  # the grade matches too
    assert _names(ExpertFilter(institution="中国计量院")) == ["张伟"]  # through the alias
    assert _names(ExpertFilter(institution="广东省计量")) == ["李娜"]  # part of the name
    assert _names(ExpertFilter(q="ICP")) == ["张伟"]  # a specialty
    assert _names(ExpertFilter(q="乳制品")) == ["李娜"]  # the summary
    assert _names(ExpertFilter(category=8, status="suspended")) == []


def test_keyword_filters_ignore_case_as_on_sqlite(app, make_expert):
    _pool(make_expert)
    assert _names(ExpertFilter(q="icp")) == ["张伟"]
    assert _names(ExpertFilter(specialty="icp-ms")) == ["张伟"]


@pytest.mark.parametrize("desc", [False, True])
def test_sort_puts_missing_values_last_both_ways(app, make_expert, desc):
    for name, years in (("甲", 5), ("乙", None), ("丙", 30), ("丁", None)):
        make_expert(name=name, years_experience=years)
    order = _names(ExpertFilter(sort="experience", desc=desc))
    assert order == (["丙", "甲", "乙", "丁"] if desc else ["甲", "丙", "乙", "丁"])


def test_paginate_returns_every_expert_once(app, make_expert):
    made = {make_expert(name=f"分页{i:02d}").name for i in range(7)}
    stmt = ExpertFilter(sort="name").statement()
    pages = [paginate_query(db.session, stmt, n, per_page=3) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [7, 7, 7] and pages[0].pages == 3
    seen = [e.name for p in pages for e in p.items]
    assert seen == sorted(made)
    assert paginate_query(db.session, stmt, 99, per_page=3).page == 3  # clamped to the last


def test_coverage_counts_active_experts(app, make_expert):
    today = dt.date(2026, 6, 1)
    make_expert(
        province="北京市", categories=[8, 9], title_grade="正高级", birth_date=dt.date(1970, 1, 1)
    )
    make_expert(
        province="北京市", categories=[8], title_grade="副高级", birth_date=dt.date(1990, 7, 1)
    )
    make_expert(province="广东省", institution="广东省计量科学研究院", categories=[10])
    make_expert(status="suspended", categories=[8])
    cov = queries.coverage(db.session, minimum=2, today=today)
    assert cov.matrix == {(8, "北京市"): 2, (9, "北京市"): 1, (10, "广东省"): 1}
    assert cov.per_category[8] == 2 and cov.per_category[1] == 0
    assert (8, 2) not in cov.below_minimum and (9, 1) in cov.below_minimum
    assert cov.status_counts["active"] == 3 and cov.status_counts["suspended"] == 1
    assert cov.title_counts == {"正高级": 1, "副高级": 1, "?": 1}
    assert cov.age_buckets["50-59"] == 1 and cov.age_buckets["<40"] == 1
    assert cov.provinces == sorted(["北京市", "广东省"])


def test_audit_log_keeps_old_and_new_values(app, admin, make_expert):
    expert = make_expert(title="高级工程师", term_end=dt.date(2026, 11, 30))
    audit.set_actor(db.session, admin)
    ops.update_ordinary(db.session, admin, expert, {"title": "正高级工程师"}, expert.version)
    ops.change_status(db.session, admin, expert, "suspend", reason="审评意见严重失实")
    db.session.commit()
    db.session.expire_all()
    entries = db.session.scalars(
        select(AuditLog).where(AuditLog.of_subject("expert", expert.id)).order_by(AuditLog.id)
    ).all()
    assert (entries[0].entity_type, entries[0].action) == ("Expert", "create")
    assert entries[0].changes["term_end"] == [None, "2026-11-30"]  # dates stored as JSON text
    titled = [e for e in entries if "title" in e.changes and e.action == "update"]
    assert titled[-1].changes["title"] == ["高级工程师", "正高级工程师"]
    assert titled[-1].actor_id == admin.id and titled[-1].actor_name == "admin"
    status = [e for e in entries if "status" in e.changes][-1]
    assert status.changes["status"] == ["active", "suspended"]
    assert status.note == "审评意见严重失实"


def test_second_of_two_concurrent_commits_is_refused(app, make_expert):
    expert = make_expert(department="原部门")
    with Session(db.engine) as first, Session(db.engine) as second:
        a, b = first.get(Expert, expert.id), second.get(Expert, expert.id)
        a.department, b.department = "甲", "乙"
        first.commit()
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()
    db.session.expire_all()
    stored = db.session.get(Expert, expert.id)
    assert (stored.department, stored.version) == ("甲", 2)


# --- through the web ----------------------------------------------------------------------------


def test_admin_list_filters_and_csv_export(client, auth, make_expert):
    _pool(make_expert)
    assert auth.login().status_code == 302

    def listed(query: str) -> set[str]:
        response = client.get(f"/experts/?{query}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        return {n for n in ("张伟", "李娜") if f">{n}</a>" in page}

    assert listed("") == {"张伟", "李娜"}
    assert listed("category=10") == {"李娜"}
    assert listed("institution=中国计量院&status=active") == {"张伟"}
    assert listed("province=广东省&sort=experience&desc=1&page=5") == {"李娜"}
    body = client.get("/experts/export.csv?title=研究员").get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and "张伟" in rows[1] and "中国计量科学研究院" in rows[1]


# --- the audit log's hash chain -------------------------------------------------------------------


def test_audit_rows_committed_out_of_id_order_join_the_chain_in_commit_order(app):
    """A transaction that took lower ids but commits later is sealed after, not forked."""
    from expertpool.core import audit_chain

    with Session(db.engine) as first, Session(db.engine) as second:
        audit.record(first, "Thing", "update", {"n": [0, 1]})  # lower id, commits last
        audit.record(second, "Thing", "update", {"n": [1, 2]})
        second.commit()
        first.commit()
    rows = db.session.execute(select(AuditLog.id, AuditLog.seal_seq).order_by(AuditLog.id)).all()
    assert [seq for _, seq in rows] == [2, 1]
    assert audit_chain.verify(db.session).ok


def test_concurrent_audit_writers_keep_one_chain(app):
    import threading

    from expertpool.core import audit_chain

    writers, barrier, errors = 6, threading.Barrier(6), []

    def write(n: int) -> None:
        try:
            with app.app_context(), Session(db.engine) as session:
                barrier.wait(timeout=30)
                for i in range(15):
                    audit.record(session, "Thing", "update", {"w": [n, i]})
                    session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    report = audit_chain.verify(db.session)
    assert report.ok and report.checked == writers * 15 and report.unsealed == 0
