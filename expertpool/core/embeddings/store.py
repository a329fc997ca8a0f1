"""Vector store: embeddings kept in the database, searched exactly from an in-memory matrix.

Rows (table ``embedding``) are keyed by index, source, chunk and model id, so vectors of two
models never mix: a store only reads and searches rows of its encoder's model. Every write
bumps a per-(index, model) version in ``embedding_index_state`` and stamps the rows it writes
with it; before searching, a process compares that version with its matrix's (one cheap query)
and loads only the rows written since, so several server processes see each other's changes.

Writes follow the app's rule: they ``flush()``, the caller commits. If the transaction rolls
back, the matrices it may have refreshed are dropped (they might hold the rolled-back rows).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sqlalchemy import (
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ...db import db, utcnow
from ..features import listen
from .centroids import Centroids
from .encoder import Encoder, load_encoder
from .fairness import CALIBRATION_TEXTS, guess_lang
from .matrix import Hit, Mask, Row, VectorMatrix
from .providers import TextProvider, TextRecord, text_providers

log = logging.getLogger(__name__)

_DIRTY = "embedding_store_dirty"  # session.info key: stores/indexes written in this transaction
_IN_CHUNK = 500  # ids per IN (...) list: far below every database's parameter limit


class Embedding(db.Model):
    __tablename__ = "embedding"
    __table_args__ = (
        UniqueConstraint(
            "index_name", "source_type", "source_id", "chunk", "model_id", name="uq_embedding_key"
        ),
        Index("ix_embedding_index_model_version", "index_name", "model_id", "version"),
        Index("ix_embedding_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    index_name: Mapped[str] = mapped_column(String(64))
    source_type: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[int] = mapped_column(Integer)
    chunk: Mapped[str] = mapped_column(String(128), default="")
    model_id: Mapped[str] = mapped_column(String(128))
    lang: Mapped[str] = mapped_column(String(16))
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, native byte order
    version: Mapped[int] = mapped_column(Integer, default=0)  # the IndexState version that wrote it
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IndexState(db.Model):
    __tablename__ = "embedding_index_state"

    index_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TextItem(NamedTuple):
    source_type: str
    source_id: int
    chunk: str
    text: str
    lang: str | None = None  # None: guessed from the text


@dataclass
class WriteReport:
    encoded: int = 0  # texts sent through the model
    unchanged: int = 0  # same text and model as stored: skipped
    deleted: int = 0

    def add(self, other: WriteReport) -> None:
        self.encoded += other.encoded
        self.unchanged += other.unchanged
        self.deleted += other.deleted


class IndexStatus(NamedTuple):
    index_name: str
    model_id: str
    rows: int
    version: int
    current: bool  # the store's model


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_calibration_cache: dict[str, dict[str, np.ndarray]] = {}
_calibration_lock = threading.Lock()


def calibration_vectors(encoder: Encoder) -> dict[str, np.ndarray]:
    """The fairness calibration texts encoded as documents, once per model and process."""
    with _calibration_lock:
        if encoder.model_id not in _calibration_cache:
            _calibration_cache[encoder.model_id] = {
                lang: encoder.encode_document(texts) for lang, texts in CALIBRATION_TEXTS.items()
            }
        return _calibration_cache[encoder.model_id]


class VectorStore:
    """Embeddings of one model: write through the session, search in memory."""

    def __init__(
        self,
        encoder: Encoder,
        session: Session | Callable[[], Session] | None = None,
        fairness: bool = True,
    ) -> None:
        self.encoder = encoder
        self.model_id = encoder.model_id
        self.fairness = fairness
        self._session = session
        self._matrices: dict[str, VectorMatrix] = {}
        self._centroids: dict[str, tuple[VectorMatrix, Centroids]] = {}
        self._lock = threading.RLock()

    @property
    def session(self) -> Session:
        s = self._session if self._session is not None else db.session
        return s if isinstance(s, Session) else s()

    # -- writing ----------------------------------------------------------------------------

    def upsert(
        self,
        index: str,
        items: Iterable[TextItem | tuple],
        *,
        replace_sources: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> WriteReport:
        """Store vectors for ``items``, encoding only texts that changed for this model.

        With ``replace_sources``, other chunks of the sources in ``items`` are deleted, so
        passing all current chunks of a source makes the index match it exactly.
        """
        batch = {(i.source_type, i.source_id, i.chunk): i for i in map(_as_item, items)}
        report = WriteReport()
        existing = self._existing(index, batch)
        todo, relang = [], []
        for key, item in batch.items():
            row, digest = existing.get(key), text_hash(item.text)
            if row is None or row.text_hash != digest:
                todo.append(item)
            elif row.lang != _lang(item):
                relang.append((row, _lang(item)))
        report.unchanged = len(batch) - len(todo)
        stale = self._other_chunks(index, batch) if replace_sources else []
        if not (todo or relang or stale):
            return report
        # encode before taking the version lock: other writers wait on it until our commit
        vectors = self.encoder.encode_document([i.text for i in todo], progress) if todo else []
        version = self._bump(index, self.model_id)
        for item, vec in zip(todo, vectors, strict=True):
            self._write_row(index, item, vec, existing.get(item[:3]), version)
        for row, lang in relang:
            row.lang, row.version = lang, version
        report.encoded = len(todo)
        report.deleted = self._delete_ids(stale)
        self.session.flush()
        self._mark_dirty(index)
        return report

    def delete(
        self, index: str, source_type: str, source_id: int | None = None, chunk: str | None = None
    ) -> int:
        """Delete a source's rows (one chunk, or all sources of a type) for every model."""
        where = [Embedding.index_name == index, Embedding.source_type == source_type]
        if source_id is not None:
            where.append(Embedding.source_id == source_id)
        if chunk is not None:
            where.append(Embedding.chunk == chunk)
        models = self.session.scalars(select(Embedding.model_id).where(*where).distinct()).all()
        if not models:
            return 0
        deleted = self.session.execute(delete(Embedding).where(*where)).rowcount
        for model in models:
            self._bump(index, model)
        self._mark_dirty(index)
        return deleted

    def _existing(self, index: str, batch: dict) -> dict[tuple, Embedding]:
        ids = sorted({key[1] for key in batch})
        found: dict[tuple, Embedding] = {}
        for part in _chunks(ids, _IN_CHUNK):
            rows = self.session.scalars(
                select(Embedding).where(
                    Embedding.index_name == index,
                    Embedding.model_id == self.model_id,
                    Embedding.source_id.in_(part),
                )
            )
            for row in rows:
                key = (row.source_type, row.source_id, row.chunk)
                if key in batch:
                    found[key] = row
        return found

    def _other_chunks(self, index: str, batch: dict) -> list[int]:
        """Ids of this model's rows of the batch's sources whose chunk is not in the batch."""
        sources = sorted({key[:2] for key in batch})
        stale = []
        for part in _chunks(sources, _IN_CHUNK):
            rows = self.session.execute(
                select(Embedding.id, Embedding.source_type, Embedding.source_id, Embedding.chunk)
                .where(Embedding.index_name == index, Embedding.model_id == self.model_id)
                .where(tuple_(Embedding.source_type, Embedding.source_id).in_(part))
            )
            stale += [r.id for r in rows if (r.source_type, r.source_id, r.chunk) not in batch]
        return stale

    def _write_row(
        self, index: str, item: TextItem, vec: np.ndarray, row: Embedding | None, version: int
    ) -> None:
        if row is None:
            row = Embedding(
                index_name=index,
                source_type=item.source_type,
                source_id=item.source_id,
                chunk=item.chunk,
                model_id=self.model_id,
            )
            self.session.add(row)
        row.lang = _lang(item)
        row.text_hash = text_hash(item.text)
        row.vector = np.asarray(vec, np.float32).tobytes()
        row.version = version

    def _delete_ids(self, ids: Sequence[int]) -> int:
        deleted = 0
        for part in _chunks(sorted(ids), _IN_CHUNK):
            deleted += self.session.execute(
                delete(Embedding).where(Embedding.id.in_(part))
            ).rowcount
        return deleted

    def _bump(self, index: str, model_id: str) -> int:
        """Increment the (index, model) version, creating it at 0 first, and return it.

        The UPDATE locks the state row until commit, so concurrent writers get distinct,
        increasing versions in commit order.
        """
        key = (IndexState.index_name == index, IndexState.model_id == model_id)
        _insert_ignore(self.session, index_name=index, model_id=model_id)
        self.session.execute(
            update(IndexState)
            .where(*key)
            .values(version=IndexState.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return self.session.scalar(select(IndexState.version).where(*key))

    def _mark_dirty(self, index: str) -> None:
        self.session.info.setdefault(_DIRTY, set()).add((weakref.ref(self), index))

    # -- reading ----------------------------------------------------------------------------

    def matrix(self, index: str) -> VectorMatrix:
        """The index's matrix for this model, brought up to date with the database."""
        with self._lock:
            current = self._matrices.get(index)
            version = self._version(index)
            if current is not None and current.version == version:
                return current
            if current is None or version < current.version:
                fresh = self._load(index, VectorMatrix(self.encoder.dim), version, since=None)
            else:
                fresh = self._load(index, current, version, since=current.version)
            self._matrices[index] = fresh
            return fresh

    def invalidate(self, index: str | None = None) -> None:
        """Forget cached matrices (all, or one index): the next search reloads from the database."""
        with self._lock:
            if index is None:
                self._matrices.clear()
                self._centroids.clear()
            else:
                self._matrices.pop(index, None)
                self._centroids.pop(index, None)

    def search(
        self,
        index: str,
        query_vec: np.ndarray,
        k: int = 10,
        mask: Mask | None = None,
        *,
        source_type: str | None = None,
        allowed_ids: Iterable[int] | None = None,
        per_source: bool = False,
    ) -> list[Hit]:
        """Best ``k`` chunks as ``(source_type, source_id, chunk, score)``, best first.

        ``mask`` is a boolean array over the rows of :meth:`matrix` or a callable taking the
        matrix and returning one (safer: it sees the same snapshot the search uses);
        ``source_type``/``allowed_ids`` filter further. Scores are language-fair cosines
        unless the store was made with ``fairness=False``.
        """
        m = self.matrix(index)
        if source_type is not None or allowed_ids is not None:
            mask = _and_masks(mask, m.mask_for(source_type, _id_set(allowed_ids)))
        calibration = calibration_vectors(self.encoder) if self.fairness else None
        return m.search(query_vec, k, mask=mask, calibration=calibration, per_source=per_source)

    def score_all(self, index: str, query_vec: np.ndarray) -> tuple[VectorMatrix, np.ndarray]:
        """The index's matrix snapshot and the (language-fair) score of each of its rows."""
        m = self.matrix(index)
        calibration = calibration_vectors(self.encoder) if self.fairness else None
        return m, m.scores(query_vec, calibration)

    def centroids(self, index: str, matrix: VectorMatrix | None = None) -> Centroids:
        """The centroid of each source's texts in ``matrix`` (default: the index's current one),
        computed once per matrix version (0.8-1.4 s for 50,000 texts of 10,000 sources on the
        shared 2-core machine under load 10), then one matrix-vector product per query (3-5 ms
        for 10,000 sources under the same load)."""
        matrix = matrix if matrix is not None else self.matrix(index)
        with self._lock:
            cached = self._centroids.get(index)
            if cached is not None and cached[0] is matrix:
                return cached[1]
        calibration = calibration_vectors(self.encoder) if self.fairness else None
        fresh = Centroids.of(matrix.vectors, matrix.source_ids, matrix.langs, calibration)
        with self._lock:
            self._centroids[index] = (matrix, fresh)
        return fresh

    def _version(self, index: str) -> int:
        v = self.session.scalar(
            select(IndexState.version).where(
                IndexState.index_name == index, IndexState.model_id == self.model_id
            )
        )
        return v or 0

    def _load(
        self, index: str, base: VectorMatrix, version: int, since: int | None
    ) -> VectorMatrix:
        where = [Embedding.index_name == index, Embedding.model_id == self.model_id]
        cols = (
            Embedding.id,
            Embedding.source_type,
            Embedding.source_id,
            Embedding.chunk,
            Embedding.lang,
            Embedding.vector,
        )
        changed = where + ([Embedding.version > since] if since is not None else [])
        rows = [self._row(r) for r in self.session.execute(select(*cols).where(*changed))]
        rows = [r for r in rows if r is not None]
        keep = None
        if since is not None:  # rows deleted since: whatever id is no longer there
            keep = np.fromiter(self.session.scalars(select(Embedding.id).where(*where)), np.int64)
        return base.apply(rows, keep_ids=keep, version=version)

    def _row(self, r) -> Row | None:
        vec = np.frombuffer(r.vector, np.float32)
        if vec.shape != (self.encoder.dim,):
            log.warning("embedding %r has %r values, expected %r", r.id, vec.size, self.encoder.dim)
            return None
        return Row(r.id, r.source_type, r.source_id, r.chunk, r.lang, vec)

    # -- model changes ----------------------------------------------------------------------

    def status(self) -> list[IndexStatus]:
        """Rows and version of every (index, model) in the database."""
        counts = self.session.execute(
            select(Embedding.index_name, Embedding.model_id, func.count()).group_by(
                Embedding.index_name, Embedding.model_id
            )
        )
        versions = {
            (s.index_name, s.model_id): s.version for s in self.session.scalars(select(IndexState))
        }
        return [
            IndexStatus(i, m, n, versions.get((i, m), 0), m == self.model_id)
            for i, m, n in sorted(counts)
        ]

    def stale_sources(self, index: str | None = None) -> list[tuple[str, str, int]]:
        """(index, source_type, source_id) with vectors of other models only: to re-embed."""
        key = (Embedding.index_name, Embedding.source_type, Embedding.source_id)
        scope = [Embedding.index_name == index] if index is not None else []
        other = select(*key).where(Embedding.model_id != self.model_id, *scope)
        mine = select(*key).where(Embedding.model_id == self.model_id, *scope)
        return sorted(tuple(r) for r in self.session.execute(other.except_(mine)))

    def rebuild(
        self,
        providers: dict[str, TextProvider] | None = None,
        *,
        indexes: Iterable[str] | None = None,
        prune: bool = True,
        keep_other_models: bool = False,
        batch_size: int = 256,
        progress: Callable[[int, int], None] | None = None,
        on_batch: Callable[[], None] | None = None,
    ) -> WriteReport:
        """Bring the indexes up to date with the registered text providers for this model.

        Unchanged texts are skipped, so after a model change everything is re-encoded and
        otherwise only what changed. ``prune`` deletes this model's rows the providers no
        longer yield (in the indexes they yielded or declared); unless ``keep_other_models``,
        rows of other models in those indexes go too. ``progress(done, total)`` counts
        texts; ``on_batch`` runs after each flushed batch (the CLI commits there).
        """
        providers = text_providers() if providers is None else providers
        wanted = set(indexes) if indexes is not None else None
        by_index, covered = _collect(providers.values(), wanted)
        total = sum(len(v) for v in by_index.values())
        report, done = WriteReport(), 0
        for index, records in by_index.items():
            for part in _chunks(records, batch_size):
                report.add(self.upsert(index, [TextItem(*r[1:]) for r in part]))
                done += len(part)
                if progress:
                    progress(done, total)
                if on_batch:
                    on_batch()
        for index in sorted(covered):
            if prune:
                report.deleted += self._prune(index, by_index.get(index, []))
            if not keep_other_models:
                report.deleted += self._drop_other_models(index)
        self.session.flush()
        return report

    def _prune(self, index: str, records: list[TextRecord]) -> int:
        keys = {(r.source_type, r.source_id, r.chunk) for r in records}
        rows = self.session.execute(
            select(Embedding.id, Embedding.source_type, Embedding.source_id, Embedding.chunk).where(
                Embedding.index_name == index, Embedding.model_id == self.model_id
            )
        )
        gone = [r.id for r in rows if (r.source_type, r.source_id, r.chunk) not in keys]
        if not gone:
            return 0
        deleted = self._delete_ids(gone)
        self._bump(index, self.model_id)
        self._mark_dirty(index)
        return deleted

    def _drop_other_models(self, index: str) -> int:
        others = (Embedding.index_name == index, Embedding.model_id != self.model_id)
        deleted = self.session.execute(delete(Embedding).where(*others)).rowcount
        self.session.execute(
            delete(IndexState).where(
                IndexState.index_name == index, IndexState.model_id != self.model_id
            )
        )
        return deleted


def _collect(
    providers: Iterable[TextProvider], wanted: set[str] | None
) -> tuple[dict[str, list[TextRecord]], set[str]]:
    """Provider records grouped by index, and the indexes the providers cover."""
    by_index: dict[str, list[TextRecord]] = defaultdict(list)
    covered: set[str] = set()
    for provider in providers:
        covered.update(provider.indexes)
        for rec in provider.records():
            by_index[rec.index_name].append(rec)
    covered.update(by_index)
    if wanted is not None:
        by_index = {k: v for k, v in by_index.items() if k in wanted}
        covered &= wanted
    return dict(by_index), covered


def _as_item(item: TextItem | tuple) -> TextItem:
    item = item if isinstance(item, TextItem) else TextItem(*item)
    return item._replace(source_id=int(item.source_id), chunk=item.chunk or "")


def _lang(item: TextItem) -> str:
    return item.lang or guess_lang(item.text)


def _chunks(seq: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _id_set(ids: Iterable[int] | None) -> set[int] | None:
    return None if ids is None else {int(i) for i in ids}


def _and_masks(mask: Mask | None, extra: np.ndarray) -> Mask:
    if mask is None:
        return extra
    if callable(mask):
        return lambda m: np.asarray(mask(m), bool) & extra
    return np.asarray(mask, bool) & extra


def _insert_ignore(session: Session, **values) -> None:
    """INSERT the IndexState row unless it exists (concurrent writers may race to create it)."""
    dialect = session.get_bind().dialect.name
    values.setdefault("version", 0)
    values.setdefault("updated_at", utcnow())
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        session.execute(dialect_insert(IndexState).values(**values).on_conflict_do_nothing())
        return
    exists = session.scalar(
        select(func.count())
        .select_from(IndexState)
        .where(
            IndexState.index_name == values["index_name"],
            IndexState.model_id == values["model_id"],
        )
    )
    if not exists:
        session.execute(insert(IndexState).values(**values))


def _forget_committed(session: Session) -> None:
    session.info.pop(_DIRTY, None)


def _forget_rolled_back(session: Session, transaction) -> None:
    """Ended without a commit (rollback, close): a matrix refreshed inside the transaction may
    hold rows that never existed, so it is dropped. Commits were cleared just before."""
    if transaction.parent is not None:  # a savepoint: the outer transaction goes on
        return
    for store_ref, index in session.info.pop(_DIRTY, set()):
        store = store_ref()
        if store is not None:
            store.invalidate(index)


# -- the app's store -------------------------------------------------------------------------

_EXTENSION = "expertpool.embeddings"
_STORE_LOCK = threading.Lock()


def get_store(app=None) -> VectorStore:
    """The app's store (created on first use from ``EMBEDDING_MODEL``)."""
    from flask import current_app

    app = app or current_app._get_current_object()
    store = app.extensions.get(_EXTENSION)
    if store is None:
        with _STORE_LOCK:  # a warm-up thread and a request may both get here first
            store = app.extensions.get(_EXTENSION)
            if store is None:
                encoder = load_encoder(app.config["EMBEDDING_MODEL"], Path(app.instance_path))
                store = VectorStore(encoder, fairness=app.config.get("EMBEDDING_FAIRNESS", True))
                app.extensions[_EXTENSION] = store
    return store


def forget_store(app) -> None:
    """Drop the app's store and its matrices: the database was replaced underneath them."""
    with _STORE_LOCK:
        app.extensions.pop(_EXTENSION, None)


def loaded_store(app) -> VectorStore | None:
    """The app's store if something already built it (loading no model)."""
    return app.extensions.get(_EXTENSION)


def connect_listeners() -> None:
    """Attach the session handlers (the app factory's core `init_app` calls this)."""
    listen("after_commit", _forget_committed)
    listen("after_transaction_end", _forget_rolled_back)
