"""bench/_metrics.py: ranking metrics and bootstrap intervals, by known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmods import bench_module

m = bench_module("_metrics.py", "bench_metrics")


def test_average_precision_of_a_hand_made_ranking() -> None:
    # relevant at ranks 1, 3 and 6, a fourth relevant item never retrieved
    ranked = [10, 11, 12, 13, 14, 15]
    relevant = {10, 12, 15, 99}
    assert m.average_precision(ranked, relevant) == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 4)
    assert m.average_precision([1, 2], set()) == 0.0
    assert m.average_precision([5, 6, 7], {5, 6, 7}) == 1.0


def test_precision_and_ndcg_known_answers() -> None:
    assert m.precision([1, 2, 3, 4, 5, 6], {2, 4, 6}) == pytest.approx(2 / 5)
    grades = {1: 3, 2: 1}
    assert m.ndcg([1, 2, 3], grades) == pytest.approx(1.0)
    swapped = (1 / 1 + 7 / np.log2(3)) / (7 / 1 + 1 / np.log2(3))
    assert m.ndcg([2, 1, 3], grades) == pytest.approx(swapped)


def test_interval_contains_the_mean_and_narrows_with_more_queries() -> None:
    rng = np.random.default_rng(0)
    few = rng.uniform(0, 1, 20)
    many = rng.uniform(0, 1, 500)
    a, b = m.bootstrap_ci(few), m.bootstrap_ci(many)
    assert a.lo < a.mean < a.hi
    assert b.lo < b.mean < b.hi
    assert a.mean == pytest.approx(few.mean())
    assert (b.hi - b.lo) < (a.hi - a.lo) / 2


def test_interval_is_reproducible_with_the_fixed_seed() -> None:
    values = np.linspace(0, 1, 30)
    assert m.bootstrap_ci(values) == m.bootstrap_ci(values)
    assert m.bootstrap_ci(values, seed=1) != m.bootstrap_ci(values)


def test_paired_difference_of_identical_arrays_is_exactly_zero() -> None:
    values = np.random.default_rng(3).uniform(0, 1, 60)
    d = m.paired_bootstrap(values, values.copy())
    assert (d.diff.mean, d.diff.lo, d.diff.hi) == (0.0, 0.0, 0.0)
    assert (d.relative.mean, d.relative.lo, d.relative.hi) == (0.0, 0.0, 0.0)


def test_paired_difference_sees_a_consistent_gain_that_unpaired_intervals_hide() -> None:
    rng = np.random.default_rng(4)
    base = rng.uniform(0, 1, 60)
    better = base + 0.02
    d = m.paired_bootstrap(better, base)
    assert d.diff.mean == pytest.approx(0.02)
    assert d.diff.lo == pytest.approx(0.02) and d.diff.hi == pytest.approx(0.02)
    assert d.relative.lo > 0
    # the per-variant intervals overlap although every query gained
    assert m.bootstrap_ci(better).lo < m.bootstrap_ci(base).hi


def test_paired_arrays_must_match() -> None:
    with pytest.raises(ValueError):
        m.paired_bootstrap([1.0, 2.0], [1.0])


cv = bench_module("_cv.py", "bench_cv")


def test_leave_one_set_out_chooses_on_the_other_sets_only() -> None:
    scores = {
        "a": {"x": 0.9, "y": 0.1, "z": 0.5},  # x wins on a alone
        "b": {"x": 0.2, "y": 0.6, "z": 0.5},
        "c": {"x": 0.2, "y": 0.6, "z": 0.5},
    }
    got = {c.held_out: c for c in cv.leave_one_set_out(scores, ["x", "y", "z"])}
    assert got["a"].variant == "y"  # a's own preference for x plays no part
    assert got["a"].train_score == pytest.approx(0.6)
    # held out b: x 0.55, y 0.35, z 0.5 over a and c
    assert got["b"].variant == "x" and got["b"].train_score == pytest.approx(0.55)
    assert got["c"].variant == "x"


def test_leave_one_set_out_ties_go_to_the_earlier_candidate_and_bad_input_is_refused() -> None:
    scores = {"a": {"x": 0.5, "y": 0.5}, "b": {"x": 0.5, "y": 0.5}}
    assert [c.variant for c in cv.leave_one_set_out(scores, ["y", "x"])] == ["y", "y"]
    with pytest.raises(ValueError):
        cv.leave_one_set_out({"a": {"x": 1.0}}, ["x"])
    with pytest.raises(KeyError):
        cv.leave_one_set_out({"a": {"x": 1.0}, "b": {}}, ["x"])
