"""Benchmark of the pure matching core (expertpool.core.assignment) on synthetic pools.

1. Eligibility mask + top-50 for one submission at 1k / 10k / 100k experts (p50 / p95 ms).
2. A round: 2,000 submissions x 10,000 experts x 3 reviewers, sparsified to each submission's
   top-K (+ its best metrology-competent experts; with --cover, K doubled where the candidates
   cannot serve cover x the seats), solved exactly on that graph, then checked against the full
   graph with the LP-duality certificate. Peak memory is reported.

Run:  .venv/bin/python bench/match_core.py            (both parts)
      .venv/bin/python bench/match_core.py --part topk --sizes 1000 10000 100000
      .venv/bin/python bench/match_core.py --part round --k 40 --k-metrology 5 [--fairness]
      .venv/bin/python bench/match_core.py --part round --k 40 --cover 1.5
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expertpool.core.assignment import (
    ExpertRecord,
    ExpertTable,
    PoolAttributes,
    Rules,
    SubmissionRecord,
    assign_round,
    build_panel,
    eligible_mask,
    sparsification_gap,
    sparsify_for_round,
    sparsify_top_k,
    top_k,
)

TODAY = date(2025, 6, 1)
PROVINCES = [f"P{i:02d}" for i in range(31)]
DIM = 32
N_CATEGORIES = 13


def synthetic_experts(n: int, rng: np.random.Generator) -> tuple[list[ExpertRecord], np.ndarray]:
    """Experts with realistic proportions of conflicts, leave, past jobs; plus category labels."""
    n_inst = max(n // 8, 10)
    inst = (rng.zipf(1.6, n) - 1) % n_inst  # a few big institutes, many small ones
    inst_province = rng.integers(0, len(PROVINCES), n_inst)
    category = rng.integers(1, N_CATEGORIES + 1, n)
    load = rng.integers(0, 11, n)
    experts = []
    for i in range(n):
        r = rng.random(8)
        experts.append(
            ExpertRecord(
                id=i,
                institution_id=int(inst[i]),
                province=PROVINCES[inst_province[inst[i]]],
                status="active" if r[0] < 0.93 else "suspended",
                term_start=TODAY - timedelta(days=int(r[1] * 1800)),
                term_end=TODAY + timedelta(days=int(r[2] * 1800) - 60),
                unavailable=((TODAY + timedelta(days=10), TODAY + timedelta(days=40)),)
                if r[3] < 0.05
                else (),
                conflict_institution_ids=frozenset({int(rng.integers(n_inst))})
                if r[4] < 0.03
                else frozenset(),
                developed_rms=frozenset({f"GBW{int(rng.integers(1000)):05d}"})
                if r[5] < 0.1
                else frozenset(),
                past_employers=(
                    (int(rng.integers(n_inst)), TODAY - timedelta(days=int(r[6] * 3000))),
                )
                if r[6] < 0.2
                else (),
                load_this_year=int(load[i]),
                metrology_competent=bool(r[7] < 0.3),
                training_ok=True,
                categories=frozenset({int(category[i])}),
            )
        )
    return experts, category


def synthetic_submissions(
    m: int, n_inst: int, rng: np.random.Generator
) -> tuple[list[SubmissionRecord], np.ndarray]:
    category = rng.integers(1, N_CATEGORIES + 1, m)
    subs = [
        SubmissionRecord(
            id=10_000_000 + i,
            applicant_institution_id=int(rng.integers(n_inst)),
            rm_numbers=frozenset({f"GBW{int(rng.integers(1000)):05d}"}),
            window_start=TODAY,
            window_end=TODAY + timedelta(days=30),
            category=int(category[i]),
        )
        for i in range(m)
    ]
    return subs, category


def embeddings(category: np.ndarray, rng: np.random.Generator, centers: np.ndarray) -> np.ndarray:
    """Unit vectors clustered by category, so experts compete for same-field submissions."""
    v = centers[category - 1] + 0.8 * rng.standard_normal((category.size, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _pct(samples: list[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def bench_topk(sizes: list[int], queries: int, seed: int) -> None:
    rules = Rules()
    print("== one submission: eligibility mask, mask + top-50 (ms), then build_panel on the 50 ==")
    print(
        f"{'experts':>8} {'build s':>8} {'mask p50':>9} {'mask p95':>9} {'+top50 p50':>10} "
        f"{'+top50 p95':>10} {'panel p50':>9} {'panel p95':>9} {'eligible%':>9}"
    )
    for n in sizes:
        rng = np.random.default_rng(seed)
        experts, _ = synthetic_experts(n, rng)
        start = time.perf_counter()
        table = ExpertTable.from_records(experts)
        build = time.perf_counter() - start
        subs, _ = synthetic_submissions(queries, max(n // 8, 10), rng)
        scores = rng.standard_normal((queries, n)).astype(np.float32)
        by_id = {e.id: e for e in experts}
        mask_t, total_t, panel_t, share = [], [], [], []
        for q, sub in enumerate(subs):
            t0 = time.perf_counter()
            mask = eligible_mask(table, sub, rules, TODAY)
            t1 = time.perf_counter()
            rows = top_k(scores[q], 50, mask)
            t2 = time.perf_counter()
            assert rows.size == min(50, int(mask.sum())) and mask[rows].all()
            panel = build_panel(
                list(zip(table.ids[rows].tolist(), scores[q, rows].tolist(), strict=True)),
                by_id,
                rules,
            )
            t3 = time.perf_counter()
            assert len(panel.members) == rules.panel_size
            mask_t.append(t1 - t0)
            total_t.append(t2 - t0)
            panel_t.append(t3 - t2)
            share.append(mask.mean())
        (m50, m95), (t50, t95), (p50, p95) = _pct(mask_t), _pct(total_t), _pct(panel_t)
        print(
            f"{n:>8} {build:>8.2f} {m50:>9.2f} {m95:>9.2f} {t50:>10.2f} {t95:>10.2f} "
            f"{p50:>9.2f} {p95:>9.2f} {100 * np.mean(share):>8.1f}%"
        )


def bench_round(
    m: int,
    n: int,
    size: int,
    k: int,
    k_met: int,
    fairness: bool,
    seed: int,
    time_limit: float,
    cover: float = 0.0,
) -> None:
    rng = np.random.default_rng(seed)
    rules = Rules(panel_size=size, load_cap_per_round=2)
    print(
        f"== round: {m} submissions x {n} experts x {size} reviewers, K={k} (+{k_met} metrology)"
        f"{f', grown to cover {cover} x the seats' if cover else ''}, fairness={fairness} =="
    )
    print(
        f"rules: min_metrology={rules.min_metrology}, max_per_province={rules.max_per_province}, "
        f"one_per_institution, load_cap_per_round={rules.load_cap_per_round}, "
        f"load_cap_per_year={rules.load_cap_per_year}"
    )
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    experts, exp_cat = synthetic_experts(n, rng)
    subs, sub_cat = synthetic_submissions(m, max(n // 8, 10), rng)
    centers = rng.standard_normal((N_CATEGORIES, DIM))
    table = ExpertTable.from_records(experts)
    pool = PoolAttributes.from_table(table, rules)
    tracemalloc.start()
    t0 = time.perf_counter()
    affinity = embeddings(sub_cat, rng, centers) @ embeddings(exp_cat, rng, centers).T
    for i, sub in enumerate(subs):
        affinity[i, ~eligible_mask(table, sub, rules, TODAY)] = -np.inf
    t1 = time.perf_counter()
    if cover:
        arcs = sparsify_for_round(
            affinity, pool, rules, k, panel_sizes=size, k_metrology=k_met, cover=cover
        )
    else:
        arcs = sparsify_top_k(affinity, k, metrology=pool.metrology, k_metrology=k_met)
    t2 = time.perf_counter()
    result = assign_round(
        arcs,
        pool,
        rules,
        fairness=fairness,
        time_limit_s=time_limit,
        submission_ids=np.array([s.id for s in subs]),
        want_duals=not fairness,
    )
    t3 = time.perf_counter()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"affinity+eligibility masks {t1 - t0:6.2f} s   "
        f"(dense {affinity.nbytes / 2**20:.0f} MiB float32)"
    )
    per_row = np.bincount(arcs.submission, minlength=m)
    print(
        f"sparsify top-K             {t2 - t1:6.2f} s   ({arcs.submission.size} arcs; per "
        f"submission {per_row.min()}-{per_row.max()})"
    )
    print(
        f"assign_round               {t3 - t2:6.2f} s   stages: "
        + ", ".join(f"{k}={v:.2f}s" for k, v in result.timings.items())
    )
    print(
        f"status={result.status} method={result.method} total={result.total_affinity:.4f} "
        f"bound={result.objective_bound:.4f}"
    )
    if fairness:
        print(
            f"fairness: weakest panel mean {result.min_panel_score:.4f} "
            f"(upper bound {result.fairness_bound:.4f})"
        )
    seats = int(result.panel_filled.sum())
    short = sum(u.missing for u in result.unfilled if u.kind == "metrology")
    print(
        f"seats {seats}/{int(result.panel_size.sum())}, metrology places unmet {short}, "
        f"min panel mean {result.min_panel_score:.4f}, "
        f"load histogram {result.load_histogram.tolist()}"
    )
    print(
        f"peak memory: traced (numpy/python) {traced_peak / 2**20:.0f} MiB; "
        f"process max RSS {rss1:.0f} MiB (before the round {rss0:.0f} MiB)"
    )
    if fairness:
        return
    t4 = time.perf_counter()
    cert = sparsification_gap(result, arcs, affinity, pool)
    t5 = time.perf_counter()
    print(
        f"certificate vs full graph  {t5 - t4:6.2f} s: applicable={cert.applicable} "
        f"certified_optimal={cert.certified()} gap_bound={cert.gap_bound:.6f} "
        f"omitted={cert.omitted_pairs} violating={cert.violating_pairs} "
        f"improving={cert.improving_pairs} max_rc={cert.max_reduced_cost:.6f} "
        f"lp={cert.lp_value:.4f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--part", choices=["all", "topk", "round"], default="all")
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--submissions", type=int, default=2_000)
    p.add_argument("--experts", type=int, default=10_000)
    p.add_argument("--panel", type=int, default=3)
    p.add_argument("--k", type=int, default=40)
    p.add_argument("--k-metrology", type=int, default=5)
    p.add_argument("--fairness", action="store_true")
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--cover", type=float, default=0.0, help="grow K (sparsify_for_round)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.part in ("all", "round"):  # first, so max RSS reflects the round
        bench_round(
            a.submissions,
            a.experts,
            a.panel,
            a.k,
            a.k_metrology,
            a.fairness,
            a.seed,
            a.time_limit,
            a.cover,
        )
    if a.part in ("all", "topk"):
        bench_topk(a.sizes, a.queries, a.seed)


if __name__ == "__main__":
    main()
