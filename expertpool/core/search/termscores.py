"""BM25F scores of a bag of terms over every document of an index, vectorised with numpy.

The expert matcher needs a keyword score for *every* expert of the pool, not a page of hits.
Whoosh scores one posting at a time in Python (~2 µs each): a submission's words reach ~40k
postings at 100k experts, 80 ms of a 50 ms budget. Here each (segment, field, term) posting list
is read once into arrays and kept, and a query is a few numpy operations over those arrays.

Whoosh segments are immutable apart from deletions, so what is cached per segment (the
posting arrays, the documents' field lengths, docnum -> id) stays valid across commits; a
commit adds a small segment, and only merged segments are read again. The global statistics
(document frequency, average field length, document count) are read from the current reader
on each call, exactly as Whoosh's own scorer does, so the scores equal Whoosh's BM25F term
scores (`tests/core/test_search_termscores.py`).

The query is a bag of analysed terms: each term is scored in every text field and the
scores add up, a term given twice counting once (an OR of all the words over all fields, as
`SearchIndex.candidates(match="any")` runs it once Whoosh's query normalisation has dropped
duplicate clauses; but without dropping common terms, which cost nothing here).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh.reading import IndexReader
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

# Whoosh stores each field length in one byte; this table decodes them all at once.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_DEFAULT = BM25F()
MAX_CACHED_TERMS = 8192  # posting lists kept per segment (least recently used dropped)


@dataclass
class _Postings:
    docs: np.ndarray  # docnums within the segment, int64
    weights: np.ndarray  # term frequency x field boost, float64


@dataclass
class _Segment:
    """What never changes in one Whoosh segment: docnum -> id, field lengths, postings."""

    ids: np.ndarray  # stored id of each docnum ('' for none), object array
    int_ids: np.ndarray | None = None  # the same as integers (-1 if not one), made on demand
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    postings: OrderedDict[tuple[str, str], _Postings] = field(default_factory=OrderedDict)


class TermScorer:
    """Scores bags of terms against every live document of one index (thread-safe)."""

    def __init__(
        self,
        fields: Iterable[str],
        id_field: str = "id",
        weighting: BM25F = _DEFAULT,
        max_cached_terms: int = MAX_CACHED_TERMS,
    ) -> None:
        self.fields = list(fields)
        self.id_field = id_field
        self.k1 = float(weighting.K1)
        self.weighting = weighting
        self.max_cached_terms = max_cached_terms
        self._segments: dict[str, _Segment] = {}
        self._lock = threading.Lock()

    def scores(
        self,
        reader: IndexReader,
        terms: Iterable[str],
        *,
        int_ids: bool = False,
        max_pairs: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document ids, BM25F scores) of the live documents matching any term, any field.

        With `int_ids` the ids come as an int64 array (-1 for ids that are not integers),
        which spares callers keyed by database ids a Python loop over every hit. With
        `max_pairs`, only that many (field, term) pairs are scored, the rarest first (ties in
        query order), as `SearchIndex` cuts a long OR query (`index._rarest_clauses`).
        """
        unique = list(dict.fromkeys(t for t in terms if t))
        doc_count = reader.doc_count_all()
        ids, values = [], []
        if not unique or not doc_count:
            return np.zeros(0, dtype=np.int64 if int_ids else object), np.zeros(0)
        stats = self._stats(reader, unique, doc_count, max_pairs)
        leaves = list(reader.leaf_readers())
        with self._lock:
            self._forget_segments_except({_segment_id(r) for r, _ in leaves})
            for segment_reader, _base in leaves:
                seg_ids, seg_scores = self._score_segment(segment_reader, stats, int_ids)
                ids.append(seg_ids)
                values.append(seg_scores)
        return np.concatenate(ids), np.concatenate(values)

    # -- statistics from the whole index (as Whoosh's BM25FScorer takes them) ----------------

    def _stats(
        self, reader: IndexReader, terms: list[str], doc_count: int, max_pairs: int | None
    ) -> list[tuple[str, str, float, float, float]]:
        """(field, term, idf, avg field length, B) of each term present in a field."""
        avgfl = {name: (reader.field_length(name) / doc_count) or 1.0 for name in self.fields}
        found = []  # (document frequency, position in query order, field, term)
        for term in terms:
            for name in self.fields:
                df = reader.doc_frequency(name, term)
                if df:
                    found.append((df, len(found), name, term))
        if max_pairs is not None:
            found = sorted(found)[:max_pairs]
        return [
            (
                name,
                term,
                float(np.log(doc_count / (df + 1)) + 1),
                avgfl[name],
                self.weighting._field_B.get(name, self.weighting.B),
            )
            for df, _, name, term in found
        ]

    # -- one segment -----------------------------------------------------------------------

    def _score_segment(
        self, r: IndexReader, stats: list, int_ids: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        seg = self._segment(r)
        n = len(seg.ids)
        total = np.zeros(n)
        k1 = self.k1
        for name, term, idf, avgfl, b in stats:
            posts = self._postings(r, seg, name, term)
            if not posts.docs.size:
                continue
            tf = posts.weights
            fl = self._lengths(r, seg, name)[posts.docs]
            total[posts.docs] += idf * (tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl))
        hit = total > 0
        if r.has_deletions():
            deleted = np.fromiter(r.segment().deleted_docs(), dtype=np.int64)
            hit[deleted[deleted < n]] = False
        docs = np.flatnonzero(hit)
        if int_ids:
            if seg.int_ids is None:
                seg.int_ids = np.array([_as_int(v) for v in seg.ids], dtype=np.int64)
            return seg.int_ids[docs], total[docs]
        return seg.ids[docs], total[docs]

    def _segment(self, r: IndexReader) -> _Segment:
        key = _segment_id(r)
        seg = self._segments.get(key)
        if seg is None:
            seg = self._segments[key] = _Segment(_stored_ids(r, self.id_field))
        return seg

    def _forget_segments_except(self, live: set[str]) -> None:
        for key in [k for k in self._segments if k not in live]:
            del self._segments[key]

    def _lengths(self, r: IndexReader, seg: _Segment, name: str) -> np.ndarray:
        lengths = seg.lengths.get(name)
        if lengths is None:
            lengths = seg.lengths[name] = _field_lengths(r, name, len(seg.ids))
        return lengths

    def _postings(self, r: IndexReader, seg: _Segment, name: str, term: str) -> _Postings:
        key = (name, term)
        cached = seg.postings.get(key)
        if cached is not None:
            seg.postings.move_to_end(key)
            return cached
        if (name, term) not in r:
            posts = _Postings(np.zeros(0, np.int64), np.zeros(0))
        else:
            posts = _read_postings(r.postings(name, term))
        seg.postings[key] = posts
        if len(seg.postings) > self.max_cached_terms:
            seg.postings.popitem(last=False)
        return posts


def _as_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


def _segment_id(r: IndexReader) -> str:
    segment = r.segment()
    return segment.segment_id() if segment is not None else str(id(r))


def _stored_ids(r: IndexReader, id_field: str) -> np.ndarray:
    """docnum -> id from the id field's terms: unique ids have one inlined posting each, which
    is much cheaper than unpickling every document's stored fields."""
    ids = np.full(r.doc_count_all(), "", dtype=object)
    for text, info in r.iter_field(id_field):
        inlined = getattr(info, "inlined_postings", None)
        docs = inlined()[0] if inlined is not None and info.is_inlined() else None
        if docs is None:
            docs = list(r.postings(id_field, text).all_ids())
        value = text.decode("utf-8") if isinstance(text, bytes) else text
        for doc in docs:
            ids[doc] = value
    return ids


def _field_lengths(r: IndexReader, name: str, n: int) -> np.ndarray:
    """Every document's (byte-encoded, as Whoosh scores them) length of one field."""
    raw = _length_bytes(r, name, n)
    if raw is not None:
        return _LENGTH_OF_BYTE[raw]
    return np.array([r.doc_field_length(d, name, 0) or 0 for d in range(n)], dtype=np.float64)


def _length_bytes(r: IndexReader, name: str, n: int) -> np.ndarray | None:
    """The whoosh3 codec keeps lengths as one byte per document in a column file: read it in
    one go. None when the reader is not laid out that way (then lengths are read one by one)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

    perdoc: Any = getattr(r, "_perdoc", None)
    cached = getattr(perdoc, "_cached_reader", None)
    if cached is None:
        return None
    column = cached(_lenfield(name), LENGTHS_COLUMN)
    if column is None:
        return np.zeros(n, dtype=np.uint8)
    try:
        raw = column._dbfile.get(column._basepos, column._count)
    except AttributeError:
        return None
    out = np.zeros(n, dtype=np.uint8)
    values = np.frombuffer(raw, dtype=np.uint8)[:n]
    out[: values.size] = values
    return out


def _read_postings(matcher: Any) -> _Postings:
    """All postings of a term, a block at a time where the codec allows it."""
    docs: list[Any] = []
    weights: list[Any] = []
    if hasattr(matcher, "_read_ids") and hasattr(matcher, "_next_block"):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            docs.append(np.asarray(matcher._ids, dtype=np.int64))
            weights.append(np.asarray(matcher._weights, dtype=np.float64))
            matcher._next_block()
    else:
        ids, ws = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            ws.append(matcher.weight())
            matcher.next()
        docs, weights = [np.array(ids, dtype=np.int64)], [np.array(ws, dtype=np.float64)]
    if not docs:
        return _Postings(np.zeros(0, np.int64), np.zeros(0))
    return _Postings(np.concatenate(docs), np.concatenate(weights))
