"""Top-K sparsification and its LP-duality certificate."""

from __future__ import annotations

import math
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.core.assignment import (
    PoolAttributes,
    Rules,
    assign_round,
    assign_sparse,
    sparsification_gap,
    sparsify_for_round,
    sparsify_top_k,
)
from expertpool.core.assignment import assign as assign_module


def test_sparsify_keeps_top_k_and_best_metrologists():
    affinity = np.array([[0.9, 0.1, 0.8, 0.2, -np.inf], [0.3, 0.4, np.nan, 0.5, 0.6]])
    metrology = np.array([False, True, False, False, True])
    mask = np.array([[True] * 5, [True, True, True, True, False]])
    arcs = sparsify_top_k(affinity, 2, mask=mask, metrology=metrology, k_metrology=1, chunk_rows=1)
    pairs = sorted(zip(arcs.submission.tolist(), arcs.expert.tolist(), strict=True))
    assert pairs == [(0, 0), (0, 1), (0, 2), (1, 1), (1, 3)]
    np.testing.assert_allclose(arcs.affinity, affinity[arcs.submission, arcs.expert])


def _instance(seed: int, m: int = 6, n: int = 14):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((m, 4))
    v = rng.standard_normal((n, 4))
    affinity = np.round(u @ v.T / 4, 3)
    affinity[rng.random((m, n)) < 0.1] = -np.inf
    pool = PoolAttributes(
        rng.integers(0, 7, n), rng.integers(0, 4, n), rng.random(n) < 0.5, rng.integers(1, 4, n)
    )
    return affinity, pool


@settings(
    database=None, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.integers(0, 10**6), st.integers(2, 6), st.integers(0, 2))
def test_gap_bound_is_valid_and_certifies_only_true_optima(seed, k, k_met):
    affinity, pool = _instance(seed)
    rules = Rules(min_metrology=1, max_per_province=2)
    full = assign_round(affinity, pool, rules, panel_sizes=2)
    arcs = sparsify_top_k(affinity, k, metrology=pool.metrology, k_metrology=k_met)
    sparse = assign_round(arcs, pool, rules, panel_sizes=2, want_duals=True)
    cert = sparsification_gap(sparse, arcs, affinity, pool)
    assert cert.omitted_pairs == int(np.isfinite(affinity).sum()) - arcs.submission.size
    bad_sub, bad_exp = cert.violations
    assert bad_sub.size == cert.violating_pairs
    kept = set(zip(arcs.submission.tolist(), arcs.expert.tolist(), strict=True))
    assert not kept & set(zip(bad_sub.tolist(), bad_exp.tolist(), strict=True))
    assert np.all(np.isfinite(affinity[bad_sub, bad_exp]))
    if not cert.applicable:
        return
    assert full.panel_filled.sum() == sparse.panel_filled.sum()
    loss = full.total_affinity - sparse.total_affinity
    assert loss <= cert.gap_bound + 1e-6  # the bound is a real bound
    if cert.certified():
        assert loss <= 1e-6
    if cert.violating_pairs == 0:  # only the LP's integrality gap is left in the bound
        assert math.isclose(cert.gap_bound, max(0.0, cert.lp_value - cert.achieved), abs_tol=1e-9)


def test_full_graph_is_certified_and_small_k_is_not():
    affinity, pool = _instance(5, m=8, n=20)
    rules = Rules(min_metrology=1)
    arcs = sparsify_top_k(affinity, 20)
    result = assign_round(arcs, pool, rules, panel_sizes=2, want_duals=True)
    cert = sparsification_gap(result, arcs, affinity, pool)
    assert cert.omitted_pairs == 0 and cert.certified()
    assert math.isclose(cert.lp_value, result.total_affinity, abs_tol=1e-6)
    # Everyone wants the same two experts: with K=2 the sparse graph cannot fill the panels well.
    crowded = np.tile(np.linspace(1.0, 0.0, 20), (8, 1))
    pool = PoolAttributes(np.arange(20), np.full(20, -1), np.ones(20, bool), np.ones(20, int))
    arcs = sparsify_top_k(crowded, 3)
    result = assign_round(arcs, pool, Rules(min_metrology=0), panel_sizes=1, want_duals=True)
    cert = sparsification_gap(result, arcs, crowded, pool)
    assert not cert.applicable  # only 3 experts reachable for 8 seats
    with pytest.raises(ValueError):
        sparsification_gap(assign_round(arcs, pool, Rules(), panel_sizes=1), arcs, crowded, pool)


# --- capacity-aware sparsification ---------------------------------------------------------------


def _crowded(m: int = 8, n: int = 30, seed: int = 0):
    """Every submission ranks the same experts first (correlated affinities, as in a category)."""
    rng = np.random.default_rng(seed)
    return np.round(np.linspace(1.0, 0.0, n)[None, :] + 0.05 * rng.random((m, n)), 3)


def _can_serve(arcs, pool, want: np.ndarray) -> bool:
    """Brute check of the capacity condition: a flow of `want[i]` distinct experts per row."""
    from ortools.graph.python import max_flow

    m, n = arcs.n_submissions, arcs.n_experts
    flow = max_flow.SimpleMaxFlow()
    tails = np.concatenate([np.full(m, m + n), arcs.submission, m + np.arange(n)])
    heads = np.concatenate([np.arange(m), m + arcs.expert, np.full(n, m + n + 1)])
    caps = np.concatenate([want, np.ones(arcs.submission.size), pool.capacity])
    flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), caps.astype(int))
    flow.solve(m + n, m + n + 1)
    return flow.optimal_flow() == want.sum()


def test_crowded_rows_grow_until_their_seats_can_be_filled():
    affinity = _crowded()
    pool = PoolAttributes(np.arange(30), np.full(30, -1), np.ones(30, bool), np.ones(30, int))
    rules = Rules(min_metrology=0)
    top = sparsify_top_k(affinity, 2)
    grown = sparsify_for_round(affinity, pool, rules, 2, panel_sizes=2, cover=1.5)
    assert (
        int(assign_round(top, pool, rules, panel_sizes=2).panel_filled.sum()) < 16
    )  # plain top-2: starved
    assert _can_serve(grown, pool, np.full(8, 3))  # 1.5 x 2 seats each
    per_row = np.bincount(grown.submission, minlength=8)
    assert set(per_row.tolist()) <= {2, 4, 8, 16, 30}  # k doubled (30: every expert)
    dense = assign_round(affinity, pool, rules, panel_sizes=2)
    sparse = assign_round(grown, pool, rules, panel_sizes=2)
    assert int(sparse.panel_filled.sum()) == int(dense.panel_filled.sum()) == 16
    np.testing.assert_allclose(grown.affinity, affinity[grown.submission, grown.expert])


def test_only_starved_rows_grow_and_k_max_caps_them():
    affinity = _crowded(m=6, n=40)
    affinity[3:, :] = 0.0
    for i in range(3, 6):  # rows 3..5 each have their own three experts
        affinity[i, 10 + 3 * i : 13 + 3 * i] = 1.0
    pool = PoolAttributes(np.arange(40), np.full(40, -1), np.zeros(40, bool), np.ones(40, int))
    rules = Rules(min_metrology=0)
    arcs = sparsify_for_round(affinity, pool, rules, 3, panel_sizes=2, cover=1.0)
    per_row = np.bincount(arcs.submission, minlength=6)
    assert per_row[3:].tolist() == [3, 3, 3]
    assert np.all(per_row[:3] > 3)
    capped = sparsify_for_round(affinity, pool, rules, 3, panel_sizes=2, cover=5.0, k_max=6)
    assert np.bincount(capped.submission, minlength=6).max() == 6


def test_metrologists_are_added_where_the_top_k_has_too_few():
    affinity = _crowded(m=6, n=30)
    metrology = np.zeros(30, bool)
    metrology[-8:] = True  # the metrologists rank last for everyone
    pool = PoolAttributes(np.arange(30), np.full(30, -1), metrology, np.ones(30, int))
    rules = Rules(min_metrology=1)
    arcs = sparsify_for_round(affinity, pool, rules, 4, panel_sizes=2, k_metrology=0, cover=1.0)
    on = metrology[arcs.expert]
    assert _can_serve(
        type(arcs)(arcs.submission[on], arcs.expert[on], arcs.affinity[on], 6, 30),
        pool,
        np.ones(6, int),
    )
    result = assign_round(arcs, pool, rules, panel_sizes=2)
    assert not [u for u in result.unfilled if u.kind == "metrology"]


def test_capacity_aware_sparsify_is_deterministic_and_honours_the_mask():
    affinity = _crowded(m=10, n=50, seed=4)
    mask = np.random.default_rng(4).random((10, 50)) < 0.8
    pool = PoolAttributes(
        np.arange(50) % 9, np.arange(50) % 4, np.arange(50) % 3 == 0, np.full(50, 1)
    )
    runs = [sparsify_for_round(affinity, pool, Rules(), 3, mask=mask, k_metrology=1) for _ in "ab"]
    np.testing.assert_array_equal(runs[0].submission, runs[1].submission)
    np.testing.assert_array_equal(runs[0].expert, runs[1].expert)
    assert mask[runs[0].submission, runs[0].expert].all()


def _blocks(seed: int, groups: int = 3, m_per: int = 3, n_per: int = 8):
    """Independent groups of correlated submissions, as GBW categories give."""
    rng = np.random.default_rng(seed)
    m, n = groups * m_per, groups * n_per
    affinity = np.full((m, n), -np.inf)
    for g in range(groups):
        rows, cols = slice(g * m_per, (g + 1) * m_per), slice(g * n_per, (g + 1) * n_per)
        affinity[rows, cols] = np.round(rng.random(n_per) + 0.3 * rng.random((m_per, n_per)), 3)
    affinity[rng.random((m, n)) < 0.1] = -np.inf
    pool = PoolAttributes(
        rng.integers(0, n // 2, n),
        rng.integers(0, 4, n),
        rng.random(n) < 0.5,
        rng.integers(1, 3, n),
    )
    return affinity, pool


@settings(
    database=None, max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.integers(0, 10**6), st.integers(1, 3), st.sampled_from([1, 10**9]))
def test_sparse_round_certificate_is_valid_with_parts_and_refinement(seed, k, part_arcs):
    affinity, pool = _blocks(seed)
    rules = Rules(min_metrology=1, max_per_province=2)
    full = assign_round(affinity, pool, rules, panel_sizes=2)
    with patch.object(assign_module, "_PART_ARCS", part_arcs):  # 1: every group solved apart
        solved = assign_sparse(affinity, pool, rules, k, panel_sizes=2, k_metrology=0)
    cert, sparse = solved.certificate, solved.result
    subs, exps = sparse.pairs
    assert np.all(np.isfinite(affinity[subs, exps]))
    assert np.all(np.bincount(exps, minlength=affinity.shape[1]) <= pool.capacity)
    if not cert.applicable:
        return
    assert int(full.panel_filled.sum()) == int(sparse.panel_filled.sum())
    loss = full.total_affinity - sparse.total_affinity
    assert loss <= cert.gap_bound + 1e-6
    if cert.certified():
        assert loss <= 1e-6
    bad = set(zip(*cert.improving, strict=True))
    assert set(zip(*cert.violations, strict=True)) <= bad  # violations are improving pairs too
    assert len(bad) == cert.improving_pairs


def test_certified_through_the_integrality_gap():
    """The sparse LP is fractional (gap bound > 0), yet no omitted pair could lift the sparse
    optimum: certified, and equal to the full-graph optimum."""
    found = 0
    for seed in range(300):  # such cases are rare: stop at the first
        affinity, pool = _blocks(seed)
        rules = Rules(min_metrology=1, max_per_province=2)
        arcs = sparsify_for_round(affinity, pool, rules, 3, panel_sizes=2)
        result = assign_round(arcs, pool, rules, panel_sizes=2, want_duals=True)
        cert = sparsification_gap(result, arcs, affinity, pool)
        if cert.applicable and cert.gap_bound > 1e-4 and cert.certified():
            full = assign_round(affinity, pool, rules, panel_sizes=2)
            assert cert.omitted_pairs > 0 and cert.improving_pairs == 0
            assert math.isclose(full.total_affinity, result.total_affinity, abs_tol=1e-9)
            found += 1
            break
    assert found
