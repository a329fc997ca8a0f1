"""bench/fair_baseline.py: the FairSequence-style baseline keeps its rules and is envy-free up
to one reviewer (WEF1) whenever it made no forced pick."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _load_module():
    spec = importlib.util.spec_from_file_location(
        "bench_fair_baseline", ROOT / "bench" / "fair_baseline.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_fair_baseline"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


baseline = _load_module()


def _wef1(affinity, panels):
    value = np.where(np.isfinite(affinity), affinity, 0.0)
    for i, own in enumerate(panels):
        mine = value[i, own].sum()
        for j, other in enumerate(panels):
            if i != j and other:
                theirs = value[i, other]
                assert theirs.sum() - theirs.max() <= mine + 1e-9, (i, j)


def test_rules_loads_and_wef1_on_random_rounds():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        m, n = 12, 30
        affinity = np.round(rng.random((m, n)) + 0.5 * rng.random(n), 3)
        affinity[rng.random((m, n)) < 0.1] = -np.inf
        capacity = rng.integers(1, 3, n)
        institution = rng.integers(-1, 12, n)
        province = rng.integers(0, 4, n)
        got = baseline.fair_sequence(
            affinity,
            capacity,
            3,
            institution=institution,
            province=province,
            max_per_province=2,
        )
        loads = np.bincount([j for p in got.panels for j in p], minlength=n)
        assert np.all(loads <= capacity)
        for i, panel in enumerate(got.panels):
            assert len(panel) <= 3 and len(set(panel)) == len(panel)
            assert np.all(np.isfinite(affinity[i, panel]))
            codes = [institution[j] for j in panel if institution[j] >= 0]
            assert len(codes) == len(set(codes))
            assert max(np.bincount(province[panel]), default=0) <= 2
        assert got.seats == sum(len(p) for p in got.panels)
        means = [affinity[i, p].sum() / 3 if p else 0.0 for i, p in enumerate(got.panels)]
        assert np.isclose(got.floor, min(means))
        if got.fallbacks == 0:
            _wef1(affinity, got.panels)


def test_weakest_paper_picks_first():
    # Both papers want expert 0 (load 1); paper 1 values him more, so it picks him first.
    affinity = np.array([[0.8, 0.5, 0.1], [0.9, 0.2, 0.6]])
    got = baseline.fair_sequence(affinity, np.ones(3, int), 1)
    assert got.panels == [[1], [0]]
    assert np.isclose(got.total, 1.4) and np.isclose(got.floor, 0.5)
