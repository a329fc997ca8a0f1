"""The ranking as each request computed it before the pool snapshot (main at d1be9a5).

Every expert loaded through the ORM with its file's collections, one `expert_record` each, the
category and specialty scores read from the entities, every candidate's explanation built from
`ExpertTexts.from_model`. The tests compare `matching.service.rank` with it on the same data:
the ranked list, the excluded experts with their reasons, the panel and the explanations must be
the same. Kept apart from the application on purpose: it is the reference, not an alternative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import numpy as np
from flask import current_app
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from courses.queries.training import required_training_states
from expertpool.core.assignment.constraints import CODES, ExpertTable, exclusion_masks
from expertpool.core.assignment.panel import build_panel
from expertpool.core.assignment.records import Rules
from expertpool.core.embeddings.centroids import Centroids
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.store import calibration_vectors, get_store
from expertpool.core.search.highlight import highlight_text
from expertpool.experts.models import Expert
from expertpool.matching.scoring import (
    ScoringConfig,
    fold,
    score_pool,
    specialty_overlap,
    submission_terms,
)
from expertpool.matching.service import _query_words
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import (
    EXPERT_INDEX,
    ExpertTexts,
    chunk_label,
    chunk_texts,
    submission_query,
)
from expertpool.reviews.eligibility import expert_record, submission_record, yearly_loads
from expertpool.submissions.text import matching_text

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


def legacy_rank(
    session: Session,
    submission: Any,
    rules: Rules,
    today: dt.date,
    *,
    k: int = 50,
    skip_ids: Iterable[int] = (),
) -> dict[str, Any]:
    experts = list(session.scalars(select(Expert).options(*_EAGER).order_by(Expert.id)))
    loads = yearly_loads(session, today.year)
    states = (
        required_training_states(session, [e.id for e in experts])
        if rules.require_training
        else None
    )
    records = [
        expert_record(
            session,
            e,
            today,
            load=loads.get(e.id, 0),
            training_ok=None if states is None else states.get(e.id) == "held",
            training_lapsed=states is not None and states.get(e.id) == "lapsed",
        )
        for e in experts
    ]
    index = {e.id: i for i, e in enumerate(experts)}
    cfg = ScoringConfig.from_mapping(current_app.config)
    store = get_store()
    text = matching_text(submission)
    query_vec = store.encoder.encode_query(text)
    matrix, row_scores = store.score_all(EXPERT_INDEX, query_vec)
    positions = np.array([index.get(int(s), -1) for s in matrix.source_ids], dtype=np.int64)
    keep = positions >= 0
    row_expert = positions[keep]
    query = submission_query(
        submission.title,
        submission.rm_name,
        submission.matrix,
        submission.analytes or [],
        submission.methods or [],
        # the setting's input, not a snapshot change: issue 13 added MATCH_KEYWORD_DESCRIPTION
        submission.description if cfg.keyword_description else None,
    )
    keyword = np.zeros(len(experts))
    kw_ids, kw_scores = expert_keyword_index().term_scores(
        query, int_ids=True, max_pairs=cfg.keyword_pairs
    )
    for expert_id, value in zip(kw_ids, kw_scores, strict=True):
        if int(expert_id) in index:
            keyword[index[int(expert_id)]] = value
    terms = submission_terms(submission.matrix, submission.analytes or [], submission.methods or [])
    scores = score_pool(
        row_scores[keep],
        row_expert,
        keyword,
        np.array([1.0 if submission.category in e.category_codes else 0.0 for e in experts]),
        specialty_overlap(terms, [[s.name for s in e.specialties] for e in experts]),
        cfg,
        _centroid(matrix, query_vec, text, experts) if cfg.centroid_weight else None,
    )
    masks = exclusion_masks(
        ExpertTable.from_records(records), submission_record(submission), rules, today
    )
    excluded = np.zeros(len(experts), bool)
    for mask in masks.values():
        excluded |= mask
    skip = set(skip_ids)
    order = np.lexsort((np.arange(len(experts)), -scores.total))
    eligible = [i for i in order if not excluded[i] and experts[i].id not in skip][:k]
    out = [i for i in order if excluded[i] and experts[i].id not in skip]
    panel = build_panel(
        [(experts[i].id, float(scores.total[i])) for i in eligible],
        {experts[i].id: records[i] for i in eligible},
        rules,
    )
    explain = _Explainer(submission, experts, scores, np.flatnonzero(keep), row_expert, row_scores)
    explain.chunks, explain.cfg, explain.terms = matrix.chunks, cfg, terms
    return {
        "candidates": [(experts[i].id, float(scores.total[i])) for i in eligible],
        "excluded": [
            (experts[i].id, float(scores.total[i]), [c for c in CODES if masks[c][i]]) for i in out
        ],
        "panel": panel,
        "explanations": {experts[i].id: explain(i) for i in eligible},
    }


def _centroid(matrix, query_vec, text, experts) -> np.ndarray:
    # issue 13's centroid part, computed from the matrix here rather than the store's cache
    centroids = Centroids.of(matrix.vectors, matrix.source_ids, matrix.langs, _calibration())
    ids = np.array([e.id for e in experts], dtype=np.int64)
    return centroids.scores_for(ids, query_vec, guess_lang(text))


def _calibration():
    store = get_store()
    return calibration_vectors(store.encoder) if store.fairness else None


class _Explainer:
    def __init__(self, submission, experts, scores, rows, row_expert, row_scores) -> None:
        self.submission, self.experts, self.scores = submission, experts, scores
        order = np.argsort(row_expert, kind="stable")
        self.row_positions, self.rows, self.row_scores = row_expert[order], rows[order], row_scores
        self.words = _query_words(submission)
        self.analyzer = expert_keyword_index().analyzer

    def __call__(self, i: int) -> dict[str, Any]:
        expert, w = self.experts[i], self.cfg.weights
        total_w = w.semantic + w.keyword + w.category + w.specialty or 1.0
        semantic = self.scores.semantic
        scaled = float(self.scores.fused_semantic[i])  # issue 13: with the centroid part
        parts = {
            "semantic": round(w.semantic * scaled / total_w, 4),
            "keyword": round(w.keyword * float(self.scores.keyword[i]) / total_w, 4),
            "category": round(w.category * float(self.scores.category[i]) / total_w, 4),
            "specialty": round(w.specialty * float(self.scores.specialty[i]) / total_w, 4),
            "similarity": round(float(semantic[i]), 4),
        }
        if self.scores.centroid is not None:
            parts["centroid"] = round(float(self.scores.centroid[i]), 4)
        specialties = [
            s.name for s in expert.specialties if any(_covers(t, s.name) for t in self.terms)
        ]
        cats = [self.submission.category] if self.scores.category[i] else []
        return {
            "parts": parts,
            "categories": cats,
            "specialties": specialties,
            "texts": self._texts(expert, i),
        }

    def _texts(self, expert: Any, i: int) -> list[dict[str, Any]]:
        texts = chunk_texts(ExpertTexts.from_model(expert))
        lo, hi = np.searchsorted(self.row_positions, [i, i + 1])
        rows = [(float(self.row_scores[r]), self.chunks[r]) for r in self.rows[lo:hi]]
        out = []
        for score, chunk in sorted(rows, reverse=True)[:3]:
            text = texts.get(chunk, "")
            marked = highlight_text(text, self.words, self.analyzer, maxchars=200, surround=60)
            out.append(
                {
                    "chunk": chunk,
                    "label": chunk_label(chunk)[0],
                    "score": round(score, 4),
                    "html": marked.html if marked else str(escape(text[:200])),
                }
            )
        return out


def _covers(term: str, specialty: str) -> bool:
    a, b = fold(term), fold(specialty)
    return bool(a and b) and (a in b or b in a)
