"""bench/search_quality.py: the pure parts of the course-level evaluation, by known answers."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.benchmods import ROOT, bench_module

sys.path.insert(0, str(ROOT / "bench"))  # the script imports its neighbours (_metrics, _model)
sq = bench_module("search_quality.py", "bench_search_quality")


def test_course_metrics_count_the_best_graded_courses_as_right() -> None:
    grades = {"y": 3, "z": 3, "x": 1}
    hit, rr, ndcg = sq.course_metrics(["x", "y", "z"], grades)
    assert hit == 0.0 and rr == pytest.approx(1 / 2)
    ideal = 7 / 1 + 7 / np.log2(3) + 1 / 2
    assert ndcg == pytest.approx((1 / 1 + 7 / np.log2(3) + 7 / 2) / ideal)
    assert sq.course_metrics(["z"], grades)[:2] == (1.0, 1.0)
    assert sq.course_metrics([], grades) == (0.0, 0.0, 0.0)  # nothing found


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, np.float32)
    return v / np.linalg.norm(v)


def test_hubness_is_the_excess_closeness_to_other_courses_in_the_same_language() -> None:
    # course 0: a generic passage (close to course 1) and a specific one; course 1: two
    vectors = np.stack([_unit(1, 1, 0), _unit(0, 0, 1), _unit(1, 0, 0), _unit(0, 1, 0)])
    groups = np.array([0, 0, 1, 1])
    hub = sq.hubness(vectors, groups, k=1)
    raw = np.array([np.sqrt(0.5), 0.0, np.sqrt(0.5), np.sqrt(0.5)])  # best cosine elsewhere
    assert hub == pytest.approx(raw - np.median(raw), abs=1e-6)
    assert hub[0] > hub[1]  # the generic passage is the hub
    # other-language rows are no background: alone in its language, a row has no excess
    langs = np.array(["zh", "en", "zh", "zh"])
    assert sq.hubness(vectors, groups, langs, k=1)[1] == 0.0
    assert sq.hubness(np.zeros((0, 3)), np.zeros(0, int)).shape == (0,)


def test_penalty_lowers_generic_passages_and_raises_specific_ones() -> None:
    assert sq.penalised(0.9, 0.02, 1.0) == pytest.approx(0.88)
    assert sq.penalised(0.9, -0.01, 2.0) == pytest.approx(0.92)
    assert sq.penalised(0.9, 0.5, 0.0) == 0.9
