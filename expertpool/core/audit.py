"""Audit log: every change to an audited row is recorded with who, when, old and new values.

Models opt in with `__audited__ = True` (and may name columns not worth a row, such as a
last sign-in time, in `__audit_skip__`); a model whose rows belong to a larger record (an expert's
degrees belong to the expert's technical file) says so through an `audit_subject` property,
`(subject type, subject id)`, so that record's history finds them. The core knows no subject
types: the features name theirs (experts: `"expert"`). Changes are captured from the ORM's attribute history at flush time,
so no operation can forget to log. A secret column (`*_hash`) is never copied: its change is
recorded as `{"password": [None, "changed"]}` (the column name without `_hash`); encrypted columns
(ID numbers, phones: `core.pii`) are logged masked. The acting user comes from `set_actor`, called by the request
handling (the signed-in user) and by CLI commands (the user they act as).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    and_,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import db, utcnow
from . import pii
from .features import listen
from .requests import whole_number

_PENDING = "_audit_pending"
UNSEALED = "_audit_unsealed"  # session.info flag: this transaction wrote audit rows (audit_chain)
_SKIPPED_FIELDS = {"version", "updated_at", "file_updated_at"}


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(128), default="system")
    entity_type: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[int | None] = mapped_column(Integer)
    # The record whose history this change belongs to (`audit_subject`), e.g. ("expert", 12).
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    # The hash chain (core/audit_chain.py): set once, when the row is sealed after insertion.
    seal_seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    @classmethod
    def of_subject(cls, subject_type: str, *ids: int) -> ColumnElement[bool]:
        """Filter: the changes in the history of these subjects."""
        return and_(cls.subject_type == subject_type, cls.subject_id.in_(ids))


def set_actor(session: Session, actor: Any | None, note: str | None = None) -> None:
    """Name the user (or None for the system) responsible for the next flushes of `session`."""
    session.info["audit_actor"] = (getattr(actor, "id", None), _actor_label(actor))
    session.info["audit_note"] = note


def set_note(session: Session, note: str | None) -> None:
    """Attach a reason to the changes flushed next (e.g. a suspension reason)."""
    session.info["audit_note"] = note


def record(
    session: Session,
    entity_type: str,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    note: str | None = None,
    *,
    entity_id: int | None = None,
) -> AuditLog:
    """Log an event the flush cannot see, by the actor of `set_actor`.

    A backup or a restore changes no audited row; a bulk `UPDATE` (a submission's status step)
    changes one without the ORM's attribute history, so its caller names the row.
    """
    actor_id, actor_name = session.info.get("audit_actor", (None, "system"))
    row = AuditLog(
        actor_id=actor_id,
        actor_name=actor_name,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        changes=_jsonable(changes or {}),
        note=note if note is not None else session.info.get("audit_note"),
    )
    session.add(row)
    session.flush()
    session.info[UNSEALED] = True
    return row


EXPORT_ENTITY = "export"  # AuditLog.entity_type of an export of personal data
EXPORT_ACTION = "export"


def record_export(
    session: Session,
    what: str,
    rows: int | None,
    *,
    fmt: str | None = None,
    subject: tuple[str, int] | None = None,
    full_personal: bool = False,
    actor: Any | None = None,
) -> AuditLog:
    """Log an export of personal data: who, what (an export's name), how many rows, the format.

    Every path that hands personal data out in bulk calls this (the expert list's XLSX/CSV,
    transcripts, the training report, the assignments CSV, the JSON API, a person's own data,
    an export job's download). `subject` names the one person it is about, if so;
    `full_personal` says ID numbers and phones were included unmasked. `actor` defaults to the
    session's (`set_actor`)."""
    actor_id, actor_name = (
        (getattr(actor, "id", None), _actor_label(actor))
        if actor is not None
        else session.info.get("audit_actor", (None, "system"))
    )
    changes: dict[str, Any] = {"what": what, "rows": rows}
    if fmt:
        changes["format"] = fmt
    if full_personal:
        changes["full_personal"] = True
    row = AuditLog(
        actor_id=actor_id,
        actor_name=actor_name,
        entity_type=EXPORT_ENTITY,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        action=EXPORT_ACTION,
        changes=changes,
    )
    session.add(row)
    session.flush()
    return row


def is_audited(obj: Any) -> bool:
    """Whether changes to `obj` are logged (its model says `__audited__ = True`)."""
    return _audited(obj)


def created_changes(values: dict[str, Any], mapper: Any) -> dict[str, list[Any]]:
    """The changes a "create" row records for a new object's values by attribute: the rule of
    the flush handlers (`_column_changes`), encrypted columns masked, no hash at all."""
    skipped = _SKIPPED_FIELDS | set(getattr(mapper.class_, "__audit_skip__", ()))
    changes = {}
    for key, value in values.items():
        if value is None or key in skipped or key.endswith("_hash"):
            continue
        if pii.is_encrypted(mapper.column_attrs[key].columns[0]):
            value = pii.mask(value) or None
        changes[key] = [None, _jsonable(value)]
    return changes


def created_rows(
    session: Session, created: Sequence[tuple[Any, dict[str, list[Any]]]]
) -> list[dict[str, Any]]:
    """The "create" rows of objects inserted without a flush (`core.bulk`), as plain rows of the
    audit log: the rows the flush handlers would have written. `created` pairs each object (its
    ids set) with its `created_changes`."""
    actor_id, actor_name = session.info.get("audit_actor", (None, "system"))
    note = session.info.get("audit_note")
    now = utcnow()
    rows = []
    for obj, changes in created:
        subject_type, subject_id = getattr(obj, "audit_subject", None) or (None, None)
        rows.append(
            {
                "at": now,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "entity_type": type(obj).__name__,
                "entity_id": obj.id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "action": "create",
                "changes": changes,
                "note": note,
            }
        )
    return rows


def _actor_label(actor: Any | None) -> str:
    if actor is None:
        return "system"
    return getattr(actor, "username", None) or str(actor)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


SECRET_CHANGED = "changed"


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    """{field: [old, new]} for the mapped columns that changed (all of them for create/delete)."""
    state = inspect(obj)
    skipped = _SKIPPED_FIELDS | set(getattr(type(obj), "__audit_skip__", ()))
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in skipped:
            continue
        hist = state.attrs[key].history
        if key.endswith("_hash"):
            # Never the hash itself, only the fact (a password change, an admin's reset); a blind
            # index beside its own column (`id_number_hash`) says nothing that column does not.
            if key.removesuffix("_hash") in state.mapper.column_attrs:
                continue
            if action == "update" and hist.has_changes():
                changes[key.removesuffix("_hash")] = [None, SECRET_CHANGED]
            continue
        if action == "update":
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
        elif action == "create":
            old, new = None, getattr(obj, key)
        else:
            old, new = getattr(obj, key), None
        if old != new:
            if pii.is_encrypted(attr.columns[0]):  # the log never holds them in full
                old, new = pii.mask(old) or None, pii.mask(new) or None
            changes[key] = [_jsonable(old), _jsonable(new)]
    return changes


def _audited(obj: Any) -> bool:
    return getattr(type(obj), "__audited__", False)


def _collect(session: Session, flush_context: Any) -> None:
    pending = session.info.setdefault(_PENDING, [])
    groups = (("create", session.new), ("update", session.dirty), ("delete", session.deleted))
    for action, objects in groups:
        for obj in objects:
            if not _audited(obj):
                continue
            changes = _column_changes(obj, action)
            if action == "update" and not changes:
                continue
            subject = getattr(obj, "audit_subject", None) or (None, None)
            pending.append((type(obj).__name__, _identity(obj), *subject, action, changes))


def _identity(obj: Any) -> int | None:
    identity = inspect(obj).identity
    return identity[0] if identity else getattr(obj, "id", None)


def _write(session: Session, flush_context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    actor_id, actor_name = session.info.get("audit_actor", (None, "system"))
    note = session.info.get("audit_note")
    session.info[UNSEALED] = True
    for entity_type, entity_id, subject_type, subject_id, action, changes in pending:
        session.add(
            AuditLog(
                actor_id=actor_id,
                actor_name=actor_name,
                entity_type=entity_type,
                entity_id=entity_id,
                subject_type=subject_type,
                subject_id=subject_id,
                action=action,
                changes=changes,
                note=note,
            )
        )


def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)


def connect() -> None:
    """Attach the session handlers (the app factory's core `init_app` calls this)."""
    listen("after_flush", _collect)
    listen("after_flush_postexec", _write)
    listen("after_rollback", _discard)


# --- reading the log: what the auditor's page and the business change history share -----------


def date_arg(text: str) -> dt.date | None:
    """A date from a filter form (ISO), else None."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def id_arg(text: str) -> int | None:
    """An id from a filter form ("12" or "#12"); ASCII digits within the database's range only
    ("²".isdigit() is true: found by tests/fuzz)."""
    return whole_number(text.strip().lstrip("#"))


def in_period(stmt: Select[Any], date_from: dt.date | None, date_to: dt.date | None) -> Select[Any]:
    """Rows logged from the start of `date_from` to the end of `date_to` (each optional);
    9999-12-31 is no upper bound (the day after it does not exist)."""
    if date_from:
        stmt = stmt.where(AuditLog.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to and date_to < dt.date.max:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)
        stmt = stmt.where(AuditLog.at < end)
    return stmt


def filter_args(values: dict[str, Any]) -> dict[str, str]:
    """A filter as URL arguments (kept in pagination links): ids and dates as text, empty ones
    left out."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dt.date):
            value = value.isoformat()
        if value is not None and value != "":
            out[key] = str(value)
    return out
