"""Segment aggregations against plain Python loops; combine; top_k."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.assignment import (
    AffinityWeights,
    combine,
    coverage,
    segment_max,
    segment_mean,
    segment_mean_top_k,
    segment_softmax,
    top_k,
)

N = 6
rows_strategy = st.lists(
    st.tuples(st.integers(0, N - 1), st.floats(-1, 1, allow_nan=False, width=32)), max_size=30
)


def _by_expert(rows):
    groups: dict[int, list[float]] = {}
    for seg, value in rows:
        groups.setdefault(seg, []).append(value)
    return groups


def _naive_softmax(values, temperature):
    peak = max(values)
    weights = [math.exp((v - peak) / temperature) for v in values]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


@settings(database=None, max_examples=300, deadline=None)
@given(rows_strategy, st.integers(1, 4), st.sampled_from([0.05, 0.5, 5.0]))
def test_segment_functions_match_naive(rows, k, temperature):
    seg = np.array([r[0] for r in rows], dtype=np.int64)
    sims = np.array([r[1] for r in rows], dtype=np.float64)
    groups = _by_expert(rows)
    expected = {
        "max": [max(groups[i]) if i in groups else -9.0 for i in range(N)],
        "mean": [sum(groups[i]) / len(groups[i]) if i in groups else -9.0 for i in range(N)],
        "topk": [
            sum(sorted(groups[i], reverse=True)[:k]) / min(k, len(groups[i]))
            if i in groups
            else -9.0
            for i in range(N)
        ],
        "soft": [_naive_softmax(groups[i], temperature) if i in groups else -9.0 for i in range(N)],
    }
    got = {
        "max": segment_max(sims, seg, N, empty=-9.0),
        "mean": segment_mean(sims, seg, N, empty=-9.0),
        "topk": segment_mean_top_k(sims, seg, N, k, empty=-9.0),
        "soft": segment_softmax(sims, seg, N, temperature, empty=-9.0),
    }
    for name, values in expected.items():
        # softmax weights are computed in float32: errors ~1e-7 of the values' spread
        tol = 1e-6 if name == "soft" else 1e-12
        np.testing.assert_allclose(got[name], values, rtol=1e-9, atol=tol, err_msg=name)


def test_two_dimensional_sims_aggregate_per_column():
    seg = np.array([2, 0, 2, 2])  # unsorted on purpose
    sims = np.array([[0.1, 0.9], [0.5, 0.2], [0.7, 0.3], [0.4, 0.8]])
    np.testing.assert_allclose(segment_max(sims, seg, 3), [[0.5, 0.2], [0, 0], [0.7, 0.9]])
    np.testing.assert_allclose(
        segment_mean_top_k(sims, seg, 3, 2), [[0.5, 0.2], [0, 0], [0.55, 0.85]]
    )
    soft = segment_softmax(sims, seg, 3, temperature=1e-3)
    np.testing.assert_allclose(soft[2], [0.7, 0.9], atol=1e-6)  # cold softmax -> max
    hot = segment_softmax(sims, seg, 3, temperature=1e6)
    np.testing.assert_allclose(hot[2], [0.4, 2.0 / 3.0], atol=1e-5)  # hot softmax -> mean


def test_mean_top_k_counts_tied_best_texts_once_each():
    seg = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    sims = np.array([0.5, 0.1, 0.5, 0.3, 0.9, 0.9, 0.9, 0.2])
    np.testing.assert_allclose(segment_mean_top_k(sims, seg, 4, 2), [0.5, 0.9, 0.2, 0.0])
    np.testing.assert_allclose(segment_mean_top_k(sims, seg, 4, 3), [1.1 / 3, 0.9, 0.2, 0.0])
    np.testing.assert_allclose(segment_mean_top_k(sims, seg, 4, 4), [1.1 / 3, 0.75, 0.2, 0.0])


def test_coverage_counts_each_wanted_item_once():
    seg = np.array([0, 0, 0, 1, 2])
    items = np.array([5, 5, 7, 9, 7])
    np.testing.assert_allclose(coverage(seg, items, 4, [5, 7]), [1.0, 0.0, 0.5, 0.0])
    assert coverage(seg, items, 4, []).tolist() == [0.0] * 4


def test_combine_weights_normalises_keyword_and_drops_missing_signals():
    semantic = np.array([0.8, 0.2, np.nan])
    keyword = np.array([10.0, 5.0, 0.0])
    cat = np.array([1.0, 0.0, 1.0])
    w = AffinityWeights(semantic=0.5, keyword=0.25, category=0.25, specialty=0.0)
    got = combine(semantic, keyword, cat, None, w)
    np.testing.assert_allclose(got, [0.5 * 0.8 + 0.25 + 0.25, 0.1 + 0.125, 0.25])
    only_semantic = combine(semantic, None, None, None, w)
    np.testing.assert_allclose(only_semantic, [0.8, 0.2, 0.0])
    many = combine(np.ones((3, 2)), np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 0.0]]), None, None)
    np.testing.assert_allclose(many[:, 0], [1.0, 0.875, 0.75])
    np.testing.assert_allclose(many[:, 1], [0.75, 0.75, 0.75])  # an all-zero query stays 0
    with pytest.raises(ValueError):
        combine(None, None, None, None)


@settings(database=None, max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([0.0, 0.5, 1.0, -np.inf, np.nan, 2.0]), max_size=20),
    st.integers(0, 8),
    st.data(),
)
def test_top_k_is_sorted_stable_and_masked(values, k, data):
    scores = np.array(values, dtype=np.float64)
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool
    )
    got = top_k(scores, k, mask).tolist()
    expected = sorted(
        (i for i in range(len(values)) if mask[i] and np.isfinite(scores[i])),
        key=lambda i: (-scores[i], i),
    )[:k]
    assert got == expected
