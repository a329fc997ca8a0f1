"""`flask backup create|verify|restore`: round trips, tampering, refusals, all-or-nothing restores.

The SQLite tests use conftest's app (a database file and an instance folder in tmp_path). The
PostgreSQL round trip needs a server from tests/pg.py (skips without one, like tests/test_postgres.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_migrate import stamp, upgrade
from sqlalchemy import func, select, text

from expertpool import create_app
from expertpool.accounts import operations as accounts
from expertpool.accounts.models import User
from expertpool.core import audit, backup
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.core.embeddings.store import get_store
from expertpool.db import db
from expertpool.experts import operations as experts
from expertpool.experts.models import Expert
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import EXPERT_INDEX
from tests import pg
from tests.pg import PgServer, database_name

pg_server = pg.pg_server  # the PostgreSQL fixture (skips without a server)

PUBLICATION = "婴幼儿配方乳粉中黄曲霉毒素M1的测定"
QUERY = "黄曲霉毒素"
REPORT = b"%PDF-1.4 review report, original"


# -- helpers ------------------------------------------------------------------------------------


def _invoke(runner: FlaskCliRunner, *args: str) -> Any:
    return runner.invoke(args=["backup", *args], catch_exceptions=False)


def _uploads(app: Flask) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def _state(app: Flask) -> dict[str, Any]:
    """What a restore must bring back: users, experts' texts, files, keyword and vector hits."""
    db.session.expire_all()
    store = get_store()
    return {
        "users": sorted(db.session.scalars(select(User.username))),
        "names": sorted(db.session.scalars(select(User.name))),
        "experts": sorted(db.session.scalars(select(Expert.name))),
        "files": {
            p.relative_to(_uploads(app)).as_posix(): p.read_bytes()
            for p in sorted(_uploads(app).rglob("*"))
            if p.is_file()
        },
        "keyword_hits": [h.doc_id for h in expert_keyword_index().search(QUERY).hits],
        "vector_keys": sorted(store.matrix(EXPERT_INDEX).keys()),
    }


def _leftovers(app: Flask) -> list[str]:
    """Staging and set-aside folders a restore must not leave behind."""
    places = [Path(app.instance_path), _uploads(app).parent]
    return sorted({p.name for place in places for p in place.glob(".*") if p.is_dir()})


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rewrite(
    source: Path,
    dest: Path,
    *,
    replace: dict[str, bytes] | None = None,
    extra: tuple[tuple[tarfile.TarInfo, bytes | None], ...] = (),
    manifest: Callable[[dict[str, Any]], None] | None = None,
    recompute: bool = True,
) -> Path:
    """A copy of an archive with members replaced or added and, unless told not to, a manifest
    whose checksums match the new contents (as a careful forger would make it)."""
    with tarfile.open(source, "r:gz") as tar:
        members = [
            (m, tar.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        ]
    data = json.loads(next(d for m, d in members if m.name == backup.MANIFEST))
    kept = [(m, (replace or {}).get(m.name, d)) for m, d in members if m.name != backup.MANIFEST]
    kept += extra
    if recompute:
        data["files"] = [
            {"path": m.name, "size": len(d), "sha256": _sha(d)}
            for m, d in kept
            if m.isfile() and d is not None
        ]
    if manifest is not None:
        manifest(data)
    kept.append((tarfile.TarInfo(backup.MANIFEST), json.dumps(data).encode()))
    with tarfile.open(dest, "w:gz") as tar:
        for member, content in kept:
            if content is None:
                tar.addfile(member)
            else:
                member.size = len(content)
                tar.addfile(member, io.BytesIO(content))
    return dest


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def filled(app: Flask, admin: User, make_user: Callable[..., User], make_expert: Any) -> Path:
    """Users, an expert with a publication (embedded and keyword-indexed), an upload; stamped
    with this code's Alembic revision. Returns the uploaded file."""
    stamp()
    make_user(Role.TRAINEE, username="trainee1", name="学员甲")
    expert = make_expert(name="专家甲")
    experts.add_part(db.session, admin, expert, "publication", {"title": PUBLICATION})
    db.session.commit()
    report = _uploads(app) / "submissions" / "1" / "report.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(REPORT)
    return report


@pytest.fixture
def archive(app: Flask, runner: FlaskCliRunner, filled: Path, tmp_path: Path) -> Path:
    path = tmp_path / "backups" / "b.tar.gz"
    result = _invoke(runner, "create", "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def _change_everything(app: Flask, admin: User, report: Path) -> None:
    """Delete a user, rename another, remove the publication (index and vectors follow),
    overwrite the upload and add another."""
    db.session.delete(db.session.scalar(select(User).where(User.username == "trainee1")))
    admin.name = "改名的管理员"
    expert = db.session.scalar(select(Expert).where(Expert.name == "专家甲"))
    assert expert is not None
    experts.remove_part(db.session, admin, expert, "publication", expert.publications[0].id)
    db.session.commit()
    report.write_bytes(b"%PDF-1.4 overwritten")
    (report.parent / "new.pdf").write_bytes(b"%PDF-1.4 added after the backup")


# -- SQLite round trip --------------------------------------------------------------------------


def test_round_trip_brings_back_data_files_and_search(
    app: Flask, runner: FlaskCliRunner, admin: User, filled: Path, tmp_path: Path
) -> None:
    before = _state(app)
    assert before["keyword_hits"] and any(c.startswith("pub:") for _, _, c in before["vector_keys"])
    path = tmp_path / "backups" / "b.tar.gz"

    created = _invoke(runner, "create", "--output", str(path))

    assert created.exit_code == 0, created.output
    assert path.stat().st_mode & 0o077 == 0  # personal data: readable by the owner only
    manifest = backup.verify_backup(path)
    listed = {f.path: f for f in manifest.files}
    assert manifest.engine == "sqlite" and manifest.database in listed
    assert manifest.alembic_revision == sorted(backup.code_revisions(app)[1])
    assert listed["uploads/submissions/1/report.pdf"].sha256 == _sha(REPORT)
    assert any(p.startswith(f"search/{EXPERT_INDEX}/gen-") for p in listed)
    logged = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "Backup"))
    assert logged is not None and logged.action == "create" and logged.actor_id is None

    _change_everything(app, admin, filled)
    changed = _state(app)
    assert changed != before and changed["keyword_hits"] == []

    restored = _invoke(runner, "restore", "--yes", str(path))

    assert restored.exit_code == 0, restored.output
    assert _state(app) == before
    assert _leftovers(app) == []
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "restore"))
    assert entry is not None and entry.changes["archive"] == [None, str(path)]


def test_create_refuses_to_write_into_a_folder_it_backs_up(
    app: Flask, runner: FlaskCliRunner, filled: Path
) -> None:
    inside = _uploads(app) / "b.tar.gz"

    result = _invoke(runner, "create", "--output", str(inside))

    assert result.exit_code == 1 and "inside a folder it would back up" in result.output
    assert not inside.exists() and not inside.with_name("b.tar.gz.partial").exists()


def test_sqlite_backup_is_a_snapshot_taken_beside_a_running_writer(
    app: Flask, filled: Path, tmp_path: Path
) -> None:
    """Another connection holds the write lock with an uncommitted change: the backup neither
    waits for it nor contains it."""
    writer = sqlite3.connect(backup._sqlite_path(app), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE user SET name = '未提交' WHERE username = 'trainee1'")
    try:
        manifest = backup.create_backup(app, tmp_path / "live.tar.gz")
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    with tarfile.open(tmp_path / "live.tar.gz") as tar:
        tar.extract(manifest.database, tmp_path, filter="data")
    copy = sqlite3.connect(tmp_path / manifest.database)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {n for (n,) in copy.execute("SELECT name FROM user")}
    finally:
        copy.close()
    assert "学员甲" in names and "未提交" not in names


def test_verify_reports_a_tampered_file(
    runner: FlaskCliRunner, archive: Path, tmp_path: Path
) -> None:
    assert _invoke(runner, "verify", str(archive)).exit_code == 0
    forged = _rewrite(
        archive,
        tmp_path / "forged.tar.gz",
        replace={"uploads/submissions/1/report.pdf": b"%PDF-1.4 forged"},
        recompute=False,
    )

    result = _invoke(runner, "verify", str(forged))

    assert result.exit_code == 1
    assert "changed: uploads/submissions/1/report.pdf" in result.output


def test_verify_reports_a_truncated_archive(
    runner: FlaskCliRunner, archive: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    result = _invoke(runner, "verify", str(cut))

    assert result.exit_code == 1 and "not a readable .tar.gz" in result.output


def test_restore_without_yes_says_what_it_would_overwrite_and_changes_nothing(
    app: Flask, runner: FlaskCliRunner, admin: User, filled: Path, archive: Path
) -> None:
    _change_everything(app, admin, filled)
    changed = _state(app)

    result = _invoke(runner, "restore", str(archive))

    assert result.exit_code == 1
    assert str(_uploads(app).resolve()) in result.output and "--yes" in result.output
    assert _state(app) == changed


@pytest.mark.parametrize(
    ("name", "kind", "linkname"),
    [
        ("uploads/../../evil.txt", tarfile.REGTYPE, ""),
        ("/tmp/expertpool-backup-test-evil.txt", tarfile.REGTYPE, ""),
        ("uploads/escape", tarfile.SYMTYPE, "../../.."),
        ("uploads/passwd", tarfile.LNKTYPE, "/etc/passwd"),
    ],
    ids=["parent", "absolute", "symlink", "hardlink"],
)
def test_restore_refuses_members_that_escape_their_folder(
    app: Flask,
    runner: FlaskCliRunner,
    archive: Path,
    tmp_path: Path,
    name: str,
    kind: bytes,
    linkname: str,
) -> None:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, linkname
    content = b"owned" if kind == tarfile.REGTYPE else None
    forged = _rewrite(archive, tmp_path / "forged.tar.gz", extra=((member, content),))
    with tarfile.open(forged) as tar:
        assert name in tar.getnames()  # the forged member really is in the archive as named
    before = _state(app)

    result = _invoke(runner, "restore", "--yes", str(forged))

    assert result.exit_code == 1 and "refused" in result.output
    assert not (tmp_path / "evil.txt").exists()
    assert not Path("/tmp/expertpool-backup-test-evil.txt").exists()
    assert not (_uploads(app) / "escape").exists() and not (_uploads(app) / "passwd").exists()
    assert _state(app) == before and _leftovers(app) == []


def test_restore_refuses_an_archive_from_newer_code(
    app: Flask, runner: FlaskCliRunner, admin: User, filled: Path, archive: Path, tmp_path: Path
) -> None:
    def from_the_future(manifest: dict[str, Any]) -> None:
        manifest["alembic_revision"] = ["9999_from_the_future"]

    newer = _rewrite(archive, tmp_path / "newer.tar.gz", manifest=from_the_future)
    _change_everything(app, admin, filled)
    changed = _state(app)

    result = _invoke(runner, "restore", "--yes", str(newer))

    assert result.exit_code == 1
    assert "9999_from_the_future" in result.output and "newer version" in result.output
    assert _state(app) == changed


def test_a_failed_restore_leaves_the_previous_state(
    app: Flask, runner: FlaskCliRunner, admin: User, filled: Path, archive: Path, tmp_path: Path
) -> None:
    """The folders are swapped in before the database fails: they must be swapped back."""
    manifest = backup.verify_backup(archive)
    broken = _rewrite(
        archive, tmp_path / "broken.tar.gz", replace={manifest.database: b"not a database" * 100}
    )
    backup.verify_backup(broken)  # consistent checksums: only the database itself is bad
    _change_everything(app, admin, filled)
    changed = _state(app)

    result = _invoke(runner, "restore", "--yes", str(broken))

    assert result.exit_code == 1
    assert "not a usable SQLite file" in result.output and "Nothing was changed" in result.output
    assert _state(app) == changed
    assert _leftovers(app) == []
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "restore")) == 0


def test_restoring_an_older_archive_upgrades_it(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    db.drop_all()
    upgrade(revision="0006")
    path = tmp_path / "old.tar.gz"
    created = _invoke(runner, "create", "--output", str(path))
    # a backup before `flask db upgrade`: the audit table lacks 0007's columns, the archive is made
    assert created.exit_code == 0 and "not in the audit log" in created.output
    upgrade()
    heads = sorted(backup.code_revisions(app)[1])
    assert backup.verify_backup(path).alembic_revision == ["0006"] != heads

    result = _invoke(runner, "restore", "--yes", str(path))

    assert result.exit_code == 0, result.output
    assert "Upgraded the database from revision 0006" in result.output
    assert backup.database_revisions() == heads
    # the audit row is written with the upgraded table (0007 added its subject columns)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "restore"))
    assert entry is not None and entry.changes["alembic_revision"] == [["0006"], heads]


# -- PostgreSQL round trip ----------------------------------------------------------------------


@pytest.fixture
def pg_app(pg_server: PgServer, tmp_path: Path) -> Iterator[Flask]:
    name = database_name("expertpool_backup")
    url = pg_server.create_database(name)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "EMBEDDING_MODEL": "hashing",
            "SERVER_NAME": "localhost",
        },
        instance_path=str(tmp_path / "instance"),
    )
    try:
        with app.app_context():
            db.create_all()
            stamp()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        pg_server.drop_database(name)


@pytest.mark.postgres
def test_postgres_round_trip(pg_app: Flask, tmp_path: Path) -> None:
    runner = pg_app.test_cli_runner()
    admin = accounts.create_user(
        db.session,
        username="admin",
        name="管理员",
        email="a@example.cn",
        password="Pw-backup-2026!",
        roles=[Role.ADMIN],
    )
    accounts.create_user(
        db.session,
        username="trainee1",
        name="学员甲",
        email="t@example.cn",
        password="Pw-backup-2026!",
    )
    db.session.commit()
    expert = experts.create_expert(
        db.session,
        admin,
        {
            "name": "专家甲",
            "email": "e@example.cn",
            "id_number": None,
            "institution": "中国计量科学研究院",
            "province": "北京市",
            "categories": [8],
        },
    )
    experts.add_part(db.session, admin, expert, "publication", {"title": PUBLICATION})
    db.session.commit()
    (_uploads(pg_app) / "report.pdf").parent.mkdir(parents=True)
    (_uploads(pg_app) / "report.pdf").write_bytes(REPORT)
    before = _state(pg_app)
    path = tmp_path / "pg.tar.gz"
    created = _invoke(runner, "create", "--output", str(path))
    assert created.exit_code == 0, created.output
    assert backup.verify_backup(path).database == "database/expertpool.pgdump"

    _change_everything(pg_app, admin, _uploads(pg_app) / "report.pdf")
    db.session.execute(text("CREATE TABLE stray_table (id integer)"))  # as a later migration would
    db.session.commit()

    restored = _invoke(runner, "restore", "--yes", str(path))

    assert restored.exit_code == 0, restored.output
    assert _state(pg_app) == before
    tables = db.session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    assert "stray_table" not in set(tables)
    assert backup.database_revisions() == sorted(backup.code_revisions(pg_app)[1])
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "restore")) == 1
    # the audit rows of the changes made after the archive are kept, and the chain holds
    from expertpool.core import audit_chain

    deleted = select(func.count()).where(
        AuditLog.entity_type == "User", AuditLog.action == "delete"
    )
    assert db.session.scalar(deleted) == 1  # trainee1's deletion, after the archive
    assert audit_chain.verify(db.session).ok


def test_a_restore_keeps_the_audit_rows_written_since_the_archive(
    app: Flask, runner: FlaskCliRunner, admin: User, tmp_path: Path
) -> None:
    """Audit retention: restoring an older archive must not delete newer audit records."""
    from expertpool.core import audit_chain

    path = tmp_path / "backups" / "b.tar.gz"
    assert _invoke(runner, "create", "--output", str(path)).exit_code == 0
    for i in range(3):
        audit.record(db.session, "Thing", "update", {"n": [i, i + 1]}, note=f"after {i}")
    db.session.commit()
    later = set(db.session.scalars(select(AuditLog.id).where(AuditLog.note.like("after%"))))

    assert _invoke(runner, "restore", "--yes", str(path)).exit_code == 0

    db.session.expire_all()
    kept = set(db.session.scalars(select(AuditLog.id).where(AuditLog.note.like("after%"))))
    assert kept == later
    report = audit_chain.verify(db.session)
    assert report.ok and report.unsealed == 0
