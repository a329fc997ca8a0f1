"""Matching benchmark (issue 4): the whole one-submission pipeline and a review round.

    .venv/bin/python bench/match.py [--sizes 1000 10000 100000] [--queries 40]

1. One submission, top-50 under all constraints, at 1k / 10k / 100k experts: language-fair
   semantic scores over every expert text (4 texts per expert, 384-dim float32, as stored by
   the app), aggregation per expert, keyword scores from a Whoosh index of the experts,
   category and specialty overlap, fusion, every eligibility rule, top-50 and the panel.
   p50/p95 with the query embedding excluded, and included (real multilingual-e5-small).
2. A round of 2,000 submissions x 10,000 experts x 3 reviewers: the affinity matrix from the
   same pipeline (semantic + fusion), then the exact assignment as the application runs it
   (`assign_sparse`: each submission's best candidates, from top-40 grown until they can serve
   1.5 x the seats, solved per group of submissions sharing no expert, and certified against
   the full matrix by LP duality).
Peak memory (RSS) is reported. Synthetic pools: experts in 13 categories with texts whose
vectors cluster by category (so top-k is not uniform noise); keyword documents are built from
a realistic RM vocabulary.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _model import machine, real_encoder
from fair_baseline import fair_sequence
from match_core import TODAY, synthetic_experts, synthetic_submissions

from expertpool.core.assignment import (
    ExpertTable,
    PoolAttributes,
    Rules,
    assign_sparse,
    build_panel,
    exclusion_masks,
)
from expertpool.core.embeddings.matrix import VectorMatrix
from expertpool.core.embeddings.store import calibration_vectors
from expertpool.core.search import IndexManager, IndexSpec
from expertpool.matching.scoring import ScoringConfig, score_pool
from expertpool.matching.texts import KEYWORD_FIELDS

DIM = 384
TEXTS_PER_EXPERT = 4
TOP_K = 40  # arcs per submission before capacity-aware growth (sparsify_for_round)
VOCAB = {
    1: ["钢铁", "合金钢", "碳硫", "火花直读光谱"],
    2: ["铝合金", "铜", "氧氮氢", "惰气熔融"],
    3: ["水泥", "熟料", "X射线荧光", "玻璃"],
    4: ["铀", "放射性", "伽马能谱", "铯137"],
    5: ["聚乙烯", "分子量", "凝胶渗透色谱", "熔体流动速率"],
    6: ["化工", "纯度", "滴定法", "有机溶剂"],
    7: ["岩石", "矿石", "稀土", "地球化学"],
    8: ["土壤", "重金属", "铅", "镉", "ICP-MS"],
    9: ["血清", "葡萄糖", "胆固醇", "同位素稀释质谱"],
    10: ["奶粉", "三聚氰胺", "农药残留", "大米"],
    11: ["煤炭", "发热量", "原油", "硫含量"],
    12: ["硬度", "拉伸", "粗糙度", "涂层"],
    13: ["pH", "电导率", "粒度", "密度"],
}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(samples: list[float]) -> str:
    return f"{np.percentile(samples, 50):7.1f} / {np.percentile(samples, 95):7.1f}"


class SyntheticPool:
    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.records, self.category = synthetic_experts(n, rng)
        self.table = ExpertTable.from_records(self.records)
        centers = rng.standard_normal((14, DIM)).astype(np.float32)
        rows = n * TEXTS_PER_EXPERT
        self.row_expert = np.repeat(np.arange(n), TEXTS_PER_EXPERT)
        vectors = centers[self.category[self.row_expert]] + 0.9 * rng.standard_normal(
            (rows, DIM)
        ).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        langs = tuple("en" if r % 3 == 0 else "zh" for r in range(rows))  # a third English
        self.matrix = VectorMatrix(
            dim=DIM,
            row_ids=np.arange(rows),
            source_types=("expert",) * rows,
            source_ids=self.row_expert,
            chunks=("c",) * rows,
            langs=langs,
            vectors=vectors,
        )
        self.centers = centers
        self.specialty_seed = rng.random(n)

    def query_vector(self, category: int, rng: np.random.Generator) -> np.ndarray:
        v = self.centers[category] + 0.9 * rng.standard_normal(DIM).astype(np.float32)
        return v / np.linalg.norm(v)


def keyword_index(pool: SyntheticPool, folder: Path, rng: np.random.Generator):
    spec = IndexSpec("experts", KEYWORD_FIELDS, filter_fields=("status", "category"))
    index = IndexManager(folder).index(spec)

    def docs():
        for i, cat in enumerate(pool.category):
            words = VOCAB[int(cat)]
            picked = " ".join(rng.choice(words, size=3))
            yield {
                "id": str(i),
                "fields": f"审评类别 {picked}",
                "profile": f"从事{picked}标准物质研制",
                "publications": f"{picked} 测定方法研究",
                "rms": "",
                "reviews": "",
                "status": "active",
                "category": [str(int(cat))],
            }

    start = time.perf_counter()
    index.rebuild(docs(), total=len(pool.category))
    return index, time.perf_counter() - start


def one_query(
    pool: SyntheticPool,
    index,
    q: np.ndarray,
    sub,
    words: str,
    rules: Rules,
    cfg: ScoringConfig,
    calibration,
) -> tuple[float, float]:
    """Returns (total ms, keyword ms) for the whole ranking of one submission."""
    start = time.perf_counter()
    row_scores = pool.matrix.scores(q, calibration)
    k0 = time.perf_counter()
    keyword = np.zeros(len(pool.category))
    ids, values = index.term_scores(words, int_ids=True, max_pairs=cfg.keyword_pairs)
    keyword[ids] = values
    k1 = time.perf_counter()
    category = (pool.category == sub.category).astype(float)
    specialty = category * pool.specialty_seed
    scores = score_pool(row_scores, pool.row_expert, keyword, category, specialty, cfg)
    excluded = np.zeros(len(category), bool)
    for mask in exclusion_masks(pool.table, sub, rules, TODAY).values():
        excluded |= mask
    total = np.where(excluded, -np.inf, scores.total)
    top = np.argpartition(-total, 50)[:50]
    top = top[np.argsort(-total[top])]
    build_panel(
        [(int(i), float(total[i])) for i in top if np.isfinite(total[i])],
        {int(i): pool.records[i] for i in top},
        rules,
    )
    end = time.perf_counter()
    return (end - start) * 1000, (k1 - k0) * 1000


def bench_one(sizes: list[int], queries: int, encoder) -> None:
    rng = np.random.default_rng(0)
    rules, cfg = Rules(), ScoringConfig()
    texts = [f"{' '.join(VOCAB[c][:3])}成分分析标准物质的研制与定值" for c in range(1, 14)]
    embed = []
    for t in texts * 3:
        s = time.perf_counter()
        encoder.encode_query(t)
        embed.append((time.perf_counter() - s) * 1000)
    embed_p50 = float(np.percentile(embed, 50))
    calibration = calibration_vectors(encoder)  # the real model's: 384 dimensions, like DIM
    print(f"query embedding (real model): p50 {embed_p50:.1f} ms")
    print(
        f"{'experts':>8} {'texts':>8}  total p50/p95 ms  keyword p50  with embedding p50"
        f"  cold p50 (keyword)  first query ms  index build s  RSS MB"
    )
    for n in sizes:
        pool = SyntheticPool(n, rng)
        subs, _cats = synthetic_submissions(queries, max(n // 8, 10), rng)
        with tempfile.TemporaryDirectory() as tmp:
            index, build_s = keyword_index(pool, Path(tmp), rng)
            samples, kw, cold, cold_kw, first = [], [], [], [], None
            for j, sub in enumerate(subs):
                sub = dataclasses.replace(sub, category=int(1 + j % 13))
                q = pool.query_vector(sub.category, rng)
                # Each category's words once (no posting list of theirs read yet), then again.
                words = " ".join(VOCAB[sub.category][:3])
                total, keyword = one_query(pool, index, q, sub, words, rules, cfg, calibration)
                if first is None:  # also reads each segment's ids and field lengths
                    first = total
                elif j < 13:
                    cold.append(total)
                    cold_kw.append(keyword)
                total, keyword = one_query(pool, index, q, sub, words, rules, cfg, calibration)
                samples.append(total)
                kw.append(keyword)
            index.close()
        p50 = float(np.percentile(samples, 50))
        print(
            f"{n:>8} {n * TEXTS_PER_EXPERT:>8}  {pct(samples)}   {np.percentile(kw, 50):8.1f}"
            f"   {p50 + embed_p50:12.1f}   {np.percentile(cold or [np.nan], 50):7.1f} "
            f"({np.percentile(cold_kw or [np.nan], 50):5.1f})   {first:11.1f}   {build_s:10.1f}"
            f"  {rss_mb():7.0f}"
        )


def bench_round(m: int, n: int, seats: int, fairness: bool = False, conflicts: float = 0.0) -> None:
    rng = np.random.default_rng(1)
    pool = SyntheticPool(n, rng)
    rules = Rules(panel_size=seats, load_cap_per_round=2)
    cfg = ScoringConfig()
    subs, _cats = synthetic_submissions(m, max(n // 8, 10), rng)
    start = time.perf_counter()
    affinity = np.full((m, n), -np.inf)
    for j, sub in enumerate(subs):
        sub = dataclasses.replace(sub, category=int(1 + j % 13))
        q = pool.query_vector(sub.category, rng)
        category = (pool.category == sub.category).astype(float)
        scores = score_pool(
            pool.matrix.scores(q, None),
            pool.row_expert,
            np.zeros(n),
            category,
            category * pool.specialty_seed,
            cfg,
        )
        excluded = np.zeros(n, bool)
        for mask in exclusion_masks(pool.table, sub, rules, TODAY).values():
            excluded |= mask
        affinity[j, ~excluded] = scores.total[~excluded]
    if conflicts:
        affinity[np.random.default_rng(2).random((m, n)) < conflicts] = -np.inf
    scoring_s = time.perf_counter() - start

    attributes = PoolAttributes.from_table(pool.table, rules)
    start, cpu = time.perf_counter(), time.process_time()
    # As the application does (expertpool/matching/rounds.py): top-K per submission, doubled
    # where the candidates cannot serve 1.5 x the seats, the exact solve, the LP-duality
    # certificate against the full matrix, and one re-solve with the pairs that could improve.
    solved = assign_sparse(
        affinity, attributes, rules, TOP_K, submission_ids=np.arange(m), fairness=fairness
    )
    solve_s, solve_cpu = time.perf_counter() - start, time.process_time() - cpu
    result, arcs, cert = solved.result, solved.arcs, solved.certificate
    filled = int(result.panel_filled.sum())
    per_row = np.bincount(arcs.submission, minlength=m)
    print(
        f"round {m} x {n} x {seats}: affinity {scoring_s:.1f} s + assignment {solve_s:.1f} s "
        f"= {scoring_s + solve_s:.1f} s; status {result.status} ({result.method}); "
        f"seats {filled}/{m * seats}; total affinity {result.total_affinity:.4f}; "
        f"peak RSS {rss_mb():.0f} MB"
    )
    if fairness:
        print(
            f"  fairness ({result.fairness_status}): weakest panel {result.min_panel_score:.4f} "
            f"(unfair optimum {result.unfair_min_panel_score:.4f}, upper bound "
            f"{result.fairness_bound:.4f}); total affinity {result.total_affinity:.4f}, "
            f"{result.affinity_given_up:.4f} below the unfair optimum "
            f"{result.unfair_total:.4f}; metrology places unmet "
            f"{sum(u.missing for u in result.unfilled if u.kind == 'metrology')}; "
            f"assignment {solve_s:.1f} s (CPU {solve_cpu:.1f} s)"
        )
        cpu = time.process_time()
        base = fair_sequence(
            affinity,
            attributes.capacity,
            seats,
            institution=attributes.institution,
            province=attributes.province,
            max_per_province=rules.max_per_province,
            metrology=attributes.metrology,
            min_metrology=rules.min_metrology,
        )
        print(
            f"  FairSequence-style baseline, same matrix: weakest panel {base.floor:.4f}; total "
            f"affinity {base.total:.4f}; seats {base.seats}/{m * seats}; metrology places "
            f"unmet {base.metrology_unmet}; picks without the WEF1 check {base.fallbacks}; "
            f"{base.seconds:.1f} s (CPU {time.process_time() - cpu:.1f} s); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
    print(
        f"  arcs {arcs.submission.size} (per submission min/median/max {per_row.min()}/"
        f"{int(np.median(per_row))}/{per_row.max()}, from K={TOP_K}); re-solves "
        f"{solved.refinements}; last solve's stages: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    )
    if cert is None:  # fairness: no duals to certify with
        return
    print(
        f"  full graph ({cert.omitted_pairs} pairs left out): certified optimal "
        f"{cert.certified()}; gap bound {cert.gap_bound:.6f} (LP {cert.lp_value:.4f}); "
        f"violating pairs {cert.violating_pairs}, improving pairs {cert.improving_pairs}, "
        f"max reduced cost {cert.max_reduced_cost:.6f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--part", choices=["all", "one", "round"], default="all")
    parser.add_argument("--fairness", action="store_true", help="round: raise the weakest panel")
    parser.add_argument(
        "--rounds",
        nargs="+",
        default=None,
        help="round sizes MxN (default 2000x10000; with --fairness also 500x2000 first)",
    )
    parser.add_argument(
        "--conflicts", type=float, default=0.01, help="--fairness: share of random conflicts"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.part in ("all", "one"):
        bench_one(args.sizes, args.queries, real_encoder())
    if args.part in ("all", "round"):
        sizes = args.rounds or (["500x2000", "2000x10000"] if args.fairness else ["2000x10000"])
        for size in sizes:
            m, n = (int(v) for v in size.split("x"))
            print(f"load average before: {os.getloadavg()[0]:.1f}")
            bench_round(
                m, n, 3, fairness=args.fairness, conflicts=args.conflicts if args.fairness else 0.0
            )


if __name__ == "__main__":
    sys.exit(main())
