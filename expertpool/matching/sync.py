"""Keeps the experts' embeddings and keyword documents current as their files change.

The experts feature announces, just before a commit, which experts' files the transaction changed
(`signals.expert_files_changed`); the request only adds an `matching.index_experts` job to that
transaction (`core.jobs`), so the click answers at once. The job re-embeds the experts' texts and
logs the changed experts in the keyword indexes' change log (`core.search.changes`), both in its
own transaction: a rolled-back job changes neither. Every app host's keyword index follows that
log, re-reading the experts' documents from the database (`changed_expert_documents`); the
vectors follow the store's version counter. A change is visible to search and matching once a
worker has run the job: within `VISIBILITY_SECONDS` on an idle system on the worker's host, and
SEARCH_SYNC_SECONDS later on the others (README, "Scaling out").
Bulk loaders set `session.info["skip_matching_sync"]` and rebuild afterwards
(`flask embeddings rebuild`, `flask search reindex`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..core import signals
from ..core.embeddings.providers import TextRecord, register_text_provider
from ..core.embeddings.store import VectorStore, get_store
from ..core.jobs import JobContext, enqueue, ids_title, register_task
from ..core.search import IndexSpec, SearchIndex
from ..core.search.app import SKIP_SYNC as SKIP  # one flag: bulk loads skip every index
from ..core.search.app import register_keyword_index
from ..core.search.changes import record_changes, synced_index
from ..db import db
from ..experts.models import Expert
from .texts import EXPERT_INDEX, KEYWORD_FIELDS, SOURCE, ExpertTexts, keyword_document, text_items

log = logging.getLogger(__name__)

EXPERT_SPEC = IndexSpec(EXPERT_INDEX, KEYWORD_FIELDS, filter_fields=("status", "category"))
INDEX_TASK = "matching.index_experts"
_IN_CHUNK = 500  # expert ids per query


def expert_keyword_index() -> SearchIndex:
    """The experts' keyword index of this host, brought up to date with the database."""
    return synced_index(EXPERT_INDEX)


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


def embed_experts(
    session: Session,
    ids: Iterable[int],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[set[int], set[int]]:
    """Re-embed these experts' texts (only changed texts reach the model).

    Every expert's texts go to the store in one batch, so all of them are encoded before the
    first row is written: on SQLite the job holds the database's write lock only while the
    vectors are stored, not while the model runs (an import of 300 experts adds one job).
    Returns the ids embedded and the ids that no longer exist.
    """
    ids = set(ids)
    # Write through the committing session (it may not be db.session), else the two
    # connections would wait on each other's SQLite lock.
    shared = get_store()
    store = VectorStore(shared.encoder, session=session, fairness=shared.fairness)
    found = _load(session, ids)
    items = [item for expert in found for item in text_items(ExpertTexts.from_model(expert))]
    store.upsert(EXPERT_INDEX, items, replace_sources=True, progress=progress)
    gone = ids - {e.id for e in found}
    for expert_id in gone:
        store.delete(EXPERT_INDEX, SOURCE, expert_id)
    return {e.id for e in found}, gone


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


def expert_documents(session: Session) -> Iterator[dict[str, Any]]:
    """Every expert's keyword document, for a rebuild of the index."""
    stmt = (
        select(Expert)
        .order_by(Expert.id)
        .options(
            selectinload(Expert.publications),
            selectinload(Expert.developed_rms),
            selectinload(Expert.past_reviews),
        )
    )
    for expert in session.scalars(stmt):
        yield keyword_document(ExpertTexts.from_model(expert), str(expert.status))


def changed_expert_documents(session: Session, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The keyword documents of the logged experts (those deleted since have none)."""
    ids = sorted({int(k) for k in keys})
    out: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        for expert in _load(session, ids[start : start + _IN_CHUNK]):
            texts = ExpertTexts.from_model(expert)
            out[str(expert.id)] = [keyword_document(texts, str(expert.status))]
    return out


def expert_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Expert)) or 0


def init_app(app: Flask) -> None:
    """Register the experts' texts and keyword index; keep them in step with the experts' files."""
    register_task(app, INDEX_TASK, index_experts, label=_l("Update the experts' search index"))
    register_text_provider(app, "experts", expert_text_records, indexes=(EXPERT_INDEX,))
    register_keyword_index(
        app, EXPERT_SPEC, expert_documents, expert_count, changed=changed_expert_documents
    )
    signals.expert_files_changed.connect(on_expert_files_changed)


# --- reacting to the experts' files -------------------------------------------------------------


def on_expert_files_changed(session: Session, *, expert_ids: set[int], **_kw: Any) -> None:
    """A job re-indexes the changed experts once the change is committed (the request only adds
    the job row, in its own transaction: no job without the change, no change without the job)."""
    if session.info.get(SKIP) or not has_app_context():
        return
    ids = sorted(expert_ids)
    enqueue(session, INDEX_TASK, {"expert_ids": ids}, title=ids_title(ids))


def index_experts(ctx: JobContext, expert_ids: list[int]) -> dict[str, int]:
    """The job: embed these experts and log them for every host's keyword index, in the job's
    transaction (this host applies the log right after the commit, the others at their next
    search). Idempotent: it indexes what the database holds when it runs."""
    found, gone = embed_experts(
        ctx.session, expert_ids, lambda done, total: ctx.progress(done, total, stage="embed")
    )
    record_changes(ctx.session, EXPERT_INDEX, upserted=sorted(found), deleted=sorted(gone))
    return {"indexed": len(found), "removed": len(gone)}
