"""Hybrid retrieval: BM25 keyword hits and semantic (embedding) hits fused into one ranking.

The fusion functions are plain Python over ranked ``(doc_id, score)`` lists. The retriever
needs only two small protocols, so the expert matcher and the course-material search can
share it: a keyword source (our `SearchIndex`) and a `SemanticSearch` callable, e.g. built
with `semantic_from_store` from the embeddings encoder and vector store.

The keyword index is also the catalogue: a semantic hit whose document is missing from it
(deleted, not yet indexed) or fails the filters is dropped, so filters mean the same thing in
every mode whatever the semantic side does with them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, NamedTuple, Protocol

from whoosh.analysis import Analyzer

from ..pagination import page_count
from .highlight import highlight_text, plain_snippet
from .index import FilterValue, KeywordHit, KeywordPage, Match

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "keyword", "semantic"]
Filters = Mapping[str, FilterValue] | None
KEYWORD = "keyword"
SEMANTIC = "semantic"
_LOOKUP_BATCH = 32  # fewest semantic hits checked against the catalogue at a time


# -- fusion maths --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fused:
    """A document after fusion, with its 1-based rank and raw score in each list it was in."""

    doc_id: str
    score: float
    ranks: dict[str, int]
    scores: dict[str, float]


def _dedupe(ranked: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    seen: dict[str, float] = {}
    for doc_id, score in ranked:
        seen.setdefault(doc_id, score)  # lists are best-first: keep the first occurrence
    return list(seen.items())


def _collect(
    lists: Mapping[str, Sequence[tuple[str, float]]],
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    ranks: dict[str, dict[str, int]] = {}
    scores: dict[str, dict[str, float]] = {}
    for source, ranked in lists.items():
        for rank, (doc_id, score) in enumerate(_dedupe(ranked), start=1):
            ranks.setdefault(doc_id, {})[source] = rank
            scores.setdefault(doc_id, {})[source] = score
    return ranks, scores


def _ordered(
    fused: dict[str, float], ranks: dict[str, dict[str, int]], scores: dict[str, dict[str, float]]
) -> list[Fused]:
    # Ties: the better best rank first, then the id, so results are reproducible.
    order = sorted(fused, key=lambda d: (-fused[d], min(ranks[d].values()), d))
    return [Fused(d, fused[d], ranks[d], scores[d]) for d in order]


def reciprocal_rank_fusion(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    *,
    k: float = 60,
    weights: Mapping[str, float] | None = None,
) -> list[Fused]:
    """Weighted RRF: sum over lists of weight / (k + rank). Scores are ignored, ranks used.

    k damps the advantage of the very top ranks (60 in Cormack et al. 2009); weights default
    to 1 per list.
    """
    if k < 0:
        raise ValueError("rrf k must be >= 0")
    ranks, scores = _collect(lists)
    fused = {
        doc_id: sum((weights or {}).get(src, 1.0) / (k + r) for src, r in by_src.items())
        for doc_id, by_src in ranks.items()
    }
    return _ordered(fused, ranks, scores)


def normalize_scores(values: Sequence[float], method: str = "minmax") -> list[float]:
    """Min-max to [0, 1] or z-scores; a list of equal scores maps to 1 (minmax) or 0 (z)."""
    if not values:
        return []
    if method == "minmax":
        lo, hi = min(values), max(values)
        return [1.0 if hi == lo else (v - lo) / (hi - lo) for v in values]
    if method == "zscore":
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return [0.0 if sd == 0 else (v - mean) / sd for v in values]
    raise ValueError(f"unknown normalization {method!r}")


def score_fusion(
    lists: Mapping[str, Sequence[tuple[str, float]]],
    *,
    weights: Mapping[str, float] | None = None,
    method: str = "minmax",
) -> list[Fused]:
    """Weighted sum of per-list normalised scores.

    BM25 scores are unbounded and query-dependent and cosines are not, so each list is put on
    a common scale first. A document missing from a list counts below everything that list
    retrieved: 0 after min-max, one standard deviation under the worst z-score.
    """
    ranks, scores = _collect(lists)
    fused = dict.fromkeys(ranks, 0.0)
    for source, ranked in lists.items():
        items = _dedupe(ranked)
        if not items:
            continue
        normed = dict(
            zip([d for d, _ in items], normalize_scores([s for _, s in items], method), strict=True)
        )
        floor = 0.0 if method == "minmax" else min(normed.values()) - 1.0
        weight = (weights or {}).get(source, 1.0)
        for doc_id in fused:
            fused[doc_id] += weight * normed.get(doc_id, floor)
    return _ordered(fused, ranks, scores)


# -- protocols -----------------------------------------------------------------------------


class SemanticHit(NamedTuple):
    """One semantic match: the document, its cosine similarity and the chunk that matched."""

    doc_id: str
    score: float
    chunk: str = ""


class SemanticSearch(Protocol):
    """Returns up to `k` best chunks for `query`, best first; may use `filters` to pre-filter."""

    def __call__(self, query: str, k: int, filters: Filters) -> Sequence[SemanticHit]: ...


class KeywordSource(Protocol):
    """What the retriever needs from a keyword index (see `index.SearchIndex`)."""

    analyzer: Analyzer
    text_fieldnames: Sequence[str]

    def search(
        self,
        text: str,
        *,
        filters: Filters = None,
        page: int = 1,
        per_page: int = 20,
        match: Match = "auto",
        snippets: bool = True,
        exact_total: bool = True,
    ) -> KeywordPage: ...

    def documents(
        self, ids: Collection[str], *, filters: Filters = None
    ) -> dict[str, dict[str, Any]]: ...

    def query_terms(self, text: str) -> frozenset[str]: ...

    def annotate(
        self, fields: Mapping[str, Any], terms: Collection[str]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]: ...


def semantic_from_store(
    encoder: Any,
    store: Any,
    index: str,
    *,
    doc_id: Callable[[str, Any], str] = lambda st, sid: f"{st}:{sid}",
    mask: Callable[[Filters], Any] | None = None,
    **search_kwargs: Any,
) -> SemanticSearch:
    """Adapt an encoder (`encode_query`) and a vector store (`search(index, vec, k, mask)`
    returning ``(source_type, source_id, chunk, score)`` rows) to `SemanticSearch`.

    `doc_id` must produce the ids used in the keyword index; `mask` turns filters into the
    store's row mask (without it, filtering happens afterwards against the keyword index);
    other keyword arguments go to every `store.search` call (e.g. ``per_source=True``).
    """

    def search(query: str, k: int, filters: Filters) -> list[SemanticHit]:
        vec = encoder.encode_query(query)
        if getattr(vec, "ndim", 1) == 2:  # a (1, dim) row from a batch encoder
            vec = vec[0]
        rows = store.search(index, vec, k, mask=mask(filters) if mask else None, **search_kwargs)
        return [SemanticHit(doc_id(st, sid), float(score), chunk) for st, sid, chunk, score in rows]

    return search


# -- configuration and results -------------------------------------------------------------


@dataclass(frozen=True)
class HybridConfig:
    """Retrieval settings; build from app configuration with `from_mapping`."""

    fusion: Literal["rrf", "score"] = "rrf"
    rrf_k: float = 60
    keyword_weight: float = 1.0
    semantic_weight: float = 1.0
    normalization: Literal["minmax", "zscore"] = "minmax"
    candidates: int = 100  # taken from each list before fusion
    semantic_chunks_per_doc: int = 3  # ask for this many chunks per wanted document
    semantic_min_score: float | None = None  # cosine below this is not a match at all
    keyword_match: Match = "auto"
    snippet_chars: int = 160

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> HybridConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values or {}) - known
        if unknown:
            raise ValueError(f"unknown hybrid search settings: {sorted(unknown)}")
        config = cls(**dict(values or {}))
        if config.fusion not in ("rrf", "score"):
            raise ValueError(f"unknown fusion {config.fusion!r}")
        normalize_scores([0.0], config.normalization)  # validates the method name
        return config


@dataclass(frozen=True)
class KeywordEvidence:
    rank: int
    score: float  # BM25F
    terms: dict[str, tuple[str, ...]]  # text field -> matched words, as written in the field


@dataclass(frozen=True)
class SemanticEvidence:
    rank: int
    score: float  # cosine similarity of the best chunk
    chunk: str
    snippet: str  # the chunk as escaped HTML, query terms marked


@dataclass(frozen=True)
class Hit:
    """A result with the reasons it was found: keyword and/or semantic evidence."""

    doc_id: str
    score: float
    rank: int
    fields: dict[str, Any]
    keyword: KeywordEvidence | None
    semantic: SemanticEvidence | None
    snippets: dict[str, str]  # text field -> HTML with <mark>, only fields with matches
    snippet: str  # the one snippet to show

    @property
    def found_by(self) -> tuple[str, ...]:
        return tuple(n for n, e in ((KEYWORD, self.keyword), (SEMANTIC, self.semantic)) if e)

    @property
    def matched_terms(self) -> tuple[str, ...]:
        terms = self.keyword.terms.values() if self.keyword else ()
        return tuple(dict.fromkeys(t for ts in terms for t in ts))


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    total: int  # exact in keyword mode; the fused candidate count otherwise
    page: int
    per_page: int
    mode: Mode
    query: str
    relaxed: bool = False  # the keyword side fell back from AND to OR
    semantic_available: bool = True

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


# -- the retriever -------------------------------------------------------------------------


class HybridRetriever:
    """One search API over a keyword index and an optional semantic search."""

    def __init__(
        self,
        keyword_index: KeywordSource,
        semantic_fn: SemanticSearch | None = None,
        config: HybridConfig | None = None,
    ) -> None:
        self.keyword = keyword_index
        self.semantic_fn = semantic_fn
        self.config = config or HybridConfig()
        # Optional: reorders one page of fused results, given all fused candidates (the course
        # search puts a page's passages course by course, courses scored over all of them).
        self.reorder: Callable[[list[Fused], list[Fused]], list[Fused]] | None = None

    def search(
        self,
        query: str,
        *,
        filters: Filters = None,
        page: int = 1,
        per_page: int = 20,
        mode: Mode = "hybrid",
        match: Match | None = None,
    ) -> SearchPage:
        if page < 1 or per_page < 1:
            raise ValueError("page and per_page start at 1")
        if mode not in ("hybrid", "keyword", "semantic"):
            raise ValueError(f"unknown search mode {mode!r}")
        match = match or self.config.keyword_match
        if mode == "keyword" or not query.strip():
            return self._keyword_page(query, filters, page, per_page, match, mode)
        limit = max(self.config.candidates, page * per_page)
        semantic = self._semantic(query, filters, limit)
        if semantic is None:  # no semantic search: keyword results are better than none
            return self._keyword_page(
                query, filters, page, per_page, match, mode, semantic_available=False
            )
        sem_hits, sem_docs = semantic
        kw = (
            self.keyword.search(
                query,
                filters=filters,
                per_page=limit,
                match=match,
                snippets=False,
                exact_total=False,
            )
            if mode == "hybrid"
            else None
        )
        return self._fused_page(query, mode, page, per_page, kw, sem_hits, sem_docs)

    # keyword only

    def _keyword_page(
        self,
        query: str,
        filters: Filters,
        page: int,
        per_page: int,
        match: Match,
        mode: Mode,
        semantic_available: bool = True,
    ) -> SearchPage:
        kp = self.keyword.search(
            query, filters=filters, page=page, per_page=per_page, match=match, snippets=True
        )
        hits = [self._from_keyword(h) for h in kp.hits]
        return SearchPage(
            hits,
            kp.total,
            page,
            per_page,
            mode,
            query,
            kp.relaxed,
            semantic_available and self.semantic_fn is not None,
        )

    def _from_keyword(self, h: KeywordHit) -> Hit:
        return Hit(
            h.doc_id,
            h.score,
            h.rank,
            h.fields,
            KeywordEvidence(h.rank, h.score, h.matched),
            None,
            h.snippets,
            self._best_snippet(h.fields, h.snippets, None),
        )

    # semantic side

    def _semantic(
        self, query: str, filters: Filters, limit: int
    ) -> tuple[list[SemanticHit], dict[str, dict[str, Any]]] | None:
        if self.semantic_fn is None:
            return None
        k = limit * self.config.semantic_chunks_per_doc
        try:
            raw = self.semantic_fn(query, k, filters)
        except Exception:  # a broken model must not take keyword search down with it
            log.exception("semantic search failed for %r; using keyword search only", query)
            return None
        best = _best_chunk_per_doc(raw, self.config.semantic_min_score)
        hits: list[SemanticHit] = []
        docs: dict[str, dict[str, Any]] = {}
        start = 0
        # Only as many documents are looked up as the `limit` hits need (most exist and pass
        # the filters), not all `k` chunks' documents: each lookup reads stored fields.
        while len(hits) < limit and start < len(best):
            part = best[start : start + max(limit - len(hits), _LOOKUP_BATCH)]
            start += len(part)
            found = self.keyword.documents([h.doc_id for h in part], filters=filters)
            docs.update(found)
            hits += [h for h in part if h.doc_id in found]
        return hits[:limit], docs

    # fusion

    def _fused_page(
        self,
        query: str,
        mode: Mode,
        page: int,
        per_page: int,
        kw: KeywordPage | None,
        sem_hits: list[SemanticHit],
        sem_docs: dict[str, dict[str, Any]],
    ) -> SearchPage:
        lists = {SEMANTIC: [(h.doc_id, h.score) for h in sem_hits]}
        if kw is not None:
            lists[KEYWORD] = [(h.doc_id, h.score) for h in kw.hits]
        fused = self._fuse(lists) if kw is not None else _as_fused(lists[SEMANTIC], SEMANTIC)
        start = (page - 1) * per_page
        shown = fused[start : start + per_page]
        if self.reorder is not None:
            shown = self.reorder(shown, fused)
        kw_fields = {h.doc_id: h.fields for h in kw.hits} if kw else {}
        chunks = {h.doc_id: h.chunk for h in sem_hits}
        terms = self.keyword.query_terms(query)
        hits = [
            self._fused_hit(
                f,
                start + i + 1,
                kw_fields.get(f.doc_id) or sem_docs[f.doc_id],
                chunks.get(f.doc_id),
                terms,
            )
            for i, f in enumerate(shown)
        ]
        return SearchPage(
            hits, len(fused), page, per_page, mode, query, kw.relaxed if kw else False, True
        )

    def _fuse(self, lists: dict[str, list[tuple[str, float]]]) -> list[Fused]:
        c = self.config
        weights = {KEYWORD: c.keyword_weight, SEMANTIC: c.semantic_weight}
        if c.fusion == "rrf":
            return reciprocal_rank_fusion(lists, k=c.rrf_k, weights=weights)
        return score_fusion(lists, weights=weights, method=c.normalization)

    def _fused_hit(
        self, f: Fused, rank: int, doc: dict[str, Any], chunk: str | None, terms: frozenset[str]
    ) -> Hit:
        matched, snippets = self.keyword.annotate(doc, terms)
        keyword = (
            KeywordEvidence(f.ranks[KEYWORD], f.scores[KEYWORD], matched)
            if KEYWORD in f.ranks
            else None
        )
        semantic = None
        if SEMANTIC in f.ranks:
            semantic = SemanticEvidence(
                f.ranks[SEMANTIC],
                f.scores[SEMANTIC],
                chunk or "",
                self._chunk_snippet(chunk or "", terms),
            )
        return Hit(
            f.doc_id,
            f.score,
            rank,
            doc,
            keyword,
            semantic,
            snippets,
            self._best_snippet(doc, snippets, semantic),
        )

    # snippets

    def _chunk_snippet(self, chunk: str, terms: frozenset[str]) -> str:
        n = self.config.snippet_chars
        hl = highlight_text(chunk, terms, self.keyword.analyzer, maxchars=n)
        return hl.html if hl else plain_snippet(chunk, n)

    def _best_snippet(
        self, doc: Mapping[str, Any], snippets: Mapping[str, str], semantic: SemanticEvidence | None
    ) -> str:
        names = self.keyword.text_fieldnames
        for name in names:
            if name in snippets:
                return snippets[name]
        if semantic and semantic.chunk:
            return semantic.snippet
        text = next((doc[n] for n in names if doc.get(n)), "")
        return plain_snippet(str(text), self.config.snippet_chars)


def _as_fused(ranked: list[tuple[str, float]], source: str) -> list[Fused]:
    """A single list keeps its own scores (cosines in semantic mode), not RRF's 1/(k+rank)."""
    return [Fused(d, s, {source: r}, {source: s}) for r, (d, s) in enumerate(ranked, start=1)]


def _best_chunk_per_doc(raw: Sequence[SemanticHit], min_score: float | None) -> list[SemanticHit]:
    """Collapse chunk hits to one per document (its best chunk), best first."""
    best: dict[str, SemanticHit] = {}
    for hit in raw:
        if min_score is not None and hit.score < min_score:
            continue
        if hit.doc_id not in best or hit.score > best[hit.doc_id].score:
            best[hit.doc_id] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.doc_id))
