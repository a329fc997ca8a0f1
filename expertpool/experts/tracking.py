"""Which experts' technical files a transaction changed: `signals.expert_files_changed`.

The experts feature knows which rows make up a file (the expert and the parts in its models
that name an expert as their audit subject); features above it (matching keeps the experts'
vectors and keyword index) react to the event without reading the flushes themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..core import signals
from ..core.features import listen
from .constants import EXPERT_SUBJECT
from .models import Expert

_CHANGED = "experts_changed_files"  # session.info: ids of experts whose file a flush changed
_MODELS = f"{__package__}.models"


def expert_of(obj: Any) -> int | None:
    """The expert whose file `obj` is part of, for this feature's own models only."""
    if isinstance(obj, Expert):
        return obj.id
    if not type(obj).__module__.startswith(_MODELS) or not getattr(obj, "__file_part__", True):
        return None
    subject = getattr(obj, "audit_subject", None)
    return subject[1] if subject and subject[0] == EXPERT_SUBJECT else None


def _note_changes(session: Session, flush_context: Any) -> None:
    changed = session.info.setdefault(_CHANGED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        expert_id = expert_of(obj)
        if expert_id is not None:
            changed.add(expert_id)


def _note_inserted(session: Session, *, objects: list[Any], **_kw: Any) -> None:
    """Rows written by `core.bulk` (an import) without a flush: noted as a flush notes them."""
    changed = {expert_of(obj) for obj in objects} - {None}
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


def _announce_before_commit(session: Session) -> None:
    # A savepoint's release fires this too: wait for the real commit.
    if session.in_nested_transaction():
        return
    session.flush()  # changes still pending are noted by the flush event
    changed = session.info.pop(_CHANGED, set())
    if changed:
        signals.expert_files_changed.send(session, expert_ids=changed)


def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def connect() -> None:
    listen("after_flush", _note_changes)
    signals.rows_inserted.connect(_note_inserted)
    listen("before_commit", _announce_before_commit)
    listen("after_rollback", _forget)
