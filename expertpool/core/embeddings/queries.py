"""Query vectors kept in the database, by model and exact text: embedded once for every process.

A submission's candidates page embeds the submission's matching text (title, fields,
description, attachments' text) as a query: ~50 ms of one core with multilingual-e5-small, and
several times that on a busy server, on every view. The encoder's own `QueryCache` helps one
process only, and a server runs several (gunicorn workers, hosts), so most views of a submission
would embed it again. Here a vector is looked up by (model id, SHA-256 of the text) in table
``query_vector``: in this process's LRU first, then in the database, and only then computed and
stored (in the caller's transaction). The key is the text itself, so nothing ever needs
invalidating: an edited submission has another text and so another key, and another model
another model id (rows of other models are simply never read; `prune` drops them).

A background job (`matching.embed_submissions`) computes the vector when a submission is saved,
so an administrator's first view finds it already stored; `flask embeddings rebuild` computes
those of the texts features register with `register_query_texts` (after a bulk load, which
skips the jobs, or a model change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable

import numpy as np
from flask import Flask
from sqlalchemy import LargeBinary, String, delete, insert, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from ...db import db, utcnow
from ..features import registry
from .encoder import Encoder, QueryCache

_local = QueryCache(size=4096)  # (model id, text) -> vector, shared by this process's threads
_IN_CHUNK = 500


class QueryVector(db.Model):
    __tablename__ = "query_vector"

    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the text
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, native byte order
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def query_key(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def query_vector(session: Session, encoder: Encoder, text: str) -> np.ndarray:
    """The encoder's query vector of `text`: from this process, the database, or the model
    (then stored in the caller's transaction, which commits it with the rest of its work)."""
    text = text.strip()

    def stored_or_computed(_text: str) -> np.ndarray:
        found = _stored(session, encoder.model_id, [query_key(text)])
        if found:
            return next(iter(found.values()))
        vec = np.asarray(encoder.encode_query(text), dtype=np.float32)
        _store(session, encoder.model_id, {query_key(text): vec})
        return vec

    return _local.vector(encoder.model_id, text, stored_or_computed)


def ensure_query_vectors(session: Session, encoder: Encoder, texts: Iterable[str]) -> int:
    """Store the query vectors of these texts that the database lacks (one batch through the
    model); returns how many were computed."""
    by_key = {query_key(t): t.strip() for t in texts if t and t.strip()}
    known = set(_stored(session, encoder.model_id, list(by_key)))
    missing = [(k, t) for k, t in by_key.items() if k not in known]
    if not missing:
        return 0
    vectors = np.asarray(encoder.encode_query([t for _k, t in missing]), dtype=np.float32)
    _store(session, encoder.model_id, {k: v for (k, _t), v in zip(missing, vectors, strict=True)})
    return len(missing)


QueryTexts = Callable[[], Iterable[str]]


def register_query_texts(app: Flask, name: str, texts: QueryTexts) -> None:
    """`texts()` gives query texts worth embedding ahead (open submissions' matching texts)."""
    registry(app, "embeddings.query_texts")[name] = texts


def query_text_sources(app: Flask) -> dict[str, QueryTexts]:
    return dict(registry(app, "embeddings.query_texts"))


def rebuild(
    app: Flask, session: Session, encoder: Encoder, *, keep_other_models: bool = False
) -> tuple[int, int]:
    """Embed the registered query texts the database lacks and (unless `keep_other_models`)
    drop other models' vectors; returns (computed, deleted). The caller commits. Nothing to do
    when no feature registered query texts."""
    sources = query_text_sources(app)
    if not sources:
        return 0, 0
    computed = sum(ensure_query_vectors(session, encoder, texts()) for texts in sources.values())
    return computed, 0 if keep_other_models else prune(session, encoder.model_id)


def prune(session: Session, model_id: str) -> int:
    """Drop the vectors of other models (after a model change: nothing reads them)."""
    return session.execute(delete(QueryVector).where(QueryVector.model_id != model_id)).rowcount


def _stored(session: Session, model_id: str, keys: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for start in range(0, len(keys), _IN_CHUNK):
        part = keys[start : start + _IN_CHUNK]
        rows = session.execute(
            select(QueryVector.text_hash, QueryVector.vector).where(
                tuple_(QueryVector.model_id, QueryVector.text_hash).in_(
                    [(model_id, k) for k in part]
                )
                if len(part) > 1
                else (QueryVector.model_id == model_id) & (QueryVector.text_hash == part[0])
            )
        )
        for key, blob in rows:
            out[key] = np.frombuffer(blob, dtype=np.float32).copy()
    return out


def _store(session: Session, model_id: str, vectors: dict[str, np.ndarray]) -> None:
    """INSERT, skipping keys another process stored meanwhile (the same text, the same vector)."""
    rows = [
        {
            "model_id": model_id,
            "text_hash": key,
            "vector": np.asarray(vec, dtype=np.float32).tobytes(),
            "created_at": utcnow(),
        }
        for key, vec in vectors.items()
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - the app runs on SQLite and PostgreSQL
        taken = set(_stored(session, model_id, list(vectors)))
        rows = [r for r in rows if r["text_hash"] not in taken]
        if rows:
            session.execute(insert(QueryVector), rows)
        return
    session.execute(dialect_insert(QueryVector).on_conflict_do_nothing(), rows)


def forget_local() -> None:
    """Empty this process's LRU (tests: another process knows only what the database holds)."""
    with _local._lock:
        _local._vectors.clear()
