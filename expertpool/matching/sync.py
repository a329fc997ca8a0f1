"""Keeps the experts' embeddings and keyword documents current as their files change.

The experts feature announces, just before a commit, which experts' files the transaction changed
(`signals.expert_files_changed`); the request only adds an `matching.index_experts` job to that
transaction (`core.jobs`), so the click answers at once. The job re-embeds the experts' texts in
its own transaction and, after that commit, rewrites their keyword documents (Whoosh is outside
the transaction, so a rolled-back job never reaches it). A change is visible to search and
matching once a worker has run the job: within `JOBS_VISIBILITY_SECONDS` on an idle system
(README, "Background jobs"; tests/core/test_jobs.py).
Bulk loaders set `session.info["skip_matching_sync"]` and rebuild afterwards
(`flask embeddings rebuild`, `flask search reindex`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..core import signals
from ..core.embeddings.providers import TextRecord, register_text_provider
from ..core.embeddings.store import VectorStore, get_store
from ..core.features import listen
from ..core.jobs import JobContext, enqueue, ids_title, register_task
from ..core.search import IndexSpec, SearchIndex
from ..core.search.app import SKIP_SYNC as SKIP  # one flag: bulk loads skip every index
from ..core.search.app import register_keyword_index
from ..db import db
from ..experts.models import Expert
from .texts import EXPERT_INDEX, KEYWORD_FIELDS, SOURCE, ExpertTexts, keyword_document, text_items

log = logging.getLogger(__name__)

EXPERT_SPEC = IndexSpec(EXPERT_INDEX, KEYWORD_FIELDS, filter_fields=("status", "category"))
_TO_INDEX = "matching_keyword_pending"
INDEX_TASK = "matching.index_experts"


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


def init_app(app: Flask) -> None:
    """Register the experts' texts and keyword index; keep them in step with the experts' files."""
    register_task(app, INDEX_TASK, index_experts, label=_l("Update the experts' search index"))
    register_text_provider(app, "experts", expert_text_records, indexes=(EXPERT_INDEX,))
    register_keyword_index(app, EXPERT_SPEC, expert_documents, expert_count)
    signals.expert_files_changed.connect(on_expert_files_changed)
    listen("after_commit", _index_after_commit)
    listen("after_rollback", _forget)


# --- reacting to the experts' files -------------------------------------------------------------


def on_expert_files_changed(session: Session, *, expert_ids: set[int], **_kw: Any) -> None:
    """A job re-indexes the changed experts once the change is committed (the request only adds
    the job row, in its own transaction: no job without the change, no change without the job)."""
    if session.info.get(SKIP) or not has_app_context():
        return
    ids = sorted(expert_ids)
    enqueue(session, INDEX_TASK, {"expert_ids": ids}, title=ids_title(ids))


def index_experts(ctx: JobContext, expert_ids: list[int]) -> dict[str, int]:
    """The job: embed these experts now (in the job's transaction) and write their keyword
    documents after its commit (Whoosh is not transactional: a rolled-back job never reaches it).
    Idempotent: it indexes what the database holds when it runs."""
    docs, gone = embed_experts(ctx.session, expert_ids)
    pending = ctx.session.info.setdefault(_TO_INDEX, ({}, set()))
    pending[0].update({d["id"]: d for d in docs})
    pending[1].update(gone)
    ctx.progress(len(expert_ids), len(expert_ids))
    return {"indexed": len(docs), "removed": len(gone)}


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


def _forget(session: Session) -> None:
    session.info.pop(_TO_INDEX, None)
