"""Ranking a submission's candidate experts: scores, explanations, exclusions and a panel.

Scores every expert of the pool (`snapshot.Pool`: plain records and arrays, kept per process
while the database says they are current) with the pure core (scoring, constraints, panel), so
an administrator also sees who is excluded and why. Only the experts a page shows are loaded
as ORM entities, and an explanation (matching fields, best-matching texts with highlighted
words) is built when it is first read, i.e. only for the candidates shown. Quoting the texts is
most of an explanation's cost (reading and highlighting three texts): a page may ask a
candidate for its `summary` (the score's parts and the matching fields) and quote only the
candidates it shows in full (`Ranking.quote`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ..core.assignment.constraints import (
    CODES,
    eligibility,
    exclusion_masks,
    possible_conflicts,
)
from ..core.assignment.panel import Panel, build_panel
from ..core.assignment.records import Exclusion, Rules
from ..core.embeddings.fairness import guess_lang
from ..core.embeddings.queries import query_vector
from ..core.embeddings.store import get_store
from ..core.search.highlight import highlight_text, markable
from ..experts.models import DevelopedRM, Expert, PastReview, Publication
from ..reviews.eligibility import submission_record
from ..submissions.models import Submission
from ..submissions.text import matching_text
from .scoring import PoolScores, ScoringConfig, fold, score_pool, submission_terms
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
    explain: Callable[[bool], Explanation] = field(repr=False)  # (quote the texts?)
    exclusions: list[Exclusion] = field(default_factory=list)
    # Possible conflicts (a common name, initials, pinyin): shown to the administrator, never excluding.
    warnings: list[Exclusion] = field(default_factory=list)

    @cached_property
    def explanation(self) -> Explanation:
        """Built on first use: a page explains the candidates it shows, not the whole pool."""
        return self.explain(True)

    @cached_property
    def summary(self) -> Explanation:
        """The explanation without its quoted texts (`texts` is empty): the cheap part."""
        if "explanation" in self.__dict__:
            return dataclasses.replace(self.explanation, texts=[])
        return self.explain(False)

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
    explainer: _Explainer | None = field(default=None, repr=False)

    def candidate(self, expert_id: int) -> Candidate | None:
        return next((c for c in self.candidates if c.expert.id == expert_id), None)

    def quote(self, expert_ids: Iterable[int]) -> None:
        """Only these candidates' texts will be quoted: read them together with the first
        (by default every eligible candidate's are)."""
        if self.explainer is not None:
            self.explainer.expect(list(expert_ids))


def scoring_config() -> ScoringConfig:
    return ScoringConfig.from_mapping(current_app.config)


def pool_scores(
    session: Session, submission: Submission, pool: Pool, cfg: ScoringConfig
) -> tuple[PoolScores, np.ndarray, np.ndarray, np.ndarray, Any]:
    """Scores of every pool expert, plus the rows (texts) behind the semantic part: the
    matrix rows of pool experts, their experts' pool positions, every row's score, the matrix."""
    store = get_store()
    text = matching_text(submission)
    # Embedded once per text and model for every process (usually by the job that ran when the
    # submission was saved: `submission_vectors`), not on every view.
    query = query_vector(session, store.encoder, text)
    matrix, row_scores = store.score_all(EXPERT_INDEX, query)
    known = pool.positions(matrix.source_ids)
    keep = known >= 0
    row_expert = known[keep]
    scores = score_pool(
        row_scores[keep],
        row_expert,
        keyword_scores(submission, pool, cfg.keyword_pairs, cfg.keyword_description),
        category_overlap(submission, pool),
        _specialty(submission, pool),
        cfg,
        _centroid(store, matrix, query, text, pool) if cfg.centroid_weight > 0 else None,
    )
    return scores, np.flatnonzero(keep), row_expert, row_scores, matrix


def _centroid(store: Any, matrix: Any, query: np.ndarray, text: str, pool: Pool) -> np.ndarray:
    """Each pool expert's centroid similarity, in pool order."""
    return store.centroids(EXPERT_INDEX, matrix).scores_for(pool.ids, query, guess_lang(text))


def keyword_scores(
    submission: Submission,
    pool: Pool,
    max_pairs: int | None = None,
    description: bool = False,
) -> np.ndarray:
    """BM25F score of every pool expert for the submission's own field words, and its
    description when ``description`` (0 if none)."""
    from .sync import expert_keyword_index

    query = submission_query(
        submission.title,
        submission.rm_name,
        submission.matrix,
        submission.analytes or [],
        submission.methods or [],
        submission.description if description else None,
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
    return pool.specialty_overlap(_terms(submission))


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
    excluded_per_page: int | None = None,
    among: Iterable[int] | None = None,
) -> Ranking:
    """Eligible candidates (best first, at most `k`), excluded experts with reasons (one page of
    them, best-scoring first, and the count per reason), a panel.

    `among`: only these experts are wanted (panel assignment checks the chosen ones): the
    candidates are those of the `k` best eligible that are among them, no excluded expert is
    listed (the counts stay) and the panel is built from them alone; what costs per candidate
    (the expert's entity, conflict warnings, texts for explanations) is spent on those only."""
    start = time.perf_counter()
    today = today or dt.date.today()
    pool = pool or Pool.load(session, today, rules)
    cfg = scoring_config()
    scores, rows, row_expert, row_scores, matrix = pool_scores(session, submission, pool, cfg)
    record = submission_record(submission)
    masks = exclusion_masks(pool.table, record, rules, today)
    excluded = np.zeros(len(pool), bool)
    for mask in masks.values():
        excluded |= mask
    considered = ~np.isin(pool.ids, np.fromiter(skip_ids, np.int64))
    order = np.lexsort((np.arange(len(scores.total)), -scores.total))
    eligible = order[(~excluded & considered)[order]][:k]
    out_order = order[(excluded & considered)[order]]
    per_page = max(1, excluded_per_page or EXCLUDED_SHOWN)
    page = min(max(1, excluded_page), max(1, -(-len(out_order) // per_page)))
    shown_out = out_order[(page - 1) * per_page : page * per_page]
    if among is not None:
        wanted = np.fromiter(among, np.int64)
        eligible = eligible[np.isin(pool.ids[eligible], wanted)]
        shown_out = shown_out[:0]
    experts = _experts(session, pool.ids[np.concatenate([eligible, shown_out])])
    explainer = _Explainer(
        session, submission, pool, scores, rows, row_expert, row_scores, matrix, cfg
    )
    # Explanations quote texts: those of every eligible candidate shown are read together,
    # when the first explanation is.
    explainer.expect([int(pool.ids[i]) for i in eligible])

    def candidate(i: int, exclusions: list[Exclusion] | None = None) -> Candidate | None:
        expert = experts.get(int(pool.ids[i]))
        if expert is None:  # deleted since the pool was read
            return None
        return Candidate(
            expert,
            float(scores.total[i]),
            lambda quote: explainer(i, expert, quote=quote),
            exclusions or [],
            possible_conflicts(pool.record(i), record, rules, today),
        )

    def evidence(i: int) -> list[Exclusion]:
        """The reasons with their evidence (the paper, the domain, the person), from the
        scalar rules, which agree with the masks code by code (a property test checks it)."""
        found = {x.code: x for x in eligibility(pool.record(i), record, rules, today)}
        return [
            found.get(code, Exclusion(code)) for code in CODES if code in masks and masks[code][i]
        ]

    candidates = [c for c in map(candidate, eligible) if c is not None]
    out = [candidate(i, evidence(i)) for i in shown_out]
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
        explainer=explainer,
    )


def _experts(session: Session, ids: np.ndarray) -> dict[int, Expert]:
    """The experts a page shows (their file's parts load only if something reads them)."""
    if not len(ids):
        return {}
    stmt = (
        select(Expert)
        .where(Expert.id.in_([int(i) for i in ids]))
        .options(lazyload(Expert.categories), lazyload(Expert.specialties))
    )
    return {e.id: e for e in session.scalars(stmt)}


class _Explainer:
    """Builds each candidate's explanation from the arrays the ranking already computed."""

    def __init__(
        self,
        session: Session,
        submission: Submission,
        pool: Pool,
        scores: PoolScores,
        rows: np.ndarray,
        row_expert: np.ndarray,
        row_scores: np.ndarray,
        matrix: Any,
        cfg: ScoringConfig,
    ) -> None:
        self.session, self.submission, self.pool = session, submission, pool
        self.scores, self.cfg = scores, cfg
        self._rows, self._row_expert, self._row_scores = rows, row_expert, row_scores
        self._chunks = matrix.chunks
        self._expected: list[int] = []
        self._texts: dict[int, dict[str, str]] = {}

    def expect(self, expert_ids: list[int]) -> None:
        """Experts likely to be explained: their texts are read in one go with the first one."""
        self._expected = expert_ids

    @cached_property
    def _query(self) -> tuple[list[str], frozenset[str], Any]:
        """The submission's terms (folded), its analysed query words, the analyser."""
        from .sync import expert_keyword_index

        return (
            [t for t in (fold(t) for t in _terms(self.submission)) if t],
            _query_words(self.submission),
            expert_keyword_index().analyzer,
        )

    def _covered(self, specialty: str) -> bool:
        """Whether the specialty covers one of the submission's terms (`_covers`)."""
        folded = fold(specialty)
        return bool(folded) and any(t in folded or folded in t for t in self._query[0])

    @cached_property
    def _grouped(self) -> tuple[np.ndarray, np.ndarray]:
        # The pool's texts grouped by expert once (a sort, not a Python loop over every text of
        # the pool), so each explanation looks up its own with a binary search.
        order = np.argsort(self._row_expert, kind="stable")
        return self._row_expert[order], self._rows[order]

    def _rows_of(self, i: int) -> list[tuple[float, str]]:
        positions, rows = self._grouped
        lo, hi = np.searchsorted(positions, [i, i + 1])
        return [(float(self._row_scores[r]), self._chunks[r]) for r in rows[lo:hi]]

    def _best(self, i: int, n: int = 3) -> list[tuple[float, str]]:
        return sorted(self._rows_of(i), reverse=True)[:n]

    def __call__(self, i: int, expert: Expert, *, quote: bool = True) -> Explanation:
        w = self.cfg.weights
        total_w = w.semantic + w.keyword + w.category + w.specialty or 1.0
        semantic = float(self.scores.semantic[i])
        parts = {
            "semantic": round(w.semantic * float(self.scores.fused_semantic[i]) / total_w, 4),
            "keyword": round(w.keyword * float(self.scores.keyword[i]) / total_w, 4),
            "category": round(w.category * float(self.scores.category[i]) / total_w, 4),
            "specialty": round(w.specialty * float(self.scores.specialty[i]) / total_w, 4),
            "similarity": round(semantic, 4),
        }
        if self.scores.centroid is not None:  # the expert's work as a whole (issue 13)
            parts["centroid"] = round(float(self.scores.centroid[i]), 4)
        specialties = [
            name for _kind, name in self.pool.specialties(expert.id) if self._covered(name)
        ]
        cats = [self.submission.category] if self.scores.category[i] else []
        return Explanation(parts, cats, specialties, self._quoted(expert, i) if quote else [])

    def _quoted(self, expert: Expert, i: int) -> list[dict[str, Any]]:
        _terms_, words, analyzer = self._query
        best = self._best(i)
        texts = self._texts_of(expert, [chunk for _score, chunk in best])
        out = []
        for score, chunk in best:
            text = texts.get(chunk, "")
            marked = highlight_text(text, words, analyzer, maxchars=200, surround=60)
            out.append(
                {
                    "chunk": chunk,
                    "label": chunk_label(chunk)[0],
                    "score": round(score, 4),
                    "html": marked.html if marked else _escape(text[:200]),
                }
            )
        return out

    def _texts_of(self, expert: Expert, chunks: list[str]) -> dict[str, str]:
        if expert.id not in self._texts:
            wanted = {expert.id: chunks}
            if expert.id in self._expected:
                wanted |= {
                    e: [c for _s, c in self._best(self.pool.index[e])]
                    for e in self._expected
                    if e not in self._texts
                }
            experts = {e: self.session.get(Expert, e) for e in wanted}
            self._texts |= _chunk_texts(self.session, self.pool, experts, wanted)
        return self._texts.get(expert.id, {})


def _chunk_texts(
    session: Session, pool: Pool, experts: dict[int, Expert | None], wanted: dict[int, list[str]]
) -> dict[int, dict[str, str]]:
    """The texts of the given chunks of each expert, as the vectors were computed from them:
    the profile and review fields from the expert and the pool, each publication, RM developed
    and past review it names from a column-only SELECT by id."""
    ids: dict[str, set[int]] = {"pub": set(), "rm": set(), "review": set()}
    for chunks in wanted.values():
        for chunk in chunks:
            kind, ident = chunk_label(chunk)
            if kind in ids and ident is not None:
                ids[kind].add(ident)
    parts = {
        "pub": _rows_by_expert(
            session,
            select(
                Publication.id,
                Publication.expert_id,
                Publication.title,
                Publication.abstract,
                Publication.language,
            ).where(Publication.id.in_(ids["pub"])),
        ),
        "rm": _rows_by_expert(
            session,
            select(
                DevelopedRM.id, DevelopedRM.expert_id, DevelopedRM.gbw_number, DevelopedRM.name
            ).where(DevelopedRM.id.in_(ids["rm"])),
        ),
        "review": _rows_by_expert(
            session,
            select(
                PastReview.id,
                PastReview.expert_id,
                PastReview.rm_name,
                PastReview.gbw_number,
                PastReview.note,
            ).where(PastReview.id.in_(ids["review"])),
        ),
    }
    out = {}
    for expert_id, expert in experts.items():
        if expert is None:
            continue
        record = pool.experts.records[pool.index[expert_id]]
        specialties = pool.specialties(expert_id)
        texts = ExpertTexts.from_parts(
            expert,
            sorted(record.categories),
            {
                k: [n for kind, n in specialties if kind == k]
                for k in ("analyte", "matrix", "technique")
            },
            parts["pub"].get(expert_id, ()),
            parts["rm"].get(expert_id, ()),
            parts["review"].get(expert_id, ()),
        )
        out[expert_id] = chunk_texts(texts)
    return out


def _rows_by_expert(session: Session, stmt: Any) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for row in session.execute(stmt):
        out.setdefault(row.expert_id, []).append(row)
    return out


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
