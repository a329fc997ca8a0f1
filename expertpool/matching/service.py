"""Ranking a submission's candidate experts: scores, explanations, exclusions and a panel.

Reads the database and the indexes, then hands plain arrays to the pure core (scoring,
constraints, panel). One call ranks the whole pool, so an administrator also sees who is
excluded and why.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..core.assignment.constraints import CODES, ExpertTable, exclusion_masks
from ..core.assignment.panel import Panel, build_panel
from ..core.assignment.records import Exclusion, ExpertRecord, Rules
from ..core.embeddings.store import get_store
from ..core.search.highlight import highlight_text, markable
from ..experts.models import Expert
from ..reviews.eligibility import expert_record, submission_record, yearly_loads
from ..submissions.models import Submission
from ..submissions.text import matching_text
from .scoring import PoolScores, ScoringConfig, score_pool, specialty_overlap, submission_terms
from .texts import EXPERT_INDEX, ExpertTexts, chunk_label, chunk_texts, submission_query

EXCLUDED_SHOWN = 30  # excluded experts listed below the ranking, best-scoring first
_EAGER = (
    selectinload(Expert.categories),
    selectinload(Expert.specialties),
    selectinload(Expert.publications),
    selectinload(Expert.developed_rms),
    selectinload(Expert.past_reviews),
    selectinload(Expert.unavailable_periods),
    selectinload(Expert.conflicts),
    selectinload(Expert.employments),
)


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


@dataclass
class Candidate:
    expert: Expert
    score: float
    explanation: Explanation
    exclusions: list[Exclusion] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.exclusions


@dataclass
class Ranking:
    submission: Submission
    candidates: list[Candidate]
    excluded: list[Candidate]
    panel: Panel
    rules: Rules
    pool_size: int
    elapsed_ms: float
    model_id: str

    def candidate(self, expert_id: int) -> Candidate | None:
        return next((c for c in self.candidates if c.expert.id == expert_id), None)


@dataclass
class Pool:
    """The experts a ranking considers, in one fixed order, with their core records."""

    experts: list[Expert]
    records: list[ExpertRecord]
    table: ExpertTable
    index: dict[int, int]  # expert id -> position

    @classmethod
    def load(
        cls, session: Session, today: dt.date, rules: Rules, statuses: Sequence[str] | None = None
    ) -> Pool:
        stmt = select(Expert).options(*_EAGER).order_by(Expert.id)
        if statuses:
            stmt = stmt.where(Expert.status.in_(list(statuses)))
        experts = list(session.scalars(stmt))
        loads = yearly_loads(session, today.year)
        trained = _trained(session, [e.id for e in experts]) if rules.require_training else None
        records = [
            expert_record(
                session,
                e,
                today,
                load=loads.get(e.id, 0),
                training_ok=None if trained is None else e.id in trained,
            )
            for e in experts
        ]
        return cls(
            experts,
            records,
            ExpertTable.from_records(records),
            {e.id: i for i, e in enumerate(experts)},
        )

    def positions(self, expert_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Pool position of each expert id, -1 for experts not in the pool (vectorised)."""
        ids = np.asarray(expert_ids, dtype=np.int64)
        if not self.experts or not ids.size:
            return np.full(ids.shape, -1, dtype=np.int64)
        sorted_ids, order = self._id_order
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == ids, order[at], -1)

    def spread(self, expert_ids: Sequence[int], values: np.ndarray) -> np.ndarray:
        """A pool-ordered array holding `values` at the given experts' positions, 0 elsewhere."""
        out = np.zeros(len(self.experts))
        at = self.positions(expert_ids)
        known = at >= 0
        out[at[known]] = np.asarray(values, dtype=np.float64)[known]
        return out

    @cached_property
    def _id_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Expert ids sorted, and the pool position of each."""
        ids = np.array([e.id for e in self.experts], dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], order


def _trained(session: Session, ids: list[int]) -> set[int]:
    from courses.queries import experts_with_required_training

    return experts_with_required_training(session, ids)


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
    return np.array([1.0 if submission.category in e.category_codes else 0.0 for e in pool.experts])


def _terms(submission: Submission) -> list[str]:
    return submission_terms(submission.matrix, submission.analytes or [], submission.methods or [])


def _specialty(submission: Submission, pool: Pool) -> np.ndarray:
    return specialty_overlap(
        _terms(submission), [[s.name for s in e.specialties] for e in pool.experts]
    )


def rank(
    session: Session,
    submission: Submission,
    rules: Rules,
    *,
    today: dt.date | None = None,
    k: int = 50,
    skip_ids: Iterable[int] = (),
    pool: Pool | None = None,
) -> Ranking:
    """Eligible candidates (best first, at most `k`), excluded experts with reasons, a panel."""
    start = time.perf_counter()
    today = today or dt.date.today()
    pool = pool or Pool.load(session, today, rules)
    cfg = scoring_config()
    scores, rows, row_expert, row_scores, matrix = pool_scores(session, submission, pool, cfg)
    sub_record = submission_record(submission)
    masks = exclusion_masks(pool.table, sub_record, rules, today)
    excluded = np.zeros(len(pool.experts), bool)
    for mask in masks.values():
        excluded |= mask
    skip = np.isin(np.array([e.id for e in pool.experts]), list(skip_ids))
    order = np.lexsort((np.arange(len(scores.total)), -scores.total))
    eligible = [i for i in order if not excluded[i] and not skip[i]][:k]
    shown_out = [i for i in order if excluded[i] and not skip[i]][:EXCLUDED_SHOWN]
    explain = _Explainer(submission, pool, scores, rows, row_expert, row_scores, matrix, cfg)
    candidates = [Candidate(pool.experts[i], float(scores.total[i]), explain(i)) for i in eligible]
    out = [
        Candidate(
            pool.experts[i],
            float(scores.total[i]),
            explain(i),
            [Exclusion(code) for code in CODES if code in masks and masks[code][i]],
        )
        for i in shown_out
    ]
    panel = build_panel(
        [(c.expert.id, c.score) for c in candidates],
        {pool.experts[i].id: pool.records[i] for i in eligible},
        rules,
    )
    return Ranking(
        submission,
        candidates,
        out,
        panel,
        rules,
        len(pool.experts),
        (time.perf_counter() - start) * 1000,
        get_store().model_id,
    )


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

    def __call__(self, i: int) -> Explanation:
        expert = self.pool.experts[i]
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
