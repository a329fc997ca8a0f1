"""The audit log's hash chain: each row sealed to the one before it, so an edit shows.

MLPS 2.0 level 3 (GB/T 22239-2019, 安全审计) asks that audit records be protected against
deletion, modification and forgery. Every `audit_log` row is *sealed* once: it gets the next
chain position (`seal_seq`), the previous row's hash (`prev_hash`) and its own hash
(`row_hash`) = SHA-256 over a canonical JSON of its fields, its position and `prev_hash`; with
AUDIT_HMAC_KEY set (a secret kept outside the database), an HMAC-SHA256 under that key instead,
so someone who can write the database cannot recompute a valid chain either.

Sealing happens *after* insertion, in id order, in a short step under a lock:
- every session commit that wrote audit rows seals them just before it commits (`_seal_on_commit`;
  at most AUDIT_SEAL_MAX_ON_COMMIT rows, a larger batch adds an `audit.seal` job for the rest):
  on PostgreSQL under a transaction-level advisory lock, on SQLite under the database's single
  write lock (the transaction already holds it). The chain position, not the id, orders the
  chain, so a transaction that got lower ids but commits later is sealed after, never forked;
  the unique `seal_seq` makes a second sealer fail rather than fork;
- rows written outside a session commit (raw SQL, another process's bulk insert) are sealed by
  the next commit that seals, by the `audit.seal` job (AUDIT_SEAL_CRON, hourly) or `flask audit
  seal`. The bound on unsealed rows: rows of an in-flight transaction, plus rows written outside
  the ORM for at most one AUDIT_SEAL_CRON period. `verify` reports how many there are.

`verify` walks the chain in position order and names the first row that was edited (its hash no
longer matches), deleted (a position is missing) or inserted (its `prev_hash` does not follow the
row before); it also checks the head recorded by the last good verification is still there, so
rows cut off the end are found. Each run is kept in `audit_verification` (the auditor's page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Row, String, Text, bindparam, func, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import db, utcnow
from .audit import UNSEALED, AuditLog

GENESIS = "0" * 64  # the prev_hash of the first row
SEAL_LOCK_KEY = 0x61756469  # "audi": the PostgreSQL advisory lock that orders sealers
SEAL_BATCH = 2000
SEAL_TASK = "audit.seal"
# The fields a seal covers, in the canonical serialisation (with the position and prev_hash).
SEALED_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "entity_type",
    "entity_id",
    "subject_type",
    "subject_id",
    "action",
    "changes",
    "note",
)
Progress = Callable[[int, int], None]


class AuditVerification(db.Model):
    """One run of `verify`: when, by whom, the result and the chain head it saw."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_name: Mapped[str] = mapped_column(String(128), default="system")
    ok: Mapped[bool]
    checked: Mapped[int] = mapped_column(Integer, default=0)
    unsealed: Mapped[int] = mapped_column(Integer, default=0)
    head_seq: Mapped[int | None] = mapped_column(Integer)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    problem_row_id: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(Text)


# -- keys ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """The HMAC key that seals new rows (None: plain SHA-256) and every key that may check one."""

    current: str | None = None
    by_id: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> Keys:
        secrets = [config.get("AUDIT_HMAC_KEY"), *(config.get("AUDIT_HMAC_OLD_KEYS") or ())]
        by_id = {key_id(str(s)): str(s).encode() for s in secrets if s}
        current = config.get("AUDIT_HMAC_KEY")
        return cls(current=key_id(str(current)) if current else None, by_id=by_id)


def key_id(secret: str) -> str:
    """A short name of a key that reveals nothing of it (stored beside each row it sealed)."""
    return hashlib.sha256(b"audit-key-id:" + secret.encode()).hexdigest()[:12]


def _app_keys() -> Keys:
    from flask import current_app, has_app_context

    return Keys.from_config(current_app.config) if has_app_context() else Keys()


# -- the seal --------------------------------------------------------------------------------------


def canonical(row: Any, seq: int, prev: str) -> bytes:
    """The bytes a seal covers: the row's fields, its position and the previous hash."""
    if isinstance(row, Row):  # the sealer's and verifier's rows start with SEALED_FIELDS
        values = dict(zip(SEALED_FIELDS, tuple(row), strict=False))
    else:
        values = {name: getattr(row, name) for name in SEALED_FIELDS}
    at = values["at"]
    values["at"] = at.isoformat() if isinstance(at, dt.datetime) else at
    values.update(seq=seq, prev=prev)
    return json.dumps(
        values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode()


def digest(row: Any, seq: int, prev: str, key: bytes | None) -> str:
    payload = canonical(row, seq, prev)
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _columns() -> list[Any]:
    t = AuditLog.__table__
    names = (*SEALED_FIELDS, "seal_seq", "prev_hash", "row_hash", "key_id")
    return [t.c[name] for name in names]


def _lock(session: Session) -> None:
    """Be the only sealer until this transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY})
    else:
        # SQLite has one writer: take the write lock now (a no-op write), before reading the head,
        # so no other sealer can read the same head (a transaction that wrote holds it already).
        session.execute(update(AuditLog.__table__).where(text("0 = 1")).values(seal_seq=None))


def head(session: Session) -> tuple[int, str]:
    """(position, hash) of the last sealed row; (0, GENESIS) for an empty chain."""
    t = AuditLog.__table__
    row = session.execute(
        select(t.c.seal_seq, t.c.row_hash)
        .where(t.c.seal_seq.is_not(None))
        .order_by(t.c.seal_seq.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def unsealed_count(session: Session) -> int:
    t = AuditLog.__table__
    return session.scalar(select(func.count()).select_from(t).where(t.c.seal_seq.is_(None))) or 0


def seal(
    session: Session,
    keys: Keys | None = None,
    batch: int = SEAL_BATCH,
    limit: int | None = None,
) -> int:
    """Seal the unsealed rows (at most `limit`), in id order, onto the chain; returns how many.

    Flushes only: the caller's commit makes the seals and the lock's end one.
    """
    keys = keys if keys is not None else _app_keys()
    key = keys.by_id.get(keys.current) if keys.current else None
    t = AuditLog.__table__
    _lock(session)
    seq, prev = head(session)
    sealed = 0
    while limit is None or sealed < limit:
        size = batch if limit is None else min(batch, limit - sealed)
        rows = session.execute(
            select(*_columns()).where(t.c.seal_seq.is_(None)).order_by(t.c.id).limit(size)
        ).all()
        if not rows:
            return sealed
        updates = []
        for row in rows:
            seq += 1
            row_hash = digest(row, seq, prev, key)
            updates.append(
                {"_id": row.id, "_seq": seq, "_prev": prev, "_hash": row_hash, "_key": keys.current}
            )
            prev = row_hash
        session.connection().execute(
            update(t)
            .where(t.c.id == bindparam("_id"))
            .values(
                seal_seq=bindparam("_seq"),
                prev_hash=bindparam("_prev"),
                row_hash=bindparam("_hash"),
                key_id=bindparam("_key"),
            ),
            updates,
        )
        sealed += len(rows)
    return sealed


# -- sealing at commit -----------------------------------------------------------------------------


def mark_unsealed(session: Session) -> None:
    """Tell the commit that this transaction wrote audit rows (bulk inserts call it too)."""
    session.info[UNSEALED] = True


def _note_bulk_insert(state: Any) -> None:
    """A Core `insert(AuditLog)` run through the session is sealed at commit like ORM rows."""
    table = getattr(state.statement, "table", None)
    if state.is_insert and getattr(table, "name", None) == AuditLog.__tablename__:
        mark_unsealed(state.session)


def _seal_on_commit(session: Session) -> None:
    for _ in range(5):  # audit rows are added after a flush, so flush until nothing is left
        if not (session.new or session.dirty or session.deleted):
            break
        session.flush()
    if not session.info.pop(UNSEALED, False):
        return
    from flask import current_app, has_app_context

    config = current_app.config if has_app_context() else {}
    if not config.get("AUDIT_SEAL_ON_COMMIT", True):
        return
    # A commit seals a bounded number of rows, so a large import does not hold the write lock
    # for long; a job seals the rest in short transactions right after.
    limit = int(config.get("AUDIT_SEAL_MAX_ON_COMMIT") or SEAL_BATCH)
    if seal(session, limit=limit) >= limit and has_app_context():
        from .jobs.queue import enqueue

        enqueue(session, SEAL_TASK, {}, title="audit.seal")
        session.flush()


def _forget(session: Session) -> None:
    session.info.pop(UNSEALED, None)


def connect() -> None:
    from .features import listen

    listen("before_commit", _seal_on_commit)
    listen("after_rollback", _forget)
    listen("do_orm_execute", _note_bulk_insert)


# -- verification ----------------------------------------------------------------------------------


@dataclass
class Report:
    ok: bool = True
    checked: int = 0
    unsealed: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problem_row_id: int | None = None
    problem: str | None = None

    def fail(self, row_id: int | None, problem: str) -> Report:
        self.ok, self.problem_row_id, self.problem = False, row_id, problem
        return self


def _sealed_rows(session: Session, batch: int) -> Iterator[Any]:
    t = AuditLog.__table__
    last = 0
    while True:
        rows = session.execute(
            select(*_columns()).where(t.c.seal_seq > last).order_by(t.c.seal_seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seal_seq


def verify(
    session: Session,
    keys: Keys | None = None,
    progress: Progress | None = None,
    batch: int = SEAL_BATCH,
) -> Report:
    """Walk the chain from its first position; stop at the first edited, deleted or inserted row."""
    keys = keys if keys is not None else _app_keys()
    t = AuditLog.__table__
    total = session.scalar(select(func.count()).select_from(t).where(t.c.seal_seq.is_not(None)))
    report = Report(unsealed=unsealed_count(session))
    expected, prev, keyed = 1, GENESIS, False
    for row in _sealed_rows(session, batch):
        problem = _check(row, expected, prev, keys, keyed)
        if problem:
            return report.fail(row.id, problem)
        keyed = keyed or row.key_id is not None
        report.checked += 1
        report.head_seq, report.head_hash = row.seal_seq, row.row_hash
        expected, prev = row.seal_seq + 1, row.row_hash
        if progress and (report.checked % 1000 == 0 or report.checked == total):
            progress(report.checked, total or 0)
    return _check_anchor(session, report)


def _check(row: Any, expected: int, prev: str, keys: Keys, keyed: bool) -> str | None:
    if row.seal_seq != expected:
        return (
            f"deleted: chain position(s) {expected}–{row.seal_seq - 1} are missing before "
            f"row #{row.id}"
        )
    if row.prev_hash != prev:
        return (
            f"inserted or replaced: row #{row.id} (position {row.seal_seq}) does not follow "
            "the row before it in the chain (its prev_hash differs)"
        )
    if row.key_id is None and keyed:
        return f"forged: row #{row.id} is sealed without a key after keyed rows"
    if row.key_id is not None and row.key_id not in keys.by_id:
        return (
            f"cannot check row #{row.id}: it was sealed with key {row.key_id}, which is not "
            "configured (AUDIT_HMAC_KEY / AUDIT_HMAC_OLD_KEYS)"
        )
    key = keys.by_id.get(row.key_id) if row.key_id else None
    if not hmac.compare_digest(digest(row, row.seal_seq, prev, key), row.row_hash or ""):
        return f"edited: row #{row.id} (position {row.seal_seq}) no longer matches its seal"
    return None


def _check_anchor(session: Session, report: Report) -> Report:
    """The head the last good verification saw must still be in the chain, unchanged."""
    anchor = session.scalars(
        select(AuditVerification)
        .where(AuditVerification.ok.is_(True), AuditVerification.head_seq.is_not(None))
        .order_by(AuditVerification.id.desc())
        .limit(1)
    ).first()
    if anchor is None or not anchor.head_seq:
        return report
    if anchor.head_seq > report.head_seq:
        return report.fail(
            None,
            f"deleted: the chain ends at position {report.head_seq}, but the verification of "
            f"{anchor.at:%Y-%m-%d %H:%M} saw it reach position {anchor.head_seq}",
        )
    t = AuditLog.__table__
    seen = session.scalar(select(t.c.row_hash).where(t.c.seal_seq == anchor.head_seq))
    if seen != anchor.head_hash:
        return report.fail(
            None, f"replaced: the chain was rebuilt from position {anchor.head_seq} or earlier"
        )
    return report


def record_verification(session: Session, report: Report, actor_name: str) -> AuditVerification:
    row = AuditVerification(
        actor_name=actor_name,
        ok=report.ok,
        checked=report.checked,
        unsealed=report.unsealed,
        head_seq=report.head_seq if report.ok else None,
        head_hash=report.head_hash if report.ok else None,
        problem_row_id=report.problem_row_id,
        problem=report.problem,
    )
    session.add(row)
    session.flush()
    return row


def last_verification(session: Session) -> AuditVerification | None:
    return session.scalars(
        select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
    ).first()
