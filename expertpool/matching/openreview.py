"""Affinity scores in OpenReview's expertise format, so programmes can compare matchers.

Input: a folder of `~<reviewer id>.jsonl` archives, one JSON object per line
`{"id": ..., "content": {"title": ..., "abstract": ...}}` (OpenReview API v2 wraps values as
`{"value": ...}`; both forms are read), and the submissions as a JSON list (or an object keyed
by id) of the same shape. Output: `{reviewer id: {submission id: score}}`.

A reviewer's score is the softmax-weighted mean (temperature 0.05) of their papers'
language-fair similarities, the aggregation our own evaluation chose for experts' texts
(`--aggregation max` gives OpenReview's "max" variant, `mean_top_k` the mean of the best k).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.embeddings.fairness import guess_lang
from ..core.embeddings.matrix import VectorMatrix
from .scoring import ScoringConfig, aggregate

Progress = Callable[[int], None]


class FormatError(ValueError):
    """An input file does not follow the expertise format; the message names file and line."""


@dataclass
class Paper:
    id: str
    text: str


def _value(field: Any) -> str:
    if isinstance(field, dict):
        field = field.get("value", "")
    if isinstance(field, list):
        field = " ".join(map(str, field))
    return str(field or "").strip()


def paper_text(obj: dict[str, Any]) -> str:
    content = obj.get("content") or {}
    if not isinstance(content, dict):
        raise FormatError("'content' must be an object")
    return ". ".join(
        t for t in (_value(content.get("title")), _value(content.get("abstract"))) if t
    )


def read_archives(folder: Path) -> dict[str, list[Paper]]:
    """Reviewer id (the file name without .jsonl, keeping its '~') -> their papers."""
    if not folder.is_dir():
        raise FormatError(f"{folder}: not a folder")
    out: dict[str, list[Paper]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        papers = []
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = paper_text(obj)
            except (json.JSONDecodeError, FormatError, AttributeError) as exc:
                raise FormatError(f"{path.name}, line {number}: {exc}") from exc
            if text:
                papers.append(Paper(str(obj.get("id", f"{path.stem}:{number}")), text))
        out[path.stem] = papers
    if not out:
        raise FormatError(f"{folder}: no .jsonl archives")
    return out


def read_submissions(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path.name}: not JSON ({exc})") from exc
    items: Iterable[tuple[str, Any]]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(obj.get("id", i)), obj) for i, obj in enumerate(data))
    else:
        raise FormatError(f"{path.name}: expected a list or an object of submissions")
    out = {}
    for key, obj in items:
        if not isinstance(obj, dict):
            raise FormatError(f"{path.name}: submission {key} is not an object")
        out[str(key)] = paper_text(obj)
    return out


def affinity(
    archives: dict[str, list[Paper]],
    submissions: dict[str, str],
    encoder: Any,
    calibration: dict[str, np.ndarray] | None,
    cfg: ScoringConfig | None = None,
    progress: Progress | None = None,
) -> dict[str, dict[str, float]]:
    """Score every reviewer against every submission."""
    cfg = cfg or ScoringConfig()
    reviewers = list(archives)
    papers = [(r, p) for r, items in archives.items() for p in items]
    texts = [p.text for _r, p in papers]
    vectors = encoder.encode_document(texts) if texts else np.zeros((0, encoder.dim), np.float32)
    owner = {r: i for i, r in enumerate(reviewers)}
    row_reviewer = np.array([owner[r] for r, _p in papers], dtype=np.int64)
    matrix = VectorMatrix(
        dim=encoder.dim,
        row_ids=np.arange(len(papers)),
        source_types=tuple("paper" for _ in papers),
        source_ids=row_reviewer,
        chunks=tuple(p.id for _r, p in papers),
        langs=tuple(guess_lang(t) for t in texts),
        vectors=vectors,
    )
    sub_ids = list(submissions)
    queries = encoder.encode_query([submissions[s] for s in sub_ids]) if sub_ids else []
    out: dict[str, dict[str, float]] = {r: {} for r in reviewers}
    for j, query in enumerate(queries):
        per_reviewer = aggregate(
            matrix.scores(query, calibration), row_reviewer, len(reviewers), cfg
        )
        for i, reviewer in enumerate(reviewers):
            if archives[reviewer]:
                out[reviewer][sub_ids[j]] = round(float(per_reviewer[i]), 6)
        if progress:
            progress(1)
    return out
