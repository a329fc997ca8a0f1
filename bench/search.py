"""Course-material search latency at 10k and 100k passages: keyword, semantic, hybrid.

    .venv/bin/python bench/search.py [--sizes 10000 100000] [--repeat 3] [--workdir DIR]

Passages are synthetic, recombined from the real demo passages (courses/demo_content): each
takes the sentences of two or three real passages, the heading of one and the lesson and
course titles of others, in about 35-passage courses with the demo's topics, audiences,
levels and languages. Its vector is the normalised mean of its sources' real
multilingual-e5-small vectors (encoding 100k texts would take hours here; search cost does
not depend on what the vectors say). Everything else is what the search page runs:
the materials IndexSpec in Whoosh, the vectors in a `VectorStore` over SQLite, and
`material_retriever` (`HybridRetriever` + `MaterialKeywords` + `SemanticMaterials`) asked for
a page of 20 passages of published courses, a new retriever per query as per request, so the
query embedding is always included (no cache). Queries: the 51 evaluation queries.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from _model import ROOT, machine, real_encoder
from flask import Flask
from sqlalchemy import insert

from courses.constants import AUDIENCES, LEVELS, TOPICS
from courses.content.passages import Passage, lesson_passages
from courses.search.index import INDEX, SOURCE_TYPE, SPEC, YES
from courses.search.queries import (
    MaterialKeywords,
    SemanticMaterials,
    facet_counts,
    group_by_course,
)
from expertpool.config import DEFAULTS
from expertpool.core.embeddings.fairness import guess_lang
from expertpool.core.embeddings.store import Embedding, IndexState, VectorStore, text_hash
from expertpool.core.search import HybridConfig, HybridRetriever, SearchIndex
from expertpool.core.search.app import HYBRID_KEYS
from expertpool.db import db

DEMO = ROOT / "courses" / "demo_content"
DATA = ROOT / "bench" / "data"
PER_COURSE = 35
PUBLISHED_SHARE = 0.95
FILTERS = {"published": YES}
_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.] )")


# -- the real passages and their vectors -----------------------------------------------------


def demo_passages() -> list[tuple[str, str, Passage]]:
    """(course title, lesson title, passage) for every demo lesson passage."""
    out = []
    for folder in sorted(p for p in DEMO.iterdir() if (p / "course.toml").is_file()):
        manifest = tomllib.loads((folder / "course.toml").read_text("utf-8"))
        for chapter in manifest["chapters"]:
            for lesson in chapter["lessons"]:
                path = folder / lesson["file"]
                if path.suffix != ".md":
                    continue
                for p in lesson_passages(
                    manifest["slug"], 0, lesson["title"], path.read_text("utf-8"), None
                ):
                    out.append((manifest["title"], lesson["title"], p))
    return out


def demo_vectors(encoder: Any, passages: list, cache: Path | None) -> np.ndarray:
    if cache is not None and cache.is_file():
        return np.load(cache)
    texts = [f"{lesson} · {p.heading}\n{p.text}" for _c, lesson, p in passages]
    start = time.perf_counter()
    vectors = encoder.encode_document(texts)
    print(f"encoded {len(texts)} real passages in {time.perf_counter() - start:.0f} s")
    if cache is not None:
        np.save(cache, vectors)
    return vectors


# -- synthetic passages ----------------------------------------------------------------------


def synthetic(n: int, real: list, vectors: np.ndarray, seed: int = 11) -> Iterator[tuple]:
    """(keyword document, course id, lang, vector) for n recombined passages."""
    rng = random.Random(seed)
    sentences = [[s for s in _SENTENCE.split(p.text) if s.strip()] for _c, _l, p in real]
    topics, audiences, levels = list(TOPICS), list(AUDIENCES), list(LEVELS)
    for i in range(n):
        course_id = i // PER_COURSE + 1
        crng = random.Random(course_id * 7919 + seed)
        course_title = f"{real[crng.randrange(len(real))][0]} {course_id}"
        picks = rng.sample(range(len(real)), rng.choice((2, 3)))
        text = "".join(rng.choice(sentences[j]) + " " for j in picks for _ in range(2)).strip()
        heading_src, lesson_src = real[picks[0]], real[picks[-1]]
        vec = vectors[picks].mean(axis=0)
        vec /= np.linalg.norm(vec)
        doc = {
            "id": f"c{course_id}:{i}:0",
            "text": text,
            "heading": heading_src[2].heading,
            "lesson_title": lesson_src[1],
            "course_title": course_title,
            "course": f"c{course_id}",
            "course_id": str(course_id),
            "topic": crng.choice(topics),
            "audience": crng.sample(audiences, crng.choice((1, 2))),
            "level": crng.choice(levels),
            "language": "en" if crng.random() < 0.15 else "zh",
            "published": YES if crng.random() < PUBLISHED_SHARE else "no",
            "lesson_id": i,
            "anchor": "sec-1",
            "source": "markdown",
            "page": None,
        }
        yield doc, course_id, guess_lang(text), vec.astype(np.float32)


# -- measuring -------------------------------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def timed(fn: Callable[[], Any], queries: list[str], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        for q in queries:
            start = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def bench_size(
    n: int,
    real: list,
    vectors: np.ndarray,
    encoder: Any,
    queries: list[str],
    repeat: int,
    root: Path,
) -> None:
    print(f"\n== {n:,} passages")
    root.mkdir(parents=True, exist_ok=True)
    docs, vec_rows, published = [], [], {}
    for doc, course_id, lang, vec in synthetic(n, real, vectors):
        docs.append(doc)
        vec_rows.append((course_id, doc["id"], lang, vec))
        published[course_id] = doc["published"] == YES
    print(
        f"   {len(published):,} courses, {sum(len(d['text']) for d in docs) / n:.0f} chars "
        "per passage on average"
    )

    index = SearchIndex(root / "search", SPEC)
    start = time.perf_counter()
    index.rebuild(iter(docs), total=n, progress=False)
    build = time.perf_counter() - start
    print(
        f"   keyword index build: {build:.1f} s ({n / build:,.0f} passages/s), "
        f"{dir_mb(root / 'search'):.0f} MB on disk"
    )

    app = store_app(root)
    with app.app_context():
        store = VectorStore(encoder)
        start = time.perf_counter()
        write_vectors(store, vec_rows)
        print(
            f"   vectors written to SQLite: {time.perf_counter() - start:.1f} s "
            f"({(root / 'store.db').stat().st_size / 2**20:.0f} MB)"
        )
        del docs, vec_rows
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        matrix = store.matrix(INDEX)
        print(
            f"   vector matrix load: {time.perf_counter() - start:.1f} s, {len(matrix):,} rows, "
            f"{matrix.vectors.nbytes / 2**20:.0f} MB float32; process RSS "
            f"{before:.0f} -> {rss_mb():.0f} MB"
        )
        run_queries(index, store, published, queries, repeat)
        print(f"   process RSS after searching: {rss_mb():.0f} MB")
        db.session.remove()
    index.close()


def store_app(root: Path) -> Flask:
    app = Flask("search_bench", instance_path=str(root / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{root / 'store.db'}"
    db.init_app(app)
    with app.app_context():
        db.metadata.create_all(db.engine, tables=[Embedding.__table__, IndexState.__table__])
    return app


def write_vectors(store: VectorStore, rows: list) -> None:
    """Rows inserted in bulk (the store's own upsert encodes; these vectors exist already)."""
    version = store._bump(INDEX, store.model_id)
    values = [
        {
            "index_name": INDEX,
            "source_type": SOURCE_TYPE,
            "source_id": course_id,
            "chunk": chunk,
            "model_id": store.model_id,
            "lang": lang,
            "text_hash": text_hash(chunk),
            "vector": vec.tobytes(),
            "version": version,
        }
        for course_id, chunk, lang, vec in rows
    ]
    for start in range(0, len(values), 5000):
        db.session.execute(insert(Embedding), values[start : start + 5000])
    db.session.commit()


def run_queries(
    index: SearchIndex,
    store: VectorStore,
    published: dict[int, bool],
    queries: list[str],
    repeat: int,
) -> None:
    allowed_ids = {c for c, ok in published.items() if ok}

    def allowed(filters: Any) -> set[int]:
        return allowed_ids  # the page reads the course table: ~1 ms for a few hundred courses

    # the application's defaults (expertpool/config.py), as `material_config()` reads them
    config = HybridConfig.from_mapping(
        {f: DEFAULTS[key] for f, key in HYBRID_KEYS.items() if key in DEFAULTS}
        | {"semantic_chunks_per_doc": 1}
    )
    gate = DEFAULTS["COURSES_SEARCH_MIN_BEST_SCORE"]

    def page(mode: str) -> Callable[[str], Any]:
        def run(q: str) -> Any:
            keywords = MaterialKeywords(index)
            semantic = SemanticMaterials(store, allowed, gate)
            retriever = HybridRetriever(keywords, semantic, config)
            result = retriever.search(q, filters=FILTERS, per_page=20, mode=mode)
            facet_counts(keywords.seen.values())
            return group_by_course(result, config.snippet_chars)

        return run

    for q in queries[:3]:  # warm: searcher, matrix language groups, calibration vectors
        for mode in ("keyword", "semantic", "hybrid"):
            page(mode)(q)

    encode = timed(store.encoder.encode_query, queries, repeat)
    print(f"   {'':10} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"   {'embed':10} {encode[0]:8.1f} {encode[1]:8.1f}   (query embedding alone)")
    for mode in ("keyword", "semantic", "hybrid"):
        p50, p95 = timed(page(mode), queries, repeat)
        print(f"   {mode:10} {p50:8.1f} {p95:8.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the real vectors here between runs")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    queries = [
        q["text"]
        for part in ("a", "b")
        for q in tomllib.loads((DATA / f"search_eval_{part}.toml").read_text("utf-8"))["queries"]
    ]
    encoder = real_encoder()
    real = demo_passages()
    cache = args.workdir / "demo_vectors.npy" if args.workdir else None
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    vectors = demo_vectors(encoder, real, cache)
    print(
        f"{len(real)} real passages, {len(queries)} queries x {args.repeat}; "
        f"RSS with the model loaded: {rss_mb():.0f} MB"
    )
    for n in args.sizes:
        root = Path(tempfile.mkdtemp(prefix=f"search-bench-{n}-"))
        try:
            bench_size(n, real, vectors, encoder, queries, args.repeat, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
