"""Ranking a submission's candidate experts: scores, explanations, exclusions and a panel.

Scores every expert of the pool (`snapshot.Pool`: plain records and arrays, kept per process
while the database says they are current) with the pure core (scoring, constraints, panel), so
an administrator also sees who is excluded and why. Only the experts a page shows are loaded
as ORM entities, and an explanation (matching fields, best-matching texts with highlighted
words) is built when it is first read, i.e. only for the candidates shown.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..core.assignment.constraints import CODES, exclusion_masks
from ..core.assignment.panel import Panel, build_panel
from ..core.assignment.records import Exclusion, Rules
from ..core.embeddings.store import get_store
from ..core.search.highlight import highlight_text, markable
from ..experts.models import Expert
from ..reviews.eligibility import submission_record
from ..submissions.models import Submission
from ..submissions.text import matching_text
from .scoring import PoolScores, ScoringConfig, score_pool, submission_terms
from .snapshot import Pool
from .texts import EXPERT_INDEX, ExpertTexts, chunk_label, chunk_texts, submission_query

EXCLUDED_SHOWN = 30  # excluded experts per page below the ranking, best-scoring first


@dataclass
class Explanation:
    parts: dict[str, float]  # each signal's contribution to the score
    categories: list[int]  # the submission's category, when the expert covers it
    specialties: list[str]  # the expert's specialties that cover the submission's terms
    texts: list[dict[str, Any]]  # best-matching texts: label, chunk, score, html

    def as_dict(self) -> dict[str, Any]:
        return {
            "parts": self.parts,
            "categories": self.categories,
            "specialties": self.specialties,
            "texts": self.texts,
        }


@dataclass(eq=False)
class Candidate:
    expert: Expert
    score: float
    explain: Callable[[], Explanation] = field(repr=False)
    exclusions: list[Exclusion] = field(default_factory=list)

    @cached_property
    def explanation(self) -> Explanation:
        """Built on first use: a page explains the candidates it shows, not the whole pool."""
        return self.explain()

    @property
    def eligible(self) -> bool:
        return not self.exclusions


@dataclass
class Ranking:
    submission: Submission
    candidates: list[Candidate]
    excluded: list[Candidate]  # one page of the excluded experts, best-scoring first
    panel: Panel
    rules: Rules
    pool_size: int
    elapsed_ms: float
    model_id: str
    excluded_total: int = 0  # every excluded expert (skipped ones not counted)
    excluded_counts: dict[str, int] = field(default_factory=dict)  # code -> experts, CODES order
    excluded_page: int = 1
    excluded_per_page: int = EXCLUDED_SHOWN

    def candidate(self, expert_id: int) -> Candidate | None:
        return next((c for c in self.candidates if c.expert.id == expert_id), None)


def scoring_config() -> ScoringConfig:
    return ScoringConfig.from_mapping(current_app.config)


def pool_scores(
    session: Session, submission: Submission, pool: Pool, cfg: ScoringConfig
) -> tuple[PoolScores, np.ndarray, np.ndarray, np.ndarray, Any]:
    """Scores of every pool expert, plus the rows (texts) behind the semantic part: the
    matrix rows of pool experts, their experts' pool positions, every row's score, the matrix."""
    store = get_store()
    query = store.encoder.encode_query(matching_text(submission))
    matrix, row_scores = store.score_all(EXPERT_INDEX, query)
    known = pool.positions(matrix.source_ids)
    keep = known >= 0
    row_expert = known[keep]
    scores = score_pool(
        row_scores[keep],
        row_expert,
        keyword_scores(submission, pool, cfg.keyword_pairs),
        category_overlap(submission, pool),
        _specialty(submission, pool),
        cfg,
    )
    return scores, np.flatnonzero(keep), row_expert, row_scores, matrix


def keyword_scores(submission: Submission, pool: Pool, max_pairs: int | None = None) -> np.ndarray:
    """BM25F score of every pool expert for the submission's own field words (0 if none)."""
    from .sync import expert_keyword_index

    query = submission_query(
        submission.title,
        submission.rm_name,
        submission.matrix,
        submission.analytes or [],
        submission.methods or [],
    )
    ids, scores = expert_keyword_index().term_scores(query, int_ids=True, max_pairs=max_pairs)
    return pool.spread(ids, scores)


def category_overlap(submission: Submission, pool: Pool) -> np.ndarray:
    """1 for the experts who cover the submission's GBW category, else 0."""
    code = submission.category
    if code is None or not 0 <= code < 64:  # no expert's table row can hold such a code
        return np.zeros(len(pool))
    return ((pool.table.category_bits & np.uint64(1 << code)) != 0).astype(np.float64)


def _terms(submission: Submission) -> list[str]:
    return submission_terms(submission.matrix, submission.analytes or [], submission.methods or [])


def _specialty(submission: Submission, pool: Pool) -> np.ndarray:
    return pool.files.specialties.overlap(_terms(submission))


def rank(
    session: Session,
    submission: Submission,
    rules: Rules,
    *,
    today: dt.date | None = None,
    k: int = 50,
    skip_ids: Iterable[int] = (),
    pool: Pool | None = None,
    excluded_page: int = 1,
    excluded_per_page: int = EXCLUDED_SHOWN,
) -> Ranking:
    """Eligible candidates (best first, at most `k`), excluded experts with reasons (one page of
    them, best-scoring first, and the count per reason), a panel."""
    start = time.perf_counter()
    today = today or dt.date.today()
    pool = pool or Pool.load(session, today, rules)
    cfg = scoring_config()
    scores, rows, row_expert, row_scores, matrix = pool_scores(session, submission, pool, cfg)
    masks = exclusion_masks(pool.table, submission_record(submission), rules, today)
    excluded = np.zeros(len(pool), bool)
    for mask in masks.values():
        excluded |= mask
    considered = ~np.isin(pool.ids, np.fromiter(skip_ids, np.int64))
    order = np.lexsort((np.arange(len(scores.total)), -scores.total))
    eligible = order[(~excluded & considered)[order]][:k]
    out_order = order[(excluded & considered)[order]]
    per_page = max(1, excluded_per_page)
    page = min(max(1, excluded_page), max(1, -(-len(out_order) // per_page)))
    shown_out = out_order[(page - 1) * per_page : page * per_page]
    experts = _experts(session, pool.ids[np.concatenate([eligible, shown_out])])
    explainer = _Explainer(submission, pool, scores, rows, row_expert, row_scores, matrix, cfg)

    def candidate(i: int, exclusions: list[Exclusion] | None = None) -> Candidate | None:
        expert = experts.get(int(pool.ids[i]))
        if expert is None:  # deleted since the pool was read
            return None
        return Candidate(
            expert, float(scores.total[i]), lambda: explainer(i, expert), exclusions or []
        )

    candidates = [c for c in map(candidate, eligible) if c is not None]
    out = [
        candidate(i, [Exclusion(code) for code in CODES if code in masks and masks[code][i]])
        for i in shown_out
    ]
    panel = build_panel(
        [(c.expert.id, c.score) for c in candidates],
        {int(pool.ids[i]): pool.record(i) for i in eligible},
        rules,
    )
    return Ranking(
        submission,
        candidates,
        [c for c in out if c is not None],
        panel,
        rules,
        len(pool),
        (time.perf_counter() - start) * 1000,
        get_store().model_id,
        excluded_total=len(out_order),
        excluded_counts={
            code: int((masks[code] & considered).sum())
            for code in CODES
            if code in masks and (masks[code] & considered).any()
        },
        excluded_page=page,
        excluded_per_page=per_page,
    )


def _experts(session: Session, ids: np.ndarray) -> dict[int, Expert]:
    """The experts a page shows, with the texts their explanations quote."""
    stmt = (
        select(Expert)
        .where(Expert.id.in_([int(i) for i in ids]))
        .options(
            selectinload(Expert.publications),
            selectinload(Expert.developed_rms),
            selectinload(Expert.past_reviews),
        )
    )
    return {e.id: e for e in session.scalars(stmt)} if len(ids) else {}


class _Explainer:
    """Builds each candidate's explanation from the arrays the ranking already computed."""

    def __init__(
        self,
        submission: Submission,
        pool: Pool,
        scores: PoolScores,
        rows: np.ndarray,
        row_expert: np.ndarray,
        row_scores: np.ndarray,
        matrix: Any,
        cfg: ScoringConfig,
    ) -> None:
        self.submission, self.pool, self.scores, self.cfg = submission, pool, scores, cfg
        from .sync import expert_keyword_index

        self.terms = _terms(submission)
        self.query_words = _query_words(submission)
        self.analyzer = expert_keyword_index().analyzer
        # The pool's texts grouped by expert once (a sort, not a Python loop over every text of
        # the pool), so each explanation looks up its own with a binary search.
        order = np.argsort(row_expert, kind="stable")
        self._row_positions, self._rows = row_expert[order], rows[order]
        self._row_scores, self._chunks = row_scores, matrix.chunks
        semantic = scores.semantic
        self._semantic_range = (
            (float(semantic.min()), float(semantic.max())) if semantic.size else (0.0, 0.0)
        )

    def _scaled_semantic(self, i: int) -> float:
        """The expert's semantic score as fused: min-max scaled over the pool when configured."""
        value = float(self.scores.semantic[i])
        if not self.cfg.semantic_minmax:
            return value
        low, high = self._semantic_range
        return (value - low) / (high - low) if high > low else 0.0

    def _rows_of(self, i: int) -> list[tuple[float, str]]:
        lo, hi = np.searchsorted(self._row_positions, [i, i + 1])
        return [(float(self._row_scores[r]), self._chunks[r]) for r in self._rows[lo:hi]]

    def __call__(self, i: int, expert: Expert) -> Explanation:
        w = self.cfg.weights
        total_w = w.semantic + w.keyword + w.category + w.specialty or 1.0
        semantic = float(self.scores.semantic[i])
        parts = {
            "semantic": round(w.semantic * self._scaled_semantic(i) / total_w, 4),
            "keyword": round(w.keyword * float(self.scores.keyword[i]) / total_w, 4),
            "category": round(w.category * float(self.scores.category[i]) / total_w, 4),
            "specialty": round(w.specialty * float(self.scores.specialty[i]) / total_w, 4),
            "similarity": round(semantic, 4),
        }
        specialties = [
            s.name for s in expert.specialties if any(_covers(t, s.name) for t in self.terms)
        ]
        cats = [self.submission.category] if self.scores.category[i] else []
        return Explanation(parts, cats, specialties, self._texts(expert, i))

    def _texts(self, expert: Expert, i: int, n: int = 3) -> list[dict[str, Any]]:
        texts = chunk_texts(ExpertTexts.from_model(expert))
        best = sorted(self._rows_of(i), reverse=True)[:n]
        out = []
        for score, chunk in best:
            text = texts.get(chunk, "")
            marked = highlight_text(
                text, self.query_words, self.analyzer, maxchars=200, surround=60
            )
            out.append(
                {
                    "chunk": chunk,
                    "label": chunk_label(chunk)[0],
                    "score": round(score, 4),
                    "html": marked.html if marked else _escape(text[:200]),
                }
            )
        return out


def _covers(term: str, specialty: str) -> bool:
    from .scoring import fold

    a, b = fold(term), fold(specialty)
    return bool(a and b) and (a in b or b in a)


def _query_words(submission: Submission) -> frozenset[str]:
    from .sync import expert_keyword_index

    index = expert_keyword_index()
    words = index.query_terms(
        submission_query(
            submission.title,
            submission.rm_name,
            submission.matrix,
            submission.analytes or [],
            submission.methods or [],
        )
    )
    # Single characters and short Latin words are marked only when the submission names them
    # on their own (analytes 铅, 镉, Pb; a matrix; a method), never as fragments of a title.
    named = [*(submission.analytes or []), *(submission.methods or []), submission.matrix or ""]
    return frozenset(w for w in words if markable(w, named))


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
