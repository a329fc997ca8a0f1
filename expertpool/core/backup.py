"""Backups: one archive holding the database, the upload folder and the keyword indexes.

The archive is a gzip-compressed tar file (members in this order)::

    database/expertpool.sqlite3   SQLite: a consistent copy made with SQLite's online backup API
    database/expertpool.pgdump    or PostgreSQL: `pg_dump --format=custom`
    uploads/...                   the upload folder (UPLOAD_FOLDER)
    search/<index>/...            each keyword index's live generation (SEARCH_INDEX_DIR)
    manifest.json                 last: when, which code and Alembic revision, and every file's
                                  size and SHA-256

The embedding vectors live in the database (`core.embeddings.store`), so they come with it; the
model folder is not backed up (`flask embeddings install-model` makes it again). Neither are the
personal-data keys (`core.pii`): the ID numbers and phones in the archive are encrypted, and the
keys are backed up apart from it.

A restore checks every checksum first and refuses an archive made by newer code (an Alembic
revision this code does not know) and any member that is not a plain file or folder inside its
own section. It unpacks the folders next to the live ones, swaps them in by renaming, then
replaces the database in one transaction; if that fails the old folders are swapped back, so a
failed restore leaves everything as it was. An archive from older code is then upgraded.

The functions take the app explicitly and need its app context (they use its database engine);
they commit nothing through the session. `backup_cli` is their command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
import time
import tomllib
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from flask import Flask
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..db import db
from . import audit
from .embeddings.store import forget_store
from .search.app import forget_index_manager, get_index, registered_indexes
from .search.index import IndexBusyError

log = logging.getLogger(__name__)

FORMAT = "expertpool-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE, UPLOADS, SEARCH = "database", "uploads", "search"
DATABASE_FILES = {"sqlite": "expertpool.sqlite3", "postgresql": "expertpool.pgdump"}
AUDIT_ENTITY = "Backup"

_CHUNK = 1024 * 1024
_MANIFEST_LIMIT = 64 * 1024 * 1024  # ~150 bytes per file: room for 400,000 files
_PG_TIMEOUT_S = 6 * 3600  # pg_dump / psql: generous, but never forever
_PG_LOCK_TIMEOUT = "60s"  # a restore waiting for another session's lock gives up after this
_ROOT = Path(__file__).resolve().parents[2]

# (stage, bytes done, bytes in all): the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]


class BackupError(RuntimeError):
    """A backup or restore that was refused or failed; the message says why and what to do.

    A restore that raises it has changed nothing, except `UpgradeFailed`."""


class UpgradeFailed(BackupError):
    """The archive was restored, but `alembic upgrade` of its older database failed."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass
class Manifest:
    created_at: str
    engine: str
    database: str  # the archive member holding the database
    alembic_revision: list[str]  # empty: the database carries no Alembic revision
    app_version: str | None = None
    embedding_model: str | None = None
    files: list[FileEntry] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw.decode("utf-8"))
            if data.get("format") != FORMAT:
                raise BackupError(f"{MANIFEST} is not an expertpool backup manifest")
            if int(data["format_version"]) > FORMAT_VERSION:
                raise BackupError(
                    f"the archive has format {data['format_version']}; this code reads up to "
                    f"{FORMAT_VERSION}: restore it with the version of the application that made it"
                )
            files = [
                FileEntry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"]
            ]
            return cls(
                created_at=str(data["created_at"]),
                engine=str(data["engine"]),
                database=str(data["database"]),
                alembic_revision=[str(r) for r in data["alembic_revision"]],
                app_version=data.get("app_version"),
                embedding_model=data.get("embedding_model"),
                files=files,
                format_version=int(data["format_version"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST} is unreadable: {exc!r}") from exc

    def section_files(self, section: str) -> list[FileEntry]:
        return [f for f in self.files if f.path.startswith(section + "/")]

    def total_size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass
class RestoreReport:
    manifest: Manifest
    upgraded_from: list[str] | None = None  # the archive's revision, when `alembic upgrade` ran
    notes: list[str] = field(default_factory=list)


# -- what the app holds --------------------------------------------------------------------------


def engine_name(app: Flask) -> str:
    name = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if name not in DATABASE_FILES:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def folders(app: Flask) -> dict[str, Path]:
    """The live folders a backup holds, resolved (a symlinked folder is followed to its target)."""
    found = {
        UPLOADS: Path(app.config["UPLOAD_FOLDER"]).resolve(),
        SEARCH: Path(app.config["SEARCH_INDEX_DIR"]).resolve(),
    }
    uploads, search = found[UPLOADS], found[SEARCH]
    if uploads.is_relative_to(search) or search.is_relative_to(uploads):
        raise BackupError(
            f"UPLOAD_FOLDER ({uploads}) and SEARCH_INDEX_DIR ({search}) must not contain one "
            "another: give them separate folders"
        )
    return found


def restore_targets(app: Flask) -> list[str]:
    """What a restore overwrites, in words, for the confirmation message."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    places = folders(app)
    return [
        f"the database {url} (all of its contents)",
        f"the upload folder {places[UPLOADS]}",
        f"the search index folder {places[SEARCH]}",
    ]


def default_archive_path(app: Flask, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(app.instance_path) / "backups" / f"expertpool-{stamp}.tar.gz"


def app_version() -> str | None:
    try:
        return importlib.metadata.version("expertpool")
    except importlib.metadata.PackageNotFoundError:
        pyproject = _ROOT / "pyproject.toml"
        if not pyproject.is_file():
            return None
        return tomllib.loads(pyproject.read_text("utf-8")).get("project", {}).get("version")


def database_revisions() -> list[str]:
    """The Alembic revision(s) the live database is at (none if it was never stamped)."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def _script_directory(app: Flask) -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def code_revisions(app: Flask) -> tuple[set[str], set[str]]:
    """(every revision this code's migrations know, their heads)."""
    script = _script_directory(app)
    return {s.revision for s in script.walk_revisions()}, set(script.get_heads())


# -- creating --------------------------------------------------------------------------------------


def create_backup(app: Flask, output: Path, *, progress: Progress | None = None) -> Manifest:
    """Write the archive `output` (written as `<output>.partial`, renamed when complete)."""
    output = Path(output).absolute()
    if output.exists():
        raise BackupError(f"{output} exists: choose another file name")
    engine, places = engine_name(app), folders(app)
    if any(output.resolve().is_relative_to(folder) for folder in places.values()):
        raise BackupError(f"{output} is inside a folder it would back up: write it elsewhere")
    output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as tmp:
        work = Path(tmp)
        _report(progress, f"database ({engine})", 0, 1)
        database = work / DATABASE_FILES[engine]
        if engine == "sqlite":
            sqlite_copy(_sqlite_path(app), database)
        else:
            pg_dump(app.config["SQLALCHEMY_DATABASE_URI"], database)
        _report(progress, f"database ({engine})", 1, 1)
        _snapshot_search(app, places[SEARCH], work / SEARCH)
        members = [
            (DATABASE, None),
            (f"{DATABASE}/{database.name}", database),
            *_tree(UPLOADS, places[UPLOADS]),
            *_tree(SEARCH, work / SEARCH),
        ]
        manifest = Manifest(
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            engine=engine,
            database=f"{DATABASE}/{database.name}",
            alembic_revision=database_revisions(),
            app_version=app_version(),
            embedding_model=app.config.get("EMBEDDING_MODEL"),
        )
        try:
            _write_archive(partial, members, manifest, progress)
            os.replace(partial, output)
        except OSError as exc:  # a full disk; a file that shrank while being read
            partial.unlink(missing_ok=True)
            raise BackupError(f"could not write {output}: {exc}") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    log.info("backup %s: %d files, %d bytes", output, len(manifest.files), manifest.total_size())
    return manifest


def _sqlite_path(app: Flask) -> Path:
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"only a SQLite database in a file can be backed up, not {database!r}")
    return Path(database).absolute()


def sqlite_copy(source: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API: writers may go on)."""
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # all pages in one step: one read transaction, one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy the database {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _snapshot_search(app: Flask, root: Path, dest: Path) -> None:
    """Copy each index's live generation while holding its write lock (readers go on)."""
    dest.mkdir()
    if not root.is_dir():
        return
    known = registered_indexes(app)
    for entry in sorted(root.iterdir()):
        if entry.name in known:
            index = get_index(entry.name, app)
            if index.current_generation() is None:
                continue
            try:
                with index.gate.exclusive():
                    generation = index.generation_path()
                    assert generation is not None  # exclusive() created one if there was none
                    (dest / entry.name).mkdir()
                    shutil.copy2(entry / "CURRENT", dest / entry.name / "CURRENT")
                    shutil.copytree(
                        generation, dest / entry.name / generation.name, ignore=_ignore_locks
                    )
            except IndexBusyError as exc:
                raise BackupError(f"{exc} (a reindex running?)") from exc
        elif entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dest / entry.name, symlinks=True, ignore=_ignore_locks)


def _ignore_locks(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n.endswith("LOCK") or n.endswith(".lock")}


def _tree(prefix: str, root: Path) -> Iterator[tuple[str, Path | None]]:
    """(archive name, path) of `root`'s folders (path None) and files; symlinks left out."""
    yield prefix, None
    if not root.is_dir():
        return
    for folder, dirnames, filenames in os.walk(root):
        base = Path(folder)
        dirnames.sort()
        relative = base.relative_to(root).as_posix()
        here = prefix if relative == "." else f"{prefix}/{relative}"
        for name in list(dirnames):
            if (base / name).is_symlink():
                log.warning("backup: symbolic link %s left out", base / name)
                dirnames.remove(name)
            else:
                yield f"{here}/{name}", None
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink() or not path.is_file():
                log.warning("backup: %s is not a plain file: left out", path)
                continue
            yield f"{here}/{name}", path


def _write_archive(
    target: Path,
    members: list[tuple[str, Path | None]],
    manifest: Manifest,
    progress: Progress | None,
) -> None:
    total = sum(_size(path) for _, path in members if path is not None)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        _report(progress, "archive", done, total)

    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data inside
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            for name, path in members:
                if path is None:
                    info = tarfile.TarInfo(name)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                    tar.addfile(info)
                    continue
                try:
                    handle = path.open("rb")
                except FileNotFoundError:  # e.g. a staged import finished meanwhile
                    log.warning("backup: %s disappeared while being backed up", path)
                    continue
                with handle:
                    st = os.fstat(handle.fileno())
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
                    reader = _HashingReader(handle, advance)
                    tar.addfile(info, reader)  # raises if the file shrank while being read
                manifest.files.append(FileEntry(name, st.st_size, reader.hexdigest()))
            data = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, _BytesReader(data))
        raw.flush()
        os.fsync(raw.fileno())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class _HashingReader:
    """A file wrapper that hashes what is read from it and reports the bytes read."""

    def __init__(self, handle: IO[bytes], advance: Callable[[int], None] | None = None) -> None:
        self._handle = handle
        self._hash = hashlib.sha256()
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._hash.update(data)
        if self._advance is not None:
            self._advance(len(data))
        return data

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


# -- reading an archive -----------------------------------------------------------------------------


def member_name(member: tarfile.TarInfo) -> str:
    """The member's normalised name; refuses links, special files and names outside a section."""
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = (
            "a symbolic link"
            if member.issym()
            else "a hard link"
            if member.islnk()
            else "a special file"
        )
        raise BackupError(f"archive member {name!r} is {kind}: refused")
    if name.startswith("/") or "\\" in name or "\x00" in name or PurePosixPath(name).is_absolute():
        raise BackupError(f"archive member {name!r} has an absolute or foreign path: refused")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BackupError(f"archive member {name!r} points outside its folder: refused")
    clean = "/".join(parts)
    if clean == MANIFEST and member.isfile():
        return clean
    if not parts or parts[0] not in (DATABASE, UPLOADS, SEARCH):
        raise BackupError(f"archive member {name!r} belongs to no section of a backup: refused")
    return clean


@contextmanager
def _read_archive(path: Path, progress: Progress | None, stage: str) -> Iterator[tarfile.TarFile]:
    """The archive opened for one sequential pass; read errors become a `BackupError`."""
    path = Path(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from exc
    total = os.fstat(raw.fileno()).st_size
    counted = _CountingReader(raw, lambda done: _report(progress, stage, done, total))
    try:
        with tarfile.open(fileobj=counted, mode="r|gz") as tar:
            yield tar
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BackupError(f"{path} is not a readable .tar.gz archive: {exc}") from exc
    finally:
        raw.close()


class _CountingReader:
    def __init__(self, handle: IO[bytes], report: Callable[[int], None]) -> None:
        self._handle, self._report, self._done = handle, report, 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._done += len(data)
        self._report(self._done)
        return data


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, sink: IO[bytes] | None) -> str:
    """SHA-256 of a member's bytes, copied to `sink` on the way when given."""
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    digest = hashlib.sha256()
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return digest.hexdigest()


def verify_backup(path: Path, *, progress: Progress | None = None) -> Manifest:
    """The archive's manifest, once every member's checksum matches it; else `BackupError`."""
    found: dict[str, tuple[int, str]] = {}
    raw_manifest: bytes | None = None
    with _read_archive(path, progress, "verify") as tar:
        for member in tar:
            name = member_name(member)
            if name in found or (name == MANIFEST and raw_manifest is not None):
                raise BackupError(f"archive member {name!r} appears twice: refused")
            if name == MANIFEST:
                if member.size > _MANIFEST_LIMIT:
                    raise BackupError(f"{MANIFEST} is implausibly large ({member.size} bytes)")
                source = tar.extractfile(member)
                assert source is not None
                raw_manifest = source.read()
            elif member.isfile():
                found[name] = (member.size, _read_member(tar, member, None))
    if raw_manifest is None:
        raise BackupError(f"{path} has no {MANIFEST}: it is not an expertpool backup")
    manifest = Manifest.from_json(raw_manifest)
    problems = _compare(manifest, found)
    if problems:
        raise BackupError(
            f"{path} does not match its manifest:\n  "
            + "\n  ".join(problems[:20])
            + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        )
    return manifest


def _compare(manifest: Manifest, found: dict[str, tuple[int, str]]) -> list[str]:
    problems = []
    listed = {f.path: f for f in manifest.files}
    database_ok = manifest.database.startswith(f"{DATABASE}/") and manifest.database in listed
    if manifest.engine not in DATABASE_FILES or not database_ok:
        problems.append(f"no database for engine {manifest.engine!r} ({manifest.database!r})")
    for entry in manifest.files:
        got = found.get(entry.path)
        if got is None:
            problems.append(f"missing: {entry.path}")
        elif got != (entry.size, entry.sha256):
            problems.append(f"changed: {entry.path} (size or SHA-256 differs from the manifest)")
    problems += [f"not in the manifest: {name}" for name in sorted(set(found) - set(listed))]
    return problems


# -- restoring --------------------------------------------------------------------------------------


def restore_backup(app: Flask, path: Path, *, progress: Progress | None = None) -> RestoreReport:
    """Replace the database, the upload folder and the search indexes with the archive's."""
    manifest = verify_backup(path, progress=progress)
    engine, places = engine_name(app), folders(app)
    if manifest.engine != engine:
        raise BackupError(
            f"the archive holds a {manifest.engine} database but this app uses {engine}: "
            "restore it into an app configured for the same engine"
        )
    report = RestoreReport(manifest)
    upgrade = _check_revision(app, manifest.alembic_revision, report)
    recent_audit = _audit_rows_since(app, manifest.created_at)
    release_database(app)
    try:
        _replace(app, path, manifest, places, progress)
    except OSError as exc:  # a full disk, a folder that cannot be renamed (a mount point)
        raise BackupError(f"the restore failed: {exc}") from exc
    release_database(app)
    if upgrade:
        from flask_migrate import upgrade as alembic_upgrade

        try:
            alembic_upgrade()
        except Exception as exc:
            raise UpgradeFailed(
                f"the archive was restored, but upgrading its database failed: {exc!r}; "
                "fix the cause and run `flask db upgrade`"
            ) from exc
        report.upgraded_from = manifest.alembic_revision
    _void_search_folders(app)
    _carry_audit_rows(app, recent_audit, report)
    return report


def _existing_user_ids(session: Session, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    user = db.metadata.tables["user"]
    return set(session.scalars(select(user.c.id).where(user.c.id.in_(ids))))


# -- the audit log outlives a restore --------------------------------------------------------------

AUDIT_MARGIN = dt.timedelta(hours=1)  # the archive's time is when it was written, not begun


def _audit_rows_since(app: Flask, created_at: str) -> list[dict[str, Any]]:
    """The live audit rows written since (about) the archive was made.

    A restore must not delete audit records (retention, MLPS 2.0 安全审计): the rows the
    archive lacks are carried into the restored database.
    """
    try:
        since = dt.datetime.fromisoformat(created_at).replace(tzinfo=None) - AUDIT_MARGIN
    except ValueError:
        since = dt.datetime.min
    table = audit.AuditLog.__table__
    try:
        with app.app_context(), db.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.at >= since).order_by(table.c.id))
            return [dict(row._mapping) for row in rows]
    except SQLAlchemyError:  # no database yet, or one without an audit log
        log.warning("restore: the live audit log could not be read", exc_info=True)
        return []


def _carry_audit_rows(app: Flask, rows: list[dict[str, Any]], report: RestoreReport) -> None:
    """Append the live rows the restored log lacks (ids past its last); keep their seals when
    they continue the restored chain, else leave them to be sealed onto it."""
    from . import audit_chain

    table = audit.AuditLog.__table__
    with app.app_context(), Session(db.engine) as session:
        last_id = session.scalar(select(func.max(table.c.id))) or 0
        missing = [r for r in rows if r["id"] > last_id]
        if not missing:
            return
        seq, head_hash = audit_chain.head(session)
        continues = (
            missing[0].get("seal_seq") == seq + 1 and missing[0].get("prev_hash") == head_hash
        )
        actors = {r["actor_id"] for r in missing if r.get("actor_id")}
        known = _existing_user_ids(session, actors)
        for row in missing:
            if row.get("actor_id") and row["actor_id"] not in known:
                row["actor_id"] = None  # an account the archive lacks (actor_name keeps the name)
                continues = False  # a changed row needs a new seal
        if not continues:
            for row in missing:
                row.update(seal_seq=None, prev_hash=None, row_hash=None, key_id=None)
        columns = set(table.c.keys())
        session.execute(
            insert(table), [{k: v for k, v in r.items() if k in columns} for r in missing]
        )
        if session.get_bind().dialect.name == "postgresql":  # explicit ids leave the sequence
            session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
                    "(SELECT max(id) FROM audit_log))"
                )
            )
        session.commit()
    report.notes.append(
        f"{len(missing)} audit log row(s) written since the archive was made were kept "
        "(the application never deletes audit records)"
    )


def _void_search_folders(app: Flask) -> None:
    """Every app host's keyword indexes are rebuilt from the restored database at their next
    search: the database went back in time, so the change-log versions their folders hold no
    longer mean what they did (`search.changes`)."""
    from .search.changes import renew_epochs

    try:
        with app.app_context(), Session(db.engine) as session:
            renew_epochs(session)
            session.commit()
    except SQLAlchemyError:  # a schema without the change log (not upgraded): nothing to void
        log.warning("search change log not found in the restored database", exc_info=True)


def _replace(
    app: Flask, path: Path, manifest: Manifest, places: dict[str, Path], progress: Progress | None
) -> None:
    """Stage the folders, swap them in, replace the database; swap back if that fails."""
    with _Staging(places, Path(app.instance_path)) as staging:
        database = _extract(path, manifest, staging, progress)
        for section, folder in places.items():
            _adopt(staging.staged[section], folder)
        staging.swap_in()
        try:
            _report(progress, f"database ({manifest.engine})", 0, 1)
            if manifest.engine == "sqlite":
                sqlite_restore(database, _sqlite_path(app))
            else:
                pg_restore(app.config["SQLALCHEMY_DATABASE_URI"], database, staging.scratch)
            _report(progress, f"database ({manifest.engine})", 1, 1)
        except BaseException:
            staging.swap_back()
            raise
        staging.done()


def _check_revision(app: Flask, revisions: list[str], report: RestoreReport) -> bool:
    """Refuse revisions this code does not know; True if the restored database needs upgrading."""
    known, heads = code_revisions(app)
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise BackupError(
            f"the archive's database is at Alembic revision {', '.join(unknown)}, which this "
            f"code does not know (its newest is {', '.join(sorted(heads))}): the archive was "
            "made by a newer version of the application; restore it with that version"
        )
    if not revisions:
        report.notes.append(
            "the archive's database carries no Alembic revision: it was not upgraded "
            "(`flask db stamp` it if it matches this code's schema)"
        )
        return False
    return set(revisions) != heads


def release_database(app: Flask) -> None:
    """Close this process's connections and caches of the database and the indexes."""
    db.session.remove()
    db.engine.dispose()
    forget_store(app)
    forget_index_manager(app)


class _Staging:
    """The folders of a restore, unpacked next to the live ones so that renaming swaps them."""

    def __init__(self, live: dict[str, Path], scratch_parent: Path) -> None:
        self.live = live
        self.staged: dict[str, Path] = {}
        self.aside: dict[str, Path] = {}
        self.swapped: list[str] = []
        self.finished = False
        scratch_parent.mkdir(parents=True, exist_ok=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=".restore-", dir=scratch_parent))
        for section, folder in live.items():
            folder.parent.mkdir(parents=True, exist_ok=True)
            prefix = f".{folder.name}.restore-"
            self.staged[section] = Path(tempfile.mkdtemp(prefix=prefix, dir=folder.parent))

    def __enter__(self) -> _Staging:
        return self

    def swap_in(self) -> None:
        try:
            for section, folder in self.live.items():
                if folder.exists():
                    aside = folder.with_name(f".{folder.name}.old-{secrets.token_hex(4)}")
                    folder.rename(aside)
                    self.aside[section] = aside
                self.staged[section].rename(folder)
                self.swapped.append(section)
        except BaseException:
            self.swap_back()
            raise

    def swap_back(self) -> None:
        for section in reversed(self.swapped):
            self.live[section].rename(self.staged[section])
        self.swapped.clear()
        for section in list(self.aside):
            self.aside.pop(section).rename(self.live[section])

    def done(self) -> None:
        self.finished = True

    def __exit__(self, *exc: object) -> None:
        if not self.finished and self.swapped:
            try:
                self.swap_back()  # interrupted between swap_in and the end of the database
            except OSError:
                log.exception("restore: could not put the previous folders back")
        leftovers = [self.scratch, *(p for s, p in self.staged.items() if s not in self.swapped)]
        if self.finished:
            leftovers += self.aside.values()
        elif self.aside:  # never delete the only copy of the previous state
            log.error("restore failed; the previous folders are kept at %r", self.aside)
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)


def _extract(path: Path, manifest: Manifest, staging: _Staging, progress: Progress | None) -> Path:
    """Unpack the archive into the staging folders, checking each file again; the database file."""
    expected = {f.path: f for f in manifest.files}
    roots = {DATABASE: staging.scratch / DATABASE, **staging.staged}
    roots[DATABASE].mkdir()
    with _read_archive(path, progress, "restore") as tar:
        for member in tar:
            name = member_name(member)
            if name == MANIFEST:
                continue
            section, _, rest = name.partition("/")
            target = _inside(roots[section], rest)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            entry = expected.get(name)
            if entry is None or target.exists():
                raise BackupError(f"archive member {name!r} changed since it was verified")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as sink:
                digest = _read_member(tar, member, sink)
            if digest != entry.sha256:
                raise BackupError(f"archive member {name!r} changed since it was verified")
    database = _inside(roots[DATABASE], manifest.database.partition("/")[2])
    if not database.is_file():
        raise BackupError(f"the archive holds no {manifest.database}")
    return database


def _adopt(staged: Path, live: Path) -> None:
    """Give a staged folder the live one's mode and, when run as root, its owner: the web
    server's user must still be able to write to it after the swap."""
    if not live.exists():
        staged.chmod(0o755)
        return
    st = live.stat()
    staged.chmod(stat.S_IMODE(st.st_mode))
    if os.geteuid() != 0 or st.st_uid == 0:
        return
    for folder, dirnames, filenames in os.walk(staged):
        for name in (folder, *(os.path.join(folder, n) for n in dirnames + filenames)):
            os.chown(name, st.st_uid, st.st_gid, follow_symlinks=False)


def _inside(root: Path, relative: str) -> Path:
    """`root / relative`, refused if it resolves to anywhere outside `root`."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise BackupError(f"archive member {relative!r} points outside its folder: refused")
    return target


def sqlite_restore(source: Path, live: Path) -> None:
    """Copy `source` into the live database file with the online backup API (one transaction)."""
    src = sqlite3.connect(source)
    try:
        try:
            status = src.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"the archive's database is not a usable SQLite file: {exc}") from exc
        if status != ("ok",):
            raise BackupError(f"the archive's database fails SQLite's integrity check: {status}")
        live.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(live, timeout=30)
        try:
            src.backup(dst)
        except sqlite3.Error as exc:
            raise BackupError(f"could not write the database {live}: {exc}") from exc
        finally:
            dst.close()
    finally:
        src.close()


# -- PostgreSQL ---------------------------------------------------------------------------------------

# Run before the dump's own statements, in the same transaction: drops every table, view,
# sequence and enum of the schema, also those the archive does not know (tables added by a
# later migration would otherwise make the `alembic upgrade` after an older archive fail).
_PG_CLEAR = f"""
SET lock_timeout = '{_PG_LOCK_TIMEOUT}';
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT viewname FROM pg_views WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP VIEW IF EXISTS %I CASCADE', r.viewname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequence_name FROM information_schema.sequences
           WHERE sequence_schema = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.sequence_name);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype = 'e' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$;
"""


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH: install PostgreSQL's client programs, of the "
            "server's major version or newer (Debian: apt install postgresql-client)"
        )
    return found


def pg_environment(url: str | URL) -> dict[str, str]:
    """libpq's environment for the database at `url`: the password stays out of the argv."""
    parsed = make_url(url)
    env = dict(os.environ)
    values = {
        "PGHOST": parsed.host or parsed.query.get("host"),  # ?host=/run/postgresql: a socket
        "PGPORT": parsed.port,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _run_pg(command: list[str], url: str | URL, what: str) -> None:
    try:
        done = subprocess.run(
            command,
            env=pg_environment(url),
            capture_output=True,
            text=True,
            timeout=_PG_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{what} did not finish within {_PG_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise BackupError(
            f"{what} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}"
        )


def pg_dump(url: str | URL, dest: Path) -> None:
    """`pg_dump --format=custom` of the database at `url` (a consistent snapshot)."""
    command = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run_pg([*command, f"--file={dest}"], url, "pg_dump")


def pg_restore(url: str | URL, dump: Path, scratch: Path) -> None:
    """Replace the database's contents with `dump`, all or nothing.

    pg_restore turns the dump into SQL (`--clean --if-exists`); psql runs `_PG_CLEAR` and that
    SQL in one transaction that stops at the first error, so a failure changes nothing.
    """
    script, clear = scratch / "restore.sql", scratch / "clear.sql"
    options = ["--clean", "--if-exists", "--no-owner", "--no-privileges", f"--file={script}"]
    _run_pg([pg_tool("pg_restore"), *options, str(dump)], url, "pg_restore")
    clear.write_text(_PG_CLEAR, "utf-8")
    psql = [pg_tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction"]
    psql += ["--set=ON_ERROR_STOP=1", f"--file={clear}", f"--file={script}"]
    _run_pg(psql, url, "psql (restoring the dump)")


# -- the audit log ---------------------------------------------------------------------------------------


def audit_backup(session: Session, archive: Path, manifest: Manifest) -> None:
    """Record a backup in the audit log (flushes; the caller commits)."""
    audit.record(
        session,
        AUDIT_ENTITY,
        "create",
        {"archive": [None, str(archive)], "files": [None, len(manifest.files)]},
    )


def audit_restore(session: Session, archive: Path, report: RestoreReport) -> None:
    """Record a restore in the restored database's audit log (flushes; the caller commits)."""
    changes = {"archive": [None, str(archive)], "created_at": [None, report.manifest.created_at]}
    if report.upgraded_from is not None:
        changes["alembic_revision"] = [report.upgraded_from, database_revisions()]
    audit.record(session, AUDIT_ENTITY, "restore", changes)
