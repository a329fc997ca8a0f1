"""Keeps the experts' embeddings and keyword documents current as their files change.

Session events (the pattern of miguelgrinberg/microblog app/search.py): after each flush we
note which experts' files changed; before the commit their texts are re-embedded in the same
transaction (the vector store only flushes); after the commit succeeds their keyword documents
are rewritten (Whoosh is outside the transaction, so a rolled-back change never reaches it).
Bulk loaders set `session.info["skip_matching_sync"]` and rebuild afterwards
(`flask embeddings rebuild`, `flask search reindex`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from ..core.embeddings.providers import TextRecord, register_text_provider
from ..core.embeddings.store import VectorStore, get_store
from ..core.search import IndexSpec, SearchIndex
from ..core.search.app import SKIP_SYNC as SKIP  # one flag: bulk loads skip every index
from ..db import db
from ..experts.models import Expert
from .texts import EXPERT_INDEX, KEYWORD_FIELDS, SOURCE, ExpertTexts, keyword_document, text_items

log = logging.getLogger(__name__)

EXPERT_SPEC = IndexSpec(EXPERT_INDEX, KEYWORD_FIELDS, filter_fields=("status", "category"))
_DIRTY = "matching_dirty_experts"
_TO_INDEX = "matching_keyword_pending"


def expert_keyword_index() -> SearchIndex:
    from ..core.search.app import get_index_manager

    return get_index_manager().index(EXPERT_SPEC)


def _load(session: Session, ids: Iterable[int]) -> list[Expert]:
    stmt = (
        select(Expert)
        .where(Expert.id.in_(list(ids)))
        .options(
            selectinload(Expert.publications),
            selectinload(Expert.developed_rms),
            selectinload(Expert.past_reviews),
        )
    )
    return list(session.scalars(stmt))


def embed_experts(session: Session, ids: Iterable[int]) -> tuple[list[dict[str, Any]], set[int]]:
    """Re-embed these experts' texts (only changed texts reach the model).

    Returns their keyword documents and the ids that no longer exist, computed now because
    the keyword index is written after the commit, when the session may not query any more.
    """
    ids = set(ids)
    # Write through the committing session (it may not be db.session), else the two
    # connections would wait on each other's SQLite lock.
    shared = get_store()
    store = VectorStore(shared.encoder, session=session, fairness=shared.fairness)
    found = _load(session, ids)
    docs = []
    for expert in found:
        texts = ExpertTexts.from_model(expert)
        store.upsert(EXPERT_INDEX, text_items(texts), replace_sources=True)
        docs.append(keyword_document(texts, str(expert.status)))
    gone = ids - {e.id for e in found}
    for expert_id in gone:
        store.delete(EXPERT_INDEX, SOURCE, expert_id)
    return docs, gone


def write_keyword_documents(docs: list[dict[str, Any]], gone: set[int]) -> None:
    index = expert_keyword_index()
    if docs:
        index.update(docs)
    if gone:
        index.delete(gone)


def expert_text_records() -> Iterator[TextRecord]:
    """Every expert's texts, for `flask embeddings rebuild`."""
    stmt = (
        select(Expert)
        .order_by(Expert.id)
        .options(
            selectinload(Expert.publications),
            selectinload(Expert.developed_rms),
            selectinload(Expert.past_reviews),
            selectinload(Expert.categories),
            selectinload(Expert.specialties),
        )
    )
    for expert in db.session.scalars(stmt):
        for item in text_items(ExpertTexts.from_model(expert)):
            yield TextRecord(
                EXPERT_INDEX, item.source_type, item.source_id, item.chunk, item.text, item.lang
            )


def expert_documents() -> Iterator[dict[str, Any]]:
    """Every expert's keyword document, for `flask search reindex`."""
    stmt = (
        select(Expert)
        .order_by(Expert.id)
        .options(
            selectinload(Expert.publications),
            selectinload(Expert.developed_rms),
            selectinload(Expert.past_reviews),
        )
    )
    for expert in db.session.scalars(stmt):
        yield keyword_document(ExpertTexts.from_model(expert), str(expert.status))


def expert_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Expert)) or 0


def init_app(app: Any) -> None:
    """Register the experts' texts with the embeddings rebuild and the keyword reindex."""
    from ..core.search.app import register_keyword_index

    register_text_provider("experts", expert_text_records, indexes=(EXPERT_INDEX,))
    register_keyword_index(EXPERT_SPEC, expert_documents, expert_count)


# --- session events -----------------------------------------------------------------------


def _expert_of(obj: Any) -> int | None:
    if isinstance(obj, Expert):
        return obj.id
    module = type(obj).__module__
    if module.startswith("expertpool.experts.models") and hasattr(obj, "audit_expert_id"):
        return obj.audit_expert_id
    return None


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, flush_context: Any) -> None:
    if session.info.get(SKIP):
        return
    dirty = session.info.setdefault(_DIRTY, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        expert_id = _expert_of(obj)
        if expert_id is not None:
            dirty.add(expert_id)


@event.listens_for(Session, "before_commit")
def _embed_before_commit(session: Session) -> None:
    # A savepoint's release fires this too: wait for the real commit.
    if session.info.get(SKIP) or not has_app_context() or session.in_nested_transaction():
        return
    session.flush()  # changes still pending are noted by the flush event
    dirty = session.info.pop(_DIRTY, set())
    if not dirty:
        return
    docs, gone = embed_experts(session, dirty)
    pending = session.info.setdefault(_TO_INDEX, ({}, set()))
    pending[0].update({d["id"]: d for d in docs})
    pending[1].update(gone)


@event.listens_for(Session, "after_commit")
def _index_after_commit(session: Session) -> None:
    pending = session.info.pop(_TO_INDEX, None)
    if not pending or not has_app_context():
        return
    docs, gone = pending
    try:
        write_keyword_documents(list(docs.values()), gone)
    except Exception:  # the index is derived data: `flask search reindex` repairs it
        log.exception("keyword index of experts %r not updated", sorted(docs) + sorted(gone))
        current_app.logger.warning("run `flask search reindex --index experts`")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY, None)
    session.info.pop(_TO_INDEX, None)
