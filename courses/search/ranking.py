"""Ranking courses from passage hits: pure functions over plain scores (no Flask, no database).

The search finds passages; the page shows them grouped by course. A course's score comes from
its passages' fused scores (`roll_up`); the page lists courses in that order, each with its
passages in their own order (`course_order`). The method is COURSES_SEARCH_ROLLUP, chosen with
bench/search_quality.py (docs/design/coursesearch.md).
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
    # lme's temperature is relative to the best score: fused scores are RRF's ~1/60 or 0..1
    scale = max((abs(s) for _d, s in hits), default=1.0) or 1.0
    scored = [(c, roll_up(s, method, temperature * scale)) for c, s in by_course.items()]
    return sorted(scored, key=lambda cs: -cs[1])  # stable: first seen wins a tie


def course_order(
    items: Sequence[T],
    doc_id: Callable[[T], str],
    score: Callable[[T], float],
    method: str = "max",
    key: Callable[[str], Hashable] = course_of,
    over: Sequence[T] | None = None,
) -> list[T]:
    """`items` (best first) regrouped course by course, courses in roll-up order; within a
    course the items keep their order. With "max" the course order is that of first sight.

    `over`: score the courses over these items (all the candidates, of which `items` is one
    page); by default over `items`.
    """
    pool = items if over is None else over
    ranked = rank_courses([(doc_id(i), score(i)) for i in pool], method, key)
    place = {course: n for n, (course, _s) in enumerate(ranked)}
    last = len(place)  # a course absent from `over` goes last
    return sorted(items, key=lambda i: place.get(key(doc_id(i)), last))  # sorted() is stable
