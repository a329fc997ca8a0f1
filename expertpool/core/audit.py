"""Audit log: every change to an audited row is recorded with who, when, old and new values.

Models opt in with `__audited__ = True`; a model whose rows belong to a larger record (an expert's
degrees belong to the expert's technical file) says so through an `audit_subject` property,
`(subject type, subject id)`, so that record's history finds them. The core knows no subject
types: the features name theirs (experts: `"expert"`). Changes are captured from the ORM's attribute history at flush time,
so no operation can forget to log. The acting user comes from `set_actor`, called by the request
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
    String,
    Text,
    and_,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import db, utcnow
from .features import listen

_PENDING = "_audit_pending"
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
) -> AuditLog:
    """Log an event that changes no audited row (a backup, a restore), by the actor of `set_actor`."""
    actor_id, actor_name = session.info.get("audit_actor", (None, "system"))
    row = AuditLog(
        actor_id=actor_id,
        actor_name=actor_name,
        entity_type=entity_type,
        action=action,
        changes=_jsonable(changes or {}),
        note=note if note is not None else session.info.get("audit_note"),
    )
    session.add(row)
    session.flush()
    return row


def is_audited(obj: Any) -> bool:
    """Whether changes to `obj` are logged (its model says `__audited__ = True`)."""
    return _audited(obj)


def created_changes(values: dict[str, Any]) -> dict[str, list[Any]]:
    """The changes a "create" row records for a new object's values by attribute."""
    return {
        key: [None, _jsonable(value)]
        for key, value in values.items()
        if value is not None and key not in _SKIPPED_FIELDS and not key.endswith("_hash")
    }


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


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    """{field: [old, new]} for the mapped columns that changed (all of them for create/delete)."""
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in _SKIPPED_FIELDS or key.endswith("_hash"):
            continue
        hist = state.attrs[key].history
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
