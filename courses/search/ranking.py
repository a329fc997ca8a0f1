"""Ranking courses from passage hits: pure functions over plain scores (no Flask, no database).

The search finds passages; the page shows them grouped by course. Two things decide which
course comes first, measured with bench/search_quality.py (docs/design/coursesearch.md):

- Generic passages. A checklist or a "how to write the review opinion" passage touches every
  subject in a sentence or two, so it sits close to every question and its course came first
  for questions answered properly elsewhere. `hubness` measures, once per vector matrix, how
  close each passage lies to the material of *other* courses (mean of its nearest cosines
  there); `penalised` lowers a passage's cosine by how much more generic than the median
  passage it is (the idea of CSLS, cross-domain similarity local scaling).
- Roll-up. A course's score comes from its passages' fused scores (`roll_up`); the page then
  lists courses in that order, each with its passages in their own order (`course_order`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

ROLLUPS = ("max", "top2", "lme")


def course_of(doc_id: str) -> str:
    """The course slug of a passage id ("slug:lesson:n")."""
    return doc_id.split(":", 1)[0]


def roll_up(scores: Sequence[float], method: str = "max", temperature: float = 0.1) -> float:
    """One course score from its passages' scores (any order).

    "max": the best passage. "top2": mean of the best two, a missing second counting 0, so
    one lucky passage weighs less than two good ones. "lme": temperature * log(sum(exp(s/t))),
    a soft maximum that rises with every further good passage (by at most t * log n).
    """
    if not len(scores):
        raise ValueError("a course with no passage has no score")
    ordered = sorted(scores, reverse=True)
    if method == "max":
        return float(ordered[0])
    if method == "top2":
        return float((ordered[0] + (ordered[1] if len(ordered) > 1 else 0.0)) / 2)
    if method == "lme":
        s = np.asarray(ordered, float) / temperature
        return float(temperature * (s[0] + np.log(np.exp(s - s[0]).sum())))
    raise ValueError(f"unknown roll-up {method!r}")


def rank_courses(
    hits: Sequence[tuple[str, float]],
    method: str = "max",
    key: Callable[[str], Hashable] = course_of,
    temperature: float = 0.1,
) -> list[tuple[Hashable, float]]:
    """(course, score) best first from (doc id, score) hits; ties keep first-seen order."""
    by_course: dict[Hashable, list[float]] = {}
    for doc_id, score in hits:
        by_course.setdefault(key(doc_id), []).append(score)
    scored = [(c, roll_up(s, method, temperature)) for c, s in by_course.items()]
    return sorted(scored, key=lambda cs: -cs[1])  # stable: first seen wins a tie


def course_order(
    items: Sequence[T],
    doc_id: Callable[[T], str],
    score: Callable[[T], float],
    method: str = "max",
    key: Callable[[str], Hashable] = course_of,
) -> list[T]:
    """`items` (best first) regrouped course by course, courses in roll-up order; within a
    course the items keep their order. With "max" the course order is that of first sight."""
    ranked = rank_courses([(doc_id(i), score(i)) for i in items], method, key)
    place = {course: n for n, (course, _s) in enumerate(ranked)}
    return sorted(items, key=lambda i: place[key(doc_id(i))])  # sorted() is stable


def hubness(
    vectors: np.ndarray, groups: np.ndarray, k: int = 10, background: int = 2000
) -> np.ndarray:
    """Per row: mean of its `k` highest cosines to rows of other groups (courses).

    Rows are unit vectors. The background is every row, or an evenly spaced sample of
    `background` rows in a larger index, so the cost stays at rows x background products.
    A row with fewer than `k` rows of other groups averages what there is (0 with none).
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.float32)
    idx = np.arange(n) if n <= background else np.linspace(0, n - 1, background).astype(int)
    sims = vectors @ vectors[idx].T
    sims[groups[:, None] == groups[idx][None, :]] = -np.inf  # same course: not background
    kk = min(k, len(idx))
    top = -np.sort(-sims, axis=1)[:, :kk]
    finite = np.isfinite(top)
    counts = finite.sum(axis=1)
    sums = np.where(finite, top, 0.0).sum(axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0).astype(np.float32)


def penalised(
    score: float, hub: float, centre: float, weight: float
) -> float:
    """A cosine lowered by `weight` times how far the passage's hubness lies above `centre`
    (the median passage's); passages less generic than the median are raised as much."""
    return score - weight * (hub - centre)
