"""Ranking metrics and percentile bootstrap confidence intervals over queries (pure numpy).

Used by bench/match_quality.py; tested in tests/test_bench_metrics.py. The bootstrap resamples
queries with replacement: with a fixed seed and the same number of queries, every variant sees
the same resamples, so a paired interval of two variants' difference uses matched queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 13
LEVEL = 0.95


def ndcg(ranked: list[int], grades: dict[int, int], k: int = 10) -> float:
    """nDCG@k with gains 2^grade - 1; 0 when the query has no graded item."""
    dcg = sum((2 ** grades.get(e, 0) - 1) / math.log2(i + 2) for i, e in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def average_precision(ranked: list[int], relevant: set[int]) -> float:
    """Mean of the precision at each relevant item's rank; unretrieved relevant items count 0."""
    hits, total = 0, 0.0
    for i, e in enumerate(ranked):
        if e in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / len(relevant) if relevant else 0.0


def precision(ranked: list[int], relevant: set[int], k: int = 5) -> float:
    return sum(1 for e in ranked[:k] if e in relevant) / k


@dataclass(frozen=True)
class Interval:
    mean: float
    lo: float
    hi: float

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.lo:.3f}, {self.hi:.3f}]"


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``resamples`` × ``n`` query indices drawn with replacement (the same for a given seed)."""
    if n < 1:
        raise ValueError("need at least one query")
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _percentiles(stats: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(stats, [tail, 100.0 - tail])
    return float(lo), float(hi)


def bootstrap_ci(
    values, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> Interval:
    """Mean of per-query ``values`` with its percentile bootstrap interval."""
    v = np.asarray(values, dtype=float)
    means = v[resample_indices(len(v), resamples, seed)].mean(axis=1)
    return Interval(float(v.mean()), *_percentiles(means, level))


@dataclass(frozen=True)
class PairedDifference:
    diff: Interval  # mean(a) - mean(b)
    relative: Interval  # mean(a) / mean(b) - 1 (nan when mean(b) is 0)


def paired_bootstrap(
    a, b, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> PairedDifference:
    """Difference of two variants' means over the same queries, resampling queries in pairs."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired arrays must have the same length")
    idx = resample_indices(len(a), resamples, seed)
    ma, mb = a[idx].mean(axis=1), b[idx].mean(axis=1)
    diff = Interval(float((a - b).mean()), *_percentiles((a - b)[idx].mean(axis=1), level))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = ma / mb - 1.0
        point = a.mean() / b.mean() - 1.0 if b.mean() else float("nan")
    if np.isfinite(ratios).all():
        relative = Interval(float(point), *_percentiles(ratios, level))
    else:
        relative = Interval(float(point), float("nan"), float("nan"))
    return PairedDifference(diff, relative)
