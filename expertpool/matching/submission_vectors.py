"""A submission's query vector, embedded ahead: when it is saved, not when its candidates are shown.

Ranking a submission's candidates embeds its matching text (`submissions.text.matching_text`)
as a query, ~50 ms of the model per view. The vectors are kept in the database by exact text
and model (`core.embeddings.queries`), so every process and host reuses one; this module has
a job compute it once a transaction that created a submission, changed a field of its matching
text or added or removed an attachment commits (the job only adds a row to that transaction, as
`sync` does for the experts). An edit changes the text and so the key: the old vector is never
read for it. Bulk loads (`SKIP_SYNC`) leave it to `flask embeddings rebuild`, which embeds the
open submissions' texts (`open_submission_texts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

from flask import Flask, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from ..core import signals
from ..core.embeddings.queries import ensure_query_vectors, register_query_texts
from ..core.embeddings.store import get_store
from ..core.features import listen
from ..core.jobs import JobContext, enqueue, ids_title, register_task
from ..core.search.app import SKIP_SYNC as SKIP
from ..db import db
from ..submissions.constants import CLOSED
from ..submissions.models import Attachment, Submission
from ..submissions.text import matching_text

EMBED_TASK = "matching.embed_submissions"
_NOTED = "matching_submission_texts_noted"  # session.info: submissions whose text changed
_IN_CHUNK = 500
# The columns `matching_text` reads (its attachments are noted through Attachment rows).
TEXT_FIELDS = frozenset(
    {"title", "rm_name", "matrix", "analytes", "methods", "intended_use", "description"}
)


def init_app(app: Flask) -> None:
    register_task(app, EMBED_TASK, embed_submissions, label=_l("Embed submissions for matching"))
    register_query_texts(app, "submissions", open_submission_texts)
    listen("after_flush", _note_flush)
    signals.rows_inserted.connect(_note_inserted)
    listen("before_commit", _enqueue_before_commit)
    listen("after_transaction_end", _forget)


def _text_changed(obj: Submission) -> bool:
    state = inspect(obj)
    return any(state.attrs[key].history.has_changes() for key in TEXT_FIELDS)


def _note_flush(session: Session, _flush_context: Any) -> None:
    # After the flush, before its history is reset: new rows have their ids.
    noted = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Submission) and obj not in session.deleted:
            if obj in session.new or _text_changed(obj):
                noted.add(obj.id)
        elif isinstance(obj, Attachment) and obj.submission_id is not None:
            noted.add(obj.submission_id)
    if noted:
        session.info.setdefault(_NOTED, set()).update(noted)


def _note_inserted(session: Session, *, objects: list[Any], **_kw: Any) -> None:
    """Rows written by `core.bulk` (a submission import) pass no flush: noted here instead."""
    noted = {obj.id for obj in objects if isinstance(obj, Submission)}
    noted |= {o.submission_id for o in objects if isinstance(o, Attachment) and o.submission_id}
    if noted:
        session.info.setdefault(_NOTED, set()).update(noted)


def _enqueue_before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: wait for the real commit
        return
    session.flush()
    ids = sorted(session.info.pop(_NOTED, ()))
    if not ids or session.info.get(SKIP) or not has_app_context():
        return
    enqueue(session, EMBED_TASK, {"submission_ids": ids}, title=ids_title(ids))


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_NOTED, None)


def _texts(session: Session, ids: list[int] | None) -> Iterator[str]:
    stmt = select(Submission).options(selectinload(Submission.attachments)).order_by(Submission.id)
    if ids is None:
        stmt = stmt.where(Submission.status.not_in([str(s) for s in CLOSED]))
        yield from (matching_text(s) for s in session.scalars(stmt))
        return
    for start in range(0, len(ids), _IN_CHUNK):
        part = stmt.where(Submission.id.in_(ids[start : start + _IN_CHUNK]))
        yield from (matching_text(s) for s in session.scalars(part))


def open_submission_texts() -> Iterator[str]:
    """The matching texts of the submissions still open (for `flask embeddings rebuild`)."""
    return _texts(db.session, None)


def embed_submissions(ctx: JobContext, submission_ids: list[int]) -> dict[str, int]:
    """The job: store the query vectors of these submissions' current texts. Idempotent (a text
    already stored is not embedded again); a submission deleted since is skipped."""
    texts = list(_texts(ctx.session, sorted(submission_ids)))
    computed = ensure_query_vectors(ctx.session, get_store().encoder, texts)
    return {"submissions": len(texts), "embedded": computed}
