"""Affinity scores in OpenReview's expertise format, so programmes can compare matchers.

Input: a folder of `~<reviewer id>.jsonl` archives, one JSON object per line
`{"id": ..., "content": {"title": ..., "abstract": ...}}` (OpenReview API v2 wraps values as
`{"value": ...}`; both forms are read), and the submissions as a JSON list (or an object keyed
by id) of the same shape. Output: `{reviewer id: {submission id: score}}`, scores in [0, 1].

The score is the application's own (`scoring.score_pool`): each reviewer is an expert whose
publications are their papers (`texts.ExpertTexts`), chunked and embedded as the application
does, with a throwaway BM25F keyword index of the same fields and boosts. Semantic and keyword
scores are fused with the application's weights (`ScoringConfig`); categories and specialties,
which archives do not have, are absent signals, so the remaining weights are renormalised. The
keyword query is the submission's title and abstract (a submission in the application uses its
title and field words), of which the `keyword_pairs` rarest (field, word) pairs count.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..core.embeddings.centroids import Centroids
from ..core.embeddings.fairness import guess_lang
from ..core.embeddings.matrix import VectorMatrix
from ..core.search import IndexManager
from .scoring import ScoringConfig, score_pool
from .sync import EXPERT_SPEC
from .texts import ExpertTexts, keyword_document, text_items

Progress = Callable[[int], None]


class FormatError(ValueError):
    """An input file does not follow the expertise format; the message names file and line."""


@dataclass
class Paper:
    id: str
    title: str
    abstract: str

    @property
    def text(self) -> str:
        return ". ".join(t for t in (self.title, self.abstract) if t)


def _value(field: Any) -> str:
    if isinstance(field, dict):
        field = field.get("value", "")
    if isinstance(field, list):
        field = " ".join(map(str, field))
    return str(field or "").strip()


def read_paper(obj: Any, default_id: str) -> Paper:
    if not isinstance(obj, dict):
        raise FormatError("expected a JSON object")
    content = obj.get("content") or {}
    if not isinstance(content, dict):
        raise FormatError("'content' must be an object")
    return Paper(
        str(obj.get("id", default_id)),
        _value(content.get("title")),
        _value(content.get("abstract")),
    )


def read_archives(folder: Path) -> dict[str, list[Paper]]:
    """Reviewer id (the file name without .jsonl, keeping its '~') -> their papers."""
    if not folder.is_dir():
        raise FormatError(f"{folder}: not a folder")
    out: dict[str, list[Paper]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        try:
            lines = path.read_text("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise FormatError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
        papers = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                paper = read_paper(json.loads(line), f"{path.stem}:{number}")
            except (json.JSONDecodeError, FormatError) as exc:
                raise FormatError(f"{path.name}, line {number}: {exc}") from exc
            if paper.text:
                papers.append(paper)
        out[path.stem] = papers
    if not out:
        raise FormatError(f"{folder}: no .jsonl archives")
    return out


def read_submissions(path: Path) -> dict[str, Paper]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path.name}: not JSON ({exc})") from exc
    items: Iterable[tuple[str, Any]]
    if isinstance(data, dict):
        items = ((str(key), obj) for key, obj in data.items())
    elif isinstance(data, list):
        items = (
            (str(obj.get("id", i)) if isinstance(obj, dict) else str(i), obj)
            for i, obj in enumerate(data)
        )
    else:
        raise FormatError(f"{path.name}: expected a list or an object of submissions")
    out = {}
    for key, obj in items:
        try:
            paper = read_paper(obj, key)
        except FormatError as exc:
            raise FormatError(f"{path.name}: submission {key}: {exc}") from exc
        if not paper.text:
            raise FormatError(f"{path.name}: submission {key} has neither title nor abstract")
        out[key] = paper
    return out


def expert_texts(position: int, papers: list[Paper]) -> ExpertTexts:
    """A reviewer as the application sees an expert: their papers as publications."""
    return ExpertTexts(
        id=position,
        publications=[(n, p.title, p.abstract, "") for n, p in enumerate(papers)],
    )


def affinity(
    archives: dict[str, list[Paper]],
    submissions: dict[str, Paper],
    encoder: Any,
    calibration: dict[str, np.ndarray] | None,
    cfg: ScoringConfig | None = None,
    progress: Progress | None = None,
    *,
    semantic: bool = True,
    keyword: bool = True,
) -> dict[str, dict[str, float]]:
    """Score every reviewer (with papers) against every submission as the application would.

    `semantic=False` / `keyword=False` switch a part off (its weight becomes 0).
    """
    cfg = cfg or ScoringConfig()
    weights = replace(
        cfg.weights,
        semantic=cfg.weights.semantic if semantic else 0.0,
        keyword=cfg.weights.keyword if keyword else 0.0,
    )
    if weights.semantic + weights.keyword <= 0:
        raise ValueError("the semantic and keyword parts are both off (or weighted 0)")
    cfg = replace(cfg, weights=weights)
    out: dict[str, dict[str, float]] = {r: {} for r in archives}
    reviewers = [r for r, papers in archives.items() if papers]
    experts = [expert_texts(i, archives[r]) for i, r in enumerate(reviewers)]
    sub_ids = list(submissions)
    n = len(experts)
    semantic_rows = _semantic_rows(experts, submissions, encoder, calibration) if semantic else None
    keyword_rows = _keyword_rows(experts, submissions, cfg) if keyword else None
    row_expert = semantic_rows[0] if semantic_rows else np.zeros(0, np.int64)
    for j, sub_id in enumerate(sub_ids):
        pool = score_pool(
            semantic_rows[1][j] if semantic_rows else np.zeros(0),
            row_expert,
            keyword_rows[j] if keyword_rows is not None else np.zeros(n),
            None,
            None,
            cfg,
            semantic_rows[2][j] if semantic_rows else None,
        )
        total = np.clip(pool.total, 0.0, 1.0)
        for i, reviewer in enumerate(reviewers):
            out[reviewer][sub_id] = round(float(total[i]), 6)
        if progress:
            progress(1)
    return out


def _semantic_rows(
    experts: list[ExpertTexts],
    submissions: dict[str, Paper],
    encoder: Any,
    calibration: dict[str, np.ndarray] | None,
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Each text's expert position and, per submission, each text's language-fair score and
    each expert's centroid similarity (as the application scores them)."""
    items = [item for e in experts for item in text_items(e)]
    texts = [item.text for item in items]
    vectors = encoder.encode_document(texts) if texts else np.zeros((0, encoder.dim), np.float32)
    row_expert = np.array([item.source_id for item in items], dtype=np.int64)
    matrix = VectorMatrix(
        dim=encoder.dim,
        row_ids=np.arange(len(items)),
        source_types=tuple(item.source_type for item in items),
        source_ids=row_expert,
        chunks=tuple(item.chunk for item in items),
        langs=tuple(item.lang or guess_lang(item.text) for item in items),
        vectors=vectors,
    )
    queries = [p.text for p in submissions.values()]
    encoded = encoder.encode_query(queries) if queries else []
    centroids = Centroids.of(vectors, row_expert, matrix.langs, calibration)
    positions = np.arange(len(experts), dtype=np.int64)
    return (
        row_expert,
        [matrix.scores(q, calibration) for q in encoded],
        [
            centroids.scores_for(positions, q, guess_lang(t))
            for q, t in zip(encoded, queries, strict=True)
        ],
    )


def _keyword_rows(
    experts: list[ExpertTexts], submissions: dict[str, Paper], cfg: ScoringConfig
) -> list[np.ndarray]:
    """BM25F score of every expert per submission, from a keyword index built and removed here."""
    out = []
    with tempfile.TemporaryDirectory(prefix="openreview-") as tmp:
        manager = IndexManager(Path(tmp))
        index = manager.index(EXPERT_SPEC)
        try:
            index.rebuild((keyword_document(e) for e in experts), len(experts), progress=False)
            for paper in submissions.values():
                scores = np.zeros(len(experts))
                query = f"{paper.title} {paper.abstract}".strip()
                ids, values = index.term_scores(query, int_ids=True, max_pairs=cfg.keyword_pairs)
                scores[ids] = values
                out.append(scores)
        finally:
            manager.close()
    return out
