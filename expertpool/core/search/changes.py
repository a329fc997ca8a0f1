"""How every app host's keyword indexes follow the database: a change log and a per-host applier.

The database is the source of truth; a Whoosh folder (SEARCH_INDEX_DIR) is one host's derived
copy, shared by that host's processes. Several hosts on one database agree through two tables:

- `search_index_state`: per index, a `version` counter, an `epoch` (a random token, renewed
  when the database is restored from a backup) and `pruned_through` (the log is kept
  SEARCH_CHANGES_KEEP_DAYS; older entries are deleted up to this version).
- `search_index_change`: one row per changed document key (an expert id, a course id), stamped
  with the version of the transaction that changed it, and `op` ("upsert", "delete", or
  "rebuild": every host rebuilds that index).

Writing: the job that keeps an index current calls `record_changes(session, name, upserted=...,
deleted=...)` in its own transaction. It bumps the version with an UPDATE whose row lock is held
until the commit, so versions are handed out in commit order: a reader that sees version v
committed also sees every change up to v (the vector store's versions work the same way).

Applying: `sync(name)`, in any process of any host (web or worker), compares the mark kept in
the host's index folder (epoch and version, written with the Whoosh commit: it survives
restarts) with the database's, under a per-index lock shared by the host's processes. Newer
changes are applied by re-reading the named keys' documents from the database (the feature's
`changed(session, keys)`), never by replaying the log, so applying twice, late, or after this
very host already applied it (the worker after its own job) leaves the same index. The whole
index is rebuilt from the database when the folder has no valid mark (a new host, an empty or
replaced folder), when the epoch differs (a restore, or another database), when the host is
further behind than the kept log, or when a "rebuild" change asks for it.

When: readers get their index through `synced_index(name)`, which checks at most every
SEARCH_SYNC_SECONDS per process and index (one primary-key query when nothing changed), waiting
at most SEARCH_SYNC_WAIT seconds for another process of the host that is applying; the process
whose transaction recorded a change applies it right after its commit. A change is therefore
visible on the host whose worker ran the job as soon as the job commits, and on every other host
at the first search after at most SEARCH_SYNC_SECONDS more.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import Index, Integer, String, delete, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from ...db import db, utcnow
from ..features import listen
from .app import RegisteredIndex, get_index, registered_indexes
from .index import SearchIndex

log = logging.getLogger(__name__)

UPSERT, DELETE, REBUILD = "upsert", "delete", "rebuild"
PRUNE_EVERY = 100  # versions between two prunings of an index's log
_RECORDED = "search_changes_recorded"  # session.info: indexes this transaction logged changes of
_EXTENSION = "expertpool.search.sync"
_IN_CHUNK = 500  # keys per query when re-reading documents


class SearchIndexState(db.Model):
    __tablename__ = "search_index_state"

    index_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    epoch: Mapped[str] = mapped_column(String(32))
    pruned_through: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SearchIndexChange(db.Model):
    __tablename__ = "search_index_change"
    __table_args__ = (Index("ix_search_index_change_index_version", "index_name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    index_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    doc_key: Mapped[str] = mapped_column(String(64), default="")
    op: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def new_epoch() -> str:
    return secrets.token_hex(8)


# -- writing the log ---------------------------------------------------------------------------


def record_changes(
    session: Session, name: str, *, upserted: Iterable[Any] = (), deleted: Iterable[Any] = ()
) -> int | None:
    """Log that these documents of index `name` changed (or are gone), in the caller's
    transaction; returns the version they got (None when there was nothing to log)."""
    rows = [(str(k), UPSERT) for k in dict.fromkeys(upserted)]
    rows += [(str(k), DELETE) for k in dict.fromkeys(deleted)]
    if not rows:
        return None
    return _record(session, name, rows)


def request_rebuild(session: Session, name: str, *, apply_here: bool = True) -> int:
    """Ask every host to rebuild index `name` from the database (after a bulk load that logged
    nothing). With `apply_here`, this process rebuilds its own right after the commit."""
    return _record(session, name, [("", REBUILD)], apply_here=apply_here)


def _record(
    session: Session, name: str, rows: list[tuple[str, str]], *, apply_here: bool = True
) -> int:
    version = _bump(session, name)
    now = utcnow()
    session.execute(
        insert(SearchIndexChange),
        [
            {"index_name": name, "version": version, "doc_key": k, "op": op, "created_at": now}
            for k, op in rows
        ],
    )
    if version % PRUNE_EVERY == 0:
        prune(session, name, keep_days())
    if apply_here:
        session.info.setdefault(_RECORDED, set()).add(name)
    return version


def _bump(session: Session, name: str) -> int:
    """Increment the index's version (creating its state at 0 first) and return it; the row
    stays locked until the caller's commit, so concurrent writers commit in version order."""
    _insert_state(session, name)
    session.execute(
        update(SearchIndexState)
        .where(SearchIndexState.index_name == name)
        .values(version=SearchIndexState.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return session.scalar(
        select(SearchIndexState.version).where(SearchIndexState.index_name == name)
    )


def _insert_state(session: Session, name: str) -> None:
    values = {"index_name": name, "version": 0, "epoch": new_epoch(), "pruned_through": 0}
    values["updated_at"] = utcnow()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # no upsert syntax: check first (concurrent creators are the rare case)
        exists = session.get(SearchIndexState, name) is not None
        if not exists:
            session.execute(insert(SearchIndexState).values(**values))
        return
    session.execute(dialect_insert(SearchIndexState).values(**values).on_conflict_do_nothing())


def prune(session: Session, name: str, keep_days: float) -> int:
    """Delete the log of `name` older than `keep_days`; hosts behind it will rebuild."""
    cutoff = utcnow() - dt.timedelta(days=keep_days)
    through = session.scalar(
        select(func.max(SearchIndexChange.version)).where(
            SearchIndexChange.index_name == name, SearchIndexChange.created_at < cutoff
        )
    )
    if through is None:
        return 0
    deleted = session.execute(
        delete(SearchIndexChange).where(
            SearchIndexChange.index_name == name, SearchIndexChange.version <= through
        )
    ).rowcount
    session.execute(
        update(SearchIndexState)
        .where(SearchIndexState.index_name == name, SearchIndexState.pruned_through < through)
        .values(pruned_through=through)
        .execution_options(synchronize_session=False)
    )
    return deleted


def renew_epochs(session: Session) -> int:
    """A new epoch for every index (after a restore): every host's folder is void, and rebuilds."""
    return session.execute(
        update(SearchIndexState)
        .values(epoch=new_epoch())
        .execution_options(synchronize_session=False)
    ).rowcount


def keep_days() -> float:
    config = current_app.config if has_app_context() else {}
    return float(config.get("SEARCH_CHANGES_KEEP_DAYS", 7))


# -- applying it on this host ------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    index: str
    action: str  # "current", "applied", "rebuilt"; "skipped" (checked recently), "busy"
    version: int | None = None  # the database version the index now holds
    keys: int = 0  # document keys re-read ("applied")
    documents: int = 0  # documents written


class _Throttle:
    """When this process last checked each index (per app: tests build many apps)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.clock: Callable[[], float] = time.monotonic
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, name: str) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get(name)
            if last is not None and now - last < self.interval:
                return False
            self._last[name] = now
            return True


def _throttle(app: Flask) -> _Throttle:
    throttle = app.extensions.get(_EXTENSION)
    if throttle is None:
        interval = float(app.config.get("SEARCH_SYNC_SECONDS", 0.5))
        throttle = app.extensions.setdefault(_EXTENSION, _Throttle(interval))
    return throttle


def synced_index(name: str, app: Flask | None = None) -> SearchIndex:
    """Index `name` for searching, brought up to date with the database if it is time to check.

    A failure to update is logged and the index serves what it holds (it is derived data)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        sync(name, app)
    except Exception:
        log.exception("search index %r not brought up to date; serving what it holds", name)
    return get_index(name, app)


def sync(
    name: str, app: Flask | None = None, *, force: bool = False, progress: bool | None = False
) -> SyncResult:
    """Bring this host's index `name` up to date with the database (see the module docstring).

    Without `force`, only if SEARCH_SYNC_SECONDS passed since this process last checked, and
    waiting at most SEARCH_SYNC_WAIT for another updater of the same folder."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not force and not _throttle(app).due(name):
        return SyncResult(name, "skipped")
    index = get_index(name, app)
    wait = float(app.config.get("SEARCH_LOCK_TIMEOUT" if force else "SEARCH_SYNC_WAIT", 2.0))
    with index.sync_lock(wait) as taken:
        if not taken:
            log.info("search index %r: another process is updating it; not waiting", name)
            return SyncResult(name, "busy")
        with _reading_session() as session:
            source = registered_indexes(app)[name]
            return _bring_up_to_date(session, index, source, progress)


def sync_all(app: Flask, *, progress: bool | None = False) -> list[SyncResult]:
    """Every registered index brought up to date (warm-up, `flask search reindex --if-missing`)."""
    return [sync(name, app, force=True, progress=progress) for name in registered_indexes(app)]


@contextmanager
def _reading_session() -> Iterator[Session]:
    """A session of its own, so the caller's uncommitted changes never reach the index.

    An in-memory SQLite database (tests) has a single connection shared by every session:
    a second session there would end the caller's transaction, so its session is used."""
    if isinstance(db.engine.pool, StaticPool):
        yield db.session()
        return
    with Session(db.engine) as session:
        yield session


def _bring_up_to_date(
    session: Session, index: SearchIndex, source: RegisteredIndex, progress: bool | None
) -> SyncResult:
    name = source.spec.name
    state = session.execute(
        select(
            SearchIndexState.version, SearchIndexState.epoch, SearchIndexState.pruned_through
        ).where(SearchIndexState.index_name == name)
    ).one_or_none()
    version, epoch, pruned = state if state is not None else (0, "", 0)
    target = {"epoch": epoch, "version": version}
    mark = index.read_mark()
    applied = _applied(mark, epoch)
    if applied is None or applied > version or applied < pruned:
        return _rebuild(session, index, source, target, progress)
    if applied == version:
        return SyncResult(name, "current", version)
    changes = session.execute(
        select(SearchIndexChange.doc_key, SearchIndexChange.op).where(
            SearchIndexChange.index_name == name,
            SearchIndexChange.version > applied,
            SearchIndexChange.version <= version,
        )
    ).all()
    if source.changed is None or any(op == REBUILD for _, op in changes):
        return _rebuild(session, index, source, target, progress)
    keys = list(dict.fromkeys(key for key, _ in changes))
    docs: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        part = keys[start : start + _IN_CHUNK]
        docs.update({str(k): list(v) for k, v in source.changed(session, part).items()})
    key_field = source.key_field or source.spec.id_field
    written = index.replace(key_field, {k: docs.get(k, []) for k in keys}, mark=target)
    log.info(
        "search index %r: versions %d-%d applied (%d keys)", name, applied + 1, version, len(keys)
    )
    return SyncResult(name, "applied", version, len(keys), written)


def _applied(mark: dict[str, Any] | None, epoch: str) -> int | None:
    """The version the folder holds, if its mark belongs to this database's epoch."""
    if not mark or mark.get("epoch") != epoch:
        return None
    try:
        return int(mark["version"])
    except (KeyError, TypeError, ValueError):
        return None


def _rebuild(
    session: Session,
    index: SearchIndex,
    source: RegisteredIndex,
    target: dict[str, Any],
    progress: bool | None,
) -> SyncResult:
    total = source.count(session) if source.count else None
    count = index.rebuild(source.documents(session), total=total, progress=progress, mark=target)
    return SyncResult(source.spec.name, "rebuilt", target["version"], documents=count)


def state(session: Session, name: str) -> tuple[int, str]:
    """The database's (version, epoch) of index `name` ((0, "") before its first change)."""
    row = session.execute(
        select(SearchIndexState.version, SearchIndexState.epoch).where(
            SearchIndexState.index_name == name
        )
    ).one_or_none()
    return (row.version, row.epoch) if row is not None else (0, "")


# -- after a commit ----------------------------------------------------------------------------


def _apply_after_commit(session: Session) -> None:
    """The process that committed a change applies it to its host's folder at once."""
    if session.in_nested_transaction():
        return
    names = session.info.pop(_RECORDED, None)
    if not names or not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for name in sorted(names):
        try:
            sync(name, app, force=True)
        except Exception:  # derived data: the next search on this host tries again
            log.exception("search index %r not updated after a commit", name)


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_RECORDED, None)


def connect_listeners() -> None:
    """Attach the session handlers (the core's `init_app` calls this)."""
    listen("after_commit", _apply_after_commit)
    listen("after_transaction_end", _forget)
