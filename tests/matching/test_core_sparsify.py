"""Top-K sparsification and its LP-duality certificate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.matching.core import (
    PoolAttributes,
    Rules,
    assign_round,
    sparsification_gap,
    sparsify_top_k,
)


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
