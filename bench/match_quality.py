"""Matching quality on our RM evaluation set: nDCG@10, MAP and P@5 for each ranking variant.

    .venv/bin/python bench/match_quality.py

The set (bench/data/match_eval/) has 224 experts, 60 submissions and graded judgements
(3 ideal, 2 good, 1 acceptable). nDCG uses the grades as gains (2^g - 1); MAP and P@5 count
grade >= 2 as relevant ("@1" columns count grade >= 1). Each variant ranks all 224 experts with
the same texts, chunking and keyword index the application uses (expertpool.matching.texts),
and the real multilingual-e5-small model.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _model import ROOT, machine, real_encoder

from expertpool.core.assignment.affinity import AffinityWeights
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.matrix import VectorMatrix
from expertpool.core.embeddings.store import calibration_vectors
from expertpool.core.search import IndexManager, IndexSpec
from expertpool.matching.scoring import (
    ScoringConfig,
    score_pool,
    specialty_overlap,
    submission_terms,
)
from expertpool.matching.texts import (
    EXPERT_INDEX,
    KEYWORD_FIELDS,
    ExpertTexts,
    keyword_document,
    submission_query,
    text_items,
)

DATA = ROOT / "bench" / "data" / "match_eval"


def load() -> tuple[list[ExpertTexts], list[dict], dict[str, dict[str, int]], list[dict]]:
    raw = json.loads((DATA / "experts.json").read_text("utf-8"))
    subs = json.loads((DATA / "submissions.json").read_text("utf-8"))
    qrels = json.loads((DATA / "qrels.json").read_text("utf-8"))
    experts = []
    for n, e in enumerate(raw):
        experts.append(
            ExpertTexts(
                id=n,
                summary=e.get("summary", ""),
                categories=e.get("categories", []),
                specialties=e.get("specialties", {}),
                publications=[
                    (i, p["title"], p.get("abstract", ""), p.get("language", "zh"))
                    for i, p in enumerate(e.get("publications", []))
                ],
                rms=[
                    (i, r["gbw"], r.get("name", ""))
                    for i, r in enumerate(e.get("developed_rms", []))
                ],
            )
        )
    return experts, subs, qrels, raw


def sub_text(s: dict) -> str:
    parts = [
        s["title"],
        s.get("rm_name", ""),
        s.get("matrix", ""),
        "、".join(s.get("analytes", [])),
        "、".join(s.get("methods", [])),
        s.get("description", ""),
    ]
    return "\n".join(p for p in parts if p)


def ndcg(ranked: list[int], grades: dict[int, int], k: int = 10) -> float:
    dcg = sum((2 ** grades.get(e, 0) - 1) / math.log2(i + 2) for i, e in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def average_precision(ranked: list[int], relevant: set[int]) -> float:
    hits, total = 0, 0.0
    for i, e in enumerate(ranked):
        if e in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / len(relevant) if relevant else 0.0


def precision(ranked: list[int], relevant: set[int], k: int = 5) -> float:
    return sum(1 for e in ranked[:k] if e in relevant) / k


class Signals:
    """Everything per submission that does not depend on the variant, computed once."""

    def __init__(self, experts: list[ExpertTexts], subs: list[dict], encoder) -> None:
        items = [it for e in experts for it in text_items(e)]
        self.row_expert = np.array([it.source_id for it in items])
        start = time.perf_counter()
        vectors = encoder.encode_document([it.text for it in items])
        self.encode_s = time.perf_counter() - start
        self.n_texts = len(items)
        langs = tuple(it.lang or guess_lang(it.text) for it in items)
        matrix = VectorMatrix(
            dim=encoder.dim,
            row_ids=np.arange(len(items)),
            source_types=tuple("expert" for _ in items),
            source_ids=self.row_expert,
            chunks=tuple(it.chunk for it in items),
            langs=langs,
            vectors=vectors,
        )
        calibration = calibration_vectors(encoder)
        queries = encoder.encode_query([sub_text(s) for s in subs])
        self.fair = [matrix.scores(q, calibration) for q in queries]
        self.raw = [matrix.scores(q, None) for q in queries]
        # keyword: what the application scores (vectorised BM25F over every expert);
        # keyword_page: Whoosh's own OR query page, which the application used before.
        self.keyword, self.keyword_page = self._keyword(experts, subs)
        self.category = [
            np.array([1.0 if s.get("category") in e.categories else 0.0 for e in experts])
            for s in subs
        ]
        spec = [e.all_specialties for e in experts]
        self.specialty = [
            specialty_overlap(
                submission_terms(s.get("matrix"), s.get("analytes", []), s.get("methods", [])), spec
            )
            for s in subs
        ]

    def _keyword(
        self, experts: list[ExpertTexts], subs: list[dict]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        with tempfile.TemporaryDirectory() as tmp:
            spec = IndexSpec(EXPERT_INDEX, KEYWORD_FIELDS, filter_fields=("status", "category"))
            index = IndexManager(Path(tmp)).index(spec)
            index.rebuild((keyword_document(e) for e in experts), total=len(experts))
            out, page = [], []
            for s in subs:
                scores = np.zeros(len(experts))
                paged = np.zeros(len(experts))
                query = submission_query(
                    s["title"],
                    s.get("rm_name"),
                    s.get("matrix"),
                    s.get("analytes", []),
                    s.get("methods", []),
                )
                ids, values = index.term_scores(
                    query, int_ids=True, max_pairs=ScoringConfig().keyword_pairs
                )
                scores[ids] = values
                for hit in index.candidates(query, limit=len(experts), match="any").hits:
                    paged[int(hit.doc_id)] = hit.score
                out.append(scores)
                page.append(paged)
            index.close()
            return out, page


def rank_variant(
    sig: Signals, i: int, cfg: ScoringConfig, fair: bool = True, page: bool = False
) -> list[int]:
    rows = sig.fair[i] if fair else sig.raw[i]
    keyword = sig.keyword_page[i] if page else sig.keyword[i]
    pool = score_pool(rows, sig.row_expert, keyword, sig.category[i], sig.specialty[i], cfg)
    return [int(x) for x in np.lexsort((np.arange(len(pool.total)), -pool.total))]


def rrf_rank(sig: Signals, i: int, cfg: ScoringConfig, k: int = 60) -> list[int]:
    zero = np.zeros_like(sig.category[i])
    sem = score_pool(
        sig.fair[i],
        sig.row_expert,
        zero,
        zero,
        zero,
        replace(cfg, weights=AffinityWeights(1, 0, 0, 0)),
    ).semantic
    fused = np.zeros_like(sem)
    for scores in (sem, sig.keyword[i]):
        order = np.argsort(-scores, kind="stable")
        fused[order] += 1.0 / (k + np.arange(1, len(order) + 1))
    fused += 0.1 * sig.category[i] / k + 0.1 * sig.specialty[i] / k  # ties: field overlap
    return [int(x) for x in np.lexsort((np.arange(len(fused)), -fused))]


def evaluate(name: str, ranker, subs: list[dict], qrels: dict) -> dict:
    rows = {"variant": name, "ndcg": [], "map": [], "p5": [], "map1": [], "p5_1": [], "lang": []}
    for i, s in enumerate(subs):
        grades = {int(e[1:]) - 1: g for e, g in qrels[s["id"]].items()}
        ranked = ranker(i)
        rel2 = {e for e, g in grades.items() if g >= 2}
        rel1 = set(grades)
        rows["ndcg"].append(ndcg(ranked, grades))
        rows["map"].append(average_precision(ranked, rel2))
        rows["p5"].append(precision(ranked, rel2))
        rows["map1"].append(average_precision(ranked, rel1))
        rows["p5_1"].append(precision(ranked, rel1))
        rows["lang"].append(s.get("language", "zh"))
    return rows


def summary(rows: dict) -> str:
    langs = np.array(rows["lang"])
    nd = np.array(rows["ndcg"])
    zh = nd[langs == "zh"].mean() if (langs == "zh").any() else float("nan")
    en = nd[langs == "en"].mean() if (langs == "en").any() else float("nan")
    return (
        f"{rows['variant']:<44} {nd.mean():.3f}  {np.mean(rows['map']):.3f}  "
        f"{np.mean(rows['p5']):.3f}  {np.mean(rows['map1']):.3f}  {np.mean(rows['p5_1']):.3f}"
        f"   {zh:.3f} {en:.3f}"
    )


def variants() -> list[tuple[str, ScoringConfig, bool]]:
    sem = AffinityWeights(1, 0, 0, 0)
    out = [
        ("semantic max, no language fairness", ScoringConfig("max", weights=sem), False),
        ("semantic max", ScoringConfig("max", weights=sem), True),
        ("semantic mean top-2", ScoringConfig("mean_top_k", 2, weights=sem), True),
        ("semantic mean top-3", ScoringConfig("mean_top_k", 3, weights=sem), True),
        ("semantic softmax t=0.05", ScoringConfig("softmax", temperature=0.05, weights=sem), True),
        ("semantic softmax t=0.02", ScoringConfig("softmax", temperature=0.02, weights=sem), True),
        ("keyword only (BM25F)", ScoringConfig(weights=AffinityWeights(0, 1, 0, 0)), True),
        ("category + specialty only", ScoringConfig(weights=AffinityWeights(0, 0, 0.5, 0.5)), True),
    ]
    for agg, k in (("max", 1), ("mean_top_k", 2), ("softmax", 0)):
        for s, kw, cat, spec in (
            (0.6, 0.2, 0.1, 0.1),
            (0.5, 0.3, 0.1, 0.1),
            (0.7, 0.1, 0.1, 0.1),
            (0.6, 0.3, 0, 0.1),
            (0.5, 0.2, 0.1, 0.2),
            (0.6, 0.2, 0.2, 0),
            (0.4, 0.3, 0.1, 0.2),
            (0.7, 0.2, 0, 0.1),
            (0.8, 0.2, 0, 0),
        ):
            label = f"raw {agg}{'' if agg != 'mean_top_k' else '2'} s{s} k{kw} c{cat} sp{spec}"
            cfg = ScoringConfig(
                agg, max(k, 1), 0.05, AffinityWeights(s, kw, cat, spec), semantic_minmax=False
            )
            out.append((label, cfg, True))
    for agg, k in (("mean_top_k", 2), ("softmax", 0)):
        for s, kw, cat, spec in (
            (0.6, 0.2, 0.1, 0.1),
            (0.7, 0.1, 0.1, 0.1),
            (0.5, 0.2, 0.2, 0.1),
            (0.6, 0.1, 0.2, 0.1),
            (0.7, 0.1, 0.2, 0),
            (0.5, 0.1, 0.2, 0.2),
            (0.6, 0, 0.2, 0.2),
            (0.8, 0, 0.1, 0.1),
            (0.6, 0.2, 0.2, 0),
        ):
            label = f"minmax {agg}{'' if agg != 'mean_top_k' else '2'} s{s} k{kw} c{cat} sp{spec}"
            cfg = ScoringConfig(
                agg, max(k, 1), 0.05, AffinityWeights(s, kw, cat, spec), semantic_minmax=True
            )
            out.append((label, cfg, True))
    for s, kw, cat, spec in (
        (0.75, 0.05, 0.1, 0.1),
        (0.8, 0, 0.1, 0.1),
        (0.7, 0.1, 0.15, 0.05),
        (0.7, 0.05, 0.15, 0.1),
    ):
        label = f"raw mean_top_k2 s{s} k{kw} c{cat} sp{spec}"
        out.append(
            (
                label,
                ScoringConfig(
                    "mean_top_k", 2, 0.05, AffinityWeights(s, kw, cat, spec), semantic_minmax=False
                ),
                True,
            )
        )
    return out


def main() -> None:
    experts, subs, qrels, _raw = load()
    encoder = real_encoder()
    start = time.perf_counter()
    sig = Signals(experts, subs, encoder)
    print(f"machine: {machine()}")
    print(
        f"{len(experts)} experts ({sig.n_texts} texts, encoded in {sig.encode_s:.1f} s), "
        f"{len(subs)} submissions; signals ready in {time.perf_counter() - start:.1f} s\n"
    )
    print(f"{'variant':<44} nDCG10  MAP   P@5   MAP@1 P@5@1   nDCG zh / en")
    results = []
    for name, cfg, fair in variants():
        rows = evaluate(name, lambda i, c=cfg, f=fair: rank_variant(sig, i, c, f), subs, qrels)
        results.append((float(np.mean(rows["ndcg"])), rows))
        print(summary(rows))
    rows = evaluate(
        "RRF(semantic mean top-2, keyword)",  # rank fusion: scale-free
        lambda i: rrf_rank(sig, i, ScoringConfig()),
        subs,
        qrels,
    )
    results.append((float(np.mean(rows["ndcg"])), rows))
    print(summary(rows))
    default = evaluate(
        "DEFAULT " + describe(ScoringConfig()),
        lambda i: rank_variant(sig, i, ScoringConfig(), True),
        subs,
        qrels,
    )
    print("\n" + summary(default))
    for name, cfg in (
        (
            "keyword only, Whoosh OR page (before)",
            ScoringConfig(weights=AffinityWeights(0, 1, 0, 0)),
        ),
        ("DEFAULT with Whoosh OR page keyword (before)", ScoringConfig()),
    ):
        before = evaluate(
            name, lambda i, c=cfg: rank_variant(sig, i, c, True, page=True), subs, qrels
        )
        print(summary(before))
    best = max(results, key=lambda r: r[0])[1]
    print(summary(best).replace(best["variant"], "BEST " + best["variant"][:39]))


def describe(cfg: ScoringConfig) -> str:
    w = cfg.weights
    agg = cfg.aggregation + (str(cfg.top_k) if cfg.aggregation == "mean_top_k" else "")
    scale = "minmax " if cfg.semantic_minmax else ""
    return f"{scale}{agg} s{w.semantic} k{w.keyword} c{w.category} sp{w.specialty}"


if __name__ == "__main__":
    main()
