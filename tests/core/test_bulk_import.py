"""Imports write in one short transaction (`core.bulk`), issue 12 "short write transactions".

The rows are built and prepared with no lock held, then written with Core bulk INSERTs; what
the ORM's flush events did (audit rows, the experts' changed files and their index job, the
matching pool's stamps) must come out the same as when the ORM flushed them, and other
connections must be able to write until the write itself begins.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, inspect, select

from expertpool import create_app
from expertpool.core import bulk, importing
from expertpool.core.audit import AuditLog
from expertpool.core.jobs.models import Job
from expertpool.db import db
from expertpool.experts import importer as expert_importer
from expertpool.experts.models import Expert, Institution, InstitutionAlias
from expertpool.experts.models.experts import ExpertCategory, Specialty, StatusEvent
from expertpool.matching.models import PoolState
from expertpool.submissions import importer as submission_importer
from expertpool.submissions.models import Submission
from tests import pg
from tests.conftest import SAFE_PRODUCTION
from tests.experts.test_import import csv_bytes as expert_csv
from tests.experts.test_import import good_row as expert_row
from tests.submissions.test_submission_import import csv_bytes as submission_csv
from tests.submissions.test_submission_import import good_row as submission_row

pg_server, pg_database_url = pg.pg_server, pg.pg_database_url  # fixtures (skip without a server)

TIMES = {"at", "created_at", "updated_at", "file_updated_at", "status_changed_at"}


def _expert_file() -> bytes:
    rows = [
        expert_row(1),
        expert_row(2, 工作单位="新单位研究所", 省份="上海", 城市="上海", 分析物="铅;镉;汞"),
        expert_row(3, 工作单位="新单位研究所", 状态="", 审评类别="01", 技术=""),
    ]
    return expert_csv(rows)


def _submission_file() -> bytes:
    return submission_csv([submission_row(1), submission_row(2, 申请单位="某新公司")])


IMPORTS = {
    "experts": (expert_importer, _expert_file),
    "submissions": (submission_importer, _submission_file),
}


def _import(importer: Any, data: bytes, actor: Any = None) -> list[Any]:
    report = importer.validate(db.session, importer.parse("f.csv", data, "utf-8"))
    assert report.ok, report.errors
    created = importer.commit(db.session, actor, report)
    db.session.commit()
    return created


def _plain(obj: Any) -> dict[str, Any]:
    return {
        a.key: "<time>" if a.key in TIMES else getattr(obj, a.key)
        for a in inspect(obj).mapper.column_attrs
    }


def _written() -> dict[str, Any]:
    """Everything an import writes, times masked (two runs differ only in their clocks)."""
    tables = (Expert, ExpertCategory, Specialty, StatusEvent, Institution, InstitutionAlias)
    state = {m.__name__: [_plain(o) for o in db.session.scalars(select(m))] for m in tables}
    state["Submission"] = [_plain(o) for o in db.session.scalars(select(Submission))]
    state["audit"] = sorted(
        (
            (r.actor_id, r.actor_name, r.entity_type, r.entity_id, r.subject_type, r.subject_id)
            + (r.action, r.note, sorted((k, v) for k, v in r.changes.items() if k not in TIMES))
            for r in db.session.scalars(select(AuditLog))
        ),
        key=repr,
    )
    state["jobs"] = [(j.task, j.args) for j in db.session.scalars(select(Job).order_by(Job.id))]
    state["stamped"] = sorted(p.part for p in db.session.scalars(select(PoolState)))
    return state


@contextmanager
def _app(folder: Path, url: str | None = None) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url or f"sqlite:///{folder / 'test.db'}",
            "SECRET_KEY": "test-secret",
            "EMBEDDING_MODEL": "hashing",
            "JOBS_EAGER": False,  # the index job stays queued: its row is compared
            "SERVER_NAME": "localhost",
            # the same personal-data keys in both runs: their blind indexes are compared
            "PII_KEYS": SAFE_PRODUCTION["PII_KEYS"],
            "PII_INDEX_KEY": SAFE_PRODUCTION["PII_INDEX_KEY"],
        },
        instance_path=str(folder / "instance"),
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()
        db.engine.dispose()  # else psycopg warns about connections left to the GC


def _orm_write(session: Any, prepared: bulk.Prepared) -> list[Any]:
    """What the imports did before `core.bulk`: one ORM flush (every flush listener runs)."""
    objects = prepared.objects
    session.add_all(objects)
    session.flush()
    return objects


def _compare_with_orm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, url: str | None = None
) -> None:
    importer, make_file = IMPORTS[kind]
    data = make_file()
    results = []
    for run, writer in (("orm", _orm_write), ("bulk", bulk.write)):
        monkeypatch.setattr(bulk, "write", writer)
        (tmp_path / run).mkdir()
        with _app(tmp_path / run, url):
            created = _import(importer, data)
            assert all(inspect(o).persistent for o in created)
            results.append(_written())
    orm, bulked = results
    assert orm["audit"] and orm["jobs" if kind == "experts" else "audit"]
    assert bulked == orm
    if kind == "experts":
        assert orm["jobs"] == [("matching.index_experts", {"expert_ids": [1, 2, 3]})]
        assert orm["stamped"] == ["experts", "specialties"]


@pytest.mark.parametrize("kind", IMPORTS)
def test_bulk_write_leaves_what_the_orm_flush_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    _compare_with_orm(tmp_path, monkeypatch, kind)


@pytest.mark.postgres
@pytest.mark.parametrize("kind", IMPORTS)
def test_bulk_write_leaves_what_the_orm_flush_left_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, pg_database_url: str
) -> None:
    """Ids reserved from the sequences, RETURNING-free INSERTs in the driver's parameter style."""
    _compare_with_orm(tmp_path, monkeypatch, kind, pg_database_url)


def test_the_objects_returned_are_persistent_and_loaded(app: Flask, admin: Any) -> None:
    created = _import(expert_importer, _expert_file(), admin)
    first = created[0]
    assert first.id and first.specialties_of("analyte") == ["铅", "镉"]
    assert first.category_codes == [8, 10] and first.institution.name == "中国计量科学研究院"
    assert created[1].institution is created[2].institution
    assert first.status_events[0].to_status == "active"
    assert db.session.get(Expert, first.id) is first


def _count_inserts(app: Flask) -> Callable[[], list[str]]:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement.split("(")[0])

    event.listen(db.engine, "before_cursor_execute", note)
    return lambda: statements


def test_the_write_is_one_insert_per_table_not_per_row(app: Flask) -> None:
    rows = [expert_row(n, 工作单位=f"单位{n % 3}") for n in range(1, 61)]
    report = expert_importer.validate(
        db.session, expert_importer.parse("f.csv", expert_csv(rows), "utf-8")
    )
    inserts = _count_inserts(app)
    expert_importer.commit(db.session, None, report)
    written = list(inserts())
    db.session.commit()  # (adds the index job, which runs at once: JOBS_EAGER)
    assert written == [
        f"INSERT INTO {table} "
        for table in (
            "institution",
            "expert",
            "institution_alias",
            "expert_category",
            "expert_specialty",
            "status_event",
            "audit_log",
        )
    ]
    assert db.session.scalar(select(func.count(Specialty.id))) == 60 * 4
    assert db.session.scalar(select(func.count(AuditLog.id))) == 60 * (1 + 2 + 4 + 1)


def _probe_write(path: str) -> None:
    """Another connection writes and commits at once, or fails: no waiting for a lock."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("UPDATE user SET last_login_at = ?", (dt.datetime(2026, 1, 1).isoformat(),))
        other.commit()
    finally:
        other.close()


def _database_path(app: Flask) -> str:
    return str(db.engine.url.database)


def test_others_write_while_the_rows_are_built_and_until_the_write(app: Flask, admin: Any) -> None:
    """No lock while the file is built (progress) and prepared (the hook): another connection's
    write commits at once, and the import, whose transaction begins only then, still commits."""
    path = _database_path(app)
    probes: list[str] = []

    def during_build(row: int) -> None:
        _probe_write(path)
        probes.append(f"row {row}")

    def before_write(_session: Any) -> None:
        _probe_write(path)
        probes.append("before write")

    db.session.info[importing.BEFORE_WRITE] = before_write
    report = expert_importer.validate(
        db.session, expert_importer.parse("f.csv", _expert_file(), "utf-8")
    )
    expert_importer.commit(db.session, admin, report, progress=during_build)
    db.session.commit()
    assert probes == ["row 2", "row 3", "row 4", "before write"]
    assert db.session.scalar(select(func.count(Expert.id))) == 3


def test_the_probe_does_see_the_import_holding_the_lock(app: Flask) -> None:
    """The probe above is not blind: once the rows are written and until the commit, it fails."""
    report = expert_importer.validate(
        db.session, expert_importer.parse("f.csv", _expert_file(), "utf-8")
    )
    expert_importer.commit(db.session, None, report)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _probe_write(_database_path(app))
    db.session.commit()
    _probe_write(_database_path(app))


def test_a_batch_refused_by_the_database_names_the_row_and_writes_nothing(app: Flask) -> None:
    """A row taken by another connection between the preview and the write: the bulk INSERT
    fails, the ORM finds the row, and nothing of the file is kept (audit rows included)."""
    path = _database_path(app)
    report = expert_importer.validate(
        db.session, expert_importer.parse("f.csv", _expert_file(), "utf-8")
    )

    def taken(_session: Any) -> None:
        other = sqlite3.connect(path, timeout=0)
        other.execute(
            "INSERT INTO expert (name, email, status, metrology_competent, created_at,"
            " file_updated_at, version) VALUES ('先到者', 'imported2@example.cn', 'active', 0,"
            " '2026-01-01', '2026-01-01', 1)"
        )
        other.commit()
        other.close()

    db.session.info[importing.BEFORE_WRITE] = taken
    with pytest.raises(expert_importer.ImportRefused, match="3"):
        expert_importer.commit(db.session, None, report)
    db.session.commit()
    assert list(db.session.scalars(select(Expert.name))) == ["先到者"]
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0
    assert db.session.scalar(select(func.count(Specialty.id))) == 0
    assert db.session.scalar(select(func.count(Job.id))) == 0


def test_rows_added_meanwhile_by_another_connection_are_numbered_around(app: Flask) -> None:
    """The ids prepared before the write were taken meanwhile (SQLite numbers them after the
    highest): the write numbers the rows again, children and audit rows following."""
    path = _database_path(app)
    report = expert_importer.validate(
        db.session, expert_importer.parse("f.csv", _expert_file(), "utf-8")
    )

    def someone_registers(_session: Any) -> None:
        other = sqlite3.connect(path, timeout=0)
        other.execute(
            "INSERT INTO expert (name, email, status, metrology_competent, created_at,"
            " file_updated_at, version) VALUES ('新注册', 'new@example.cn', 'applicant', 0,"
            " '2026-01-01', '2026-01-01', 1)"
        )
        other.commit()
        other.close()

    db.session.info[importing.BEFORE_WRITE] = someone_registers
    created = expert_importer.commit(db.session, None, report)
    db.session.commit()
    assert [e.id for e in created] == [2, 3, 4]
    by_id = {e.id: e.email for e in db.session.scalars(select(Expert))}
    assert by_id[1] == "new@example.cn" and by_id[2] == "imported1@example.cn"
    audited = {
        (r.entity_type, r.entity_id, r.subject_id, r.changes.get("expert_id", [None, None])[1])
        for r in db.session.scalars(select(AuditLog))
    }
    assert {(t, i) for t, i, _s, _e in audited if t == "Expert"} == {
        ("Expert", 2),
        ("Expert", 3),
        ("Expert", 4),
    }
    parts = {(s, e) for t, _i, s, e in audited if t in ("ExpertCategory", "Specialty")}
    assert parts and all(s == e and s in (2, 3, 4) for s, e in parts)
    pairs = db.session.execute(select(Specialty.expert_id, Specialty.name)).all()
    assert ("铅" in {n for i, n in pairs if i == 2}) and not any(i == 1 for i, _n in pairs)


def test_bulk_audit_rows_are_sealed_and_hold_no_personal_data_in_full(
    app: Flask, admin: Any
) -> None:
    """The raw INSERTs pass no ORM hook: their audit rows must still be sealed by the commit, and
    the create rows must mask ID numbers and phones as the flush handlers do."""
    from expertpool.core import audit_chain

    created = _import(expert_importer, _expert_file(), admin)
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "Expert", AuditLog.action == "create")
    ).all()
    assert len(rows) == len(created) == 3
    for expert, row in zip(sorted(created, key=lambda e: e.id), rows, strict=True):
        logged = str(row.changes)
        assert expert.id_number not in logged and expert.phone not in logged
        assert row.changes["id_number"][1].endswith(expert.id_number[-4:]) and "*" in logged
        assert "id_number_hash" not in row.changes
    assert audit_chain.unsealed_count(db.session) == 0
    assert audit_chain.verify(db.session).ok
