"""Fairness at scale (issue 13): the exchanges of `fair.raise_floor`, the bounds, the labels.

The exact max-min stage runs up to `_EXACT_FAIR_ARCS` arcs; these tests set it to 0 so that the
small brute-forceable rounds go through the exchanges that big rounds use.
"""

from __future__ import annotations

import math
import time
from unittest.mock import patch

import numpy as np
from hypothesis import HealthCheck, given, settings

from expertpool.core.assignment import (
    CandidateArcs,
    PoolAttributes,
    Rules,
    assign_round,
    assign_sparse,
)
from expertpool.core.assignment import assign as assign_module
from expertpool.core.assignment import fair as fair_module
from expertpool.core.assignment.sparsify import full_floor_bound
from tests.matching.test_core_assign import _brute_force, _check_rules, rounds

TOL = 1e-6
NEG = -np.inf


def _exchange_round(affinity, pool, rules, sizes, **kw):
    with patch.object(assign_module, "_EXACT_FAIR_ARCS", 0):
        return assign_round(affinity, pool, rules, panel_sizes=sizes, fairness=True, **kw)


@settings(
    database=None, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(rounds(max_m=3, max_n=6))
def test_exchanges_keep_every_rule_and_the_floor_between_unfair_and_bound(case):
    affinity, pool, rules, sizes = case
    result = _exchange_round(affinity, pool, rules, sizes)
    _check_rules(result, affinity, pool, rules, sizes)
    seats, short, weakest, _ = _brute_force(affinity, pool, rules, sizes, fairness=True)
    _, _, _, unfair_total = _brute_force(affinity, pool, rules, sizes)
    assert int(result.panel_filled.sum()) == seats  # seats and metrology as the unfair optimum
    assert -sum(u.missing for u in result.unfilled if u.kind == "metrology") == short
    assert math.isclose(result.unfair_total, unfair_total, abs_tol=1e-5)
    assert result.affinity_given_up >= -TOL
    assert result.fairness_status in {"optimal", "local optimum"}
    if sizes.sum() == 0:
        return
    assert result.min_panel_score >= result.unfair_min_panel_score - TOL
    assert result.min_panel_score <= weakest + TOL
    assert weakest <= result.fairness_bound + TOL  # the bound holds for every assignment
    if result.fairness_status == "optimal":
        assert result.min_panel_score >= weakest - TOL
    if result.status == "optimal":  # only when nothing had to move and the floor is proven
        assert result.fairness_status == "optimal"
        assert math.isclose(result.total_affinity, unfair_total, abs_tol=1e-5)


@settings(
    database=None, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(rounds(max_m=3, max_n=5))
def test_exact_path_reports_the_same_fields(case):
    affinity, pool, rules, sizes = case
    result = assign_round(affinity, pool, rules, panel_sizes=sizes, fairness=True)
    seats, short, weakest, _ = _brute_force(affinity, pool, rules, sizes, fairness=True)
    _, _, _, unfair_total = _brute_force(affinity, pool, rules, sizes)
    assert result.fairness_status == "optimal" and result.status == "optimal"
    assert math.isclose(result.unfair_total, unfair_total, abs_tol=1e-5)
    if sizes.sum() > 0:
        assert weakest - TOL <= result.min_panel_score <= result.fairness_bound + TOL


def _skewed(seed: int, m: int, n: int, conflicts: float = 0.01):
    """Topic-skewed affinities: every submission of a topic ranks that topic's experts alike."""
    rng = np.random.default_rng(seed)
    topics = 4
    quality = rng.random(n)
    topic_of_expert = rng.integers(0, topics, n)
    topic_of_sub = rng.integers(0, topics, m)
    same = topic_of_sub[:, None] == topic_of_expert[None, :]
    affinity = 0.3 * rng.random((m, n)) + np.where(same, 0.6 * quality[None, :], 0.0)
    affinity[rng.random((m, n)) < conflicts] = -np.inf
    pool = PoolAttributes(
        institution=rng.integers(0, n // 3, n),
        province=rng.integers(0, 6, n),
        metrology=rng.random(n) < 0.3,
        capacity=np.full(n, 2),
    )
    return np.round(affinity, 4), pool


def test_exchanges_raise_a_skewed_round_and_lose_little():
    affinity, pool = _skewed(3, 60, 150)
    rules = Rules(panel_size=3, load_cap_per_round=2)
    plain = assign_round(affinity, pool, rules)
    fair = _exchange_round(affinity, pool, rules, None)
    assert fair.unfair_min_panel_score == plain.min_panel_score
    assert math.isclose(fair.unfair_total, plain.total_affinity, abs_tol=1e-9)
    assert fair.min_panel_score > plain.min_panel_score + 0.01  # raised, not just relabelled
    assert fair.min_panel_score <= fair.fairness_bound + TOL
    assert 0 <= fair.affinity_given_up < 0.05 * plain.total_affinity
    assert int(fair.panel_filled.sum()) == int(plain.panel_filled.sum())
    assert fair.timings["fair_exchange"] > 0
    for i in range(affinity.shape[0]):  # institution rule per panel, capacities overall
        inst = pool.institution[fair.pairs[1][fair.pairs[0] == i]]
        assert len(set(inst.tolist())) == inst.size
    assert np.all(fair.load <= pool.capacity)


def test_out_of_time_says_so_and_keeps_a_valid_answer():
    """A deadline already past: the unfair answer comes back labelled "time limit", never as
    a fair optimum, with the bound still reported."""
    affinity, pool = _skewed(4, 40, 120)
    rules = Rules(panel_size=3, load_cap_per_round=2)
    original = fair_module.raise_floor

    def late(g, x, deadline, bound=None):
        return original(g, x, time.perf_counter() - 1.0, bound)

    with patch.object(assign_module, "raise_floor", late):
        result = _exchange_round(affinity, pool, rules, None)
    assert result.fairness_status == "time limit"
    assert result.status == "feasible"
    assert result.min_panel_score == result.unfair_min_panel_score
    assert result.fairness_bound > result.min_panel_score
    assert result.affinity_given_up == 0.0


def test_a_floor_at_the_bound_is_proven_optimal():
    # Each panel's own best experts are disjoint: the unfair optimum is already the fair one.
    affinity = np.array([[0.9, 0.8, 0.1, 0.1], [0.1, 0.1, 0.7, 0.6]])
    pool = PoolAttributes(np.arange(4), np.full(4, -1), np.ones(4, bool), np.ones(4, int))
    result = _exchange_round(affinity, pool, Rules(panel_size=3), np.array([2, 2]))
    assert result.fairness_status == "optimal" and result.status == "optimal"
    assert math.isclose(result.min_panel_score, 0.65)
    assert math.isclose(result.fairness_bound, 0.65)


def test_one_swap_between_panels():
    """Panel 1 rises only if expert 0 moves to it and panel 0 takes expert 2 in his place."""
    affinity = np.array([[0.9, 0.8, 0.3, NEG, NEG], [0.6, NEG, NEG, 0.2, 0.1]])
    pool = PoolAttributes(np.arange(5), np.full(5, -1), np.zeros(5, bool), np.ones(5, int))
    rules = Rules(panel_size=3, min_metrology=0)
    plain = assign_round(affinity, pool, rules, panel_sizes=np.array([2, 2]))
    assert plain.panels == [[0, 1], [3, 4]]  # total 2.0, weakest 0.15
    result = _exchange_round(affinity, pool, rules, np.array([2, 2]))
    assert result.panels == [[1, 2], [0, 3]]
    assert math.isclose(result.unfair_min_panel_score, 0.15)
    assert math.isclose(result.min_panel_score, 0.4)
    assert math.isclose(result.fairness_bound, 0.4)  # panel 1's own best
    assert result.fairness_status == "optimal"  # the floor is proven ...
    assert result.status == "feasible"  # ... the total under it is not
    assert math.isclose(result.affinity_given_up, 0.1)


def test_sparse_round_bound_covers_every_pair():
    affinity, pool = _skewed(5, 30, 200)
    rules = Rules(panel_size=3, load_cap_per_round=2)
    with patch.object(assign_module, "_EXACT_FAIR_ARCS", 0):
        solved = assign_sparse(affinity, pool, rules, 5, fairness=True, k_metrology=1)
    result = solved.result
    assert solved.certificate is None
    assert math.isclose(result.fairness_bound, full_floor_bound(affinity, pool, rules))
    assert result.min_panel_score <= result.fairness_bound + TOL
    dense = _exchange_round(affinity, pool, rules, None)
    assert dense.fairness_bound <= result.fairness_bound + TOL  # the full graph's own bound
    if result.fairness_status == "optimal":
        assert result.min_panel_score >= result.fairness_bound - TOL


def test_full_floor_bound_is_each_submissions_own_best():
    affinity = np.array([[0.9, 0.8, 0.7, 0.6], [0.5, 0.4, -np.inf, 0.3]])
    pool = PoolAttributes(
        np.array([0, 0, 1, -1]), np.full(4, -1), np.ones(4, bool), np.array([1, 1, 1, 1])
    )
    rules = Rules(panel_size=3)
    # Row 0: one of institution 0 (0.9), then 0.7 and 0.6; row 1: 0.5, 0.3 and an empty seat.
    assert math.isclose(full_floor_bound(affinity, pool, rules), 0.8 / 3)
    graph = assign_module._build_graph(CandidateArcs.from_dense(affinity), pool, rules, None)
    np.testing.assert_allclose(fair_module.own_best(graph), [2.2 / 3, 0.8 / 3])
    pool = PoolAttributes(
        np.array([0, 0, 1, -1]), np.full(4, -1), np.ones(4, bool), np.array([1, 1, 1, 0])
    )
    # Expert 3 has no review left: row 1 keeps only 0.5 (expert 1 shares expert 0's institution).
    assert math.isclose(full_floor_bound(affinity, pool, rules), 0.5 / 3)
