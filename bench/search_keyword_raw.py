"""Keyword search speed on synthetic RM texts: indexing throughput and query latency.

    .venv/bin/python bench/search_keyword_raw.py --sizes 10000 100000

Documents are short realistic RM descriptions made from templates (matrix, analyte, method,
property, GBW number), 2-3 sentences, about 80 characters each. Latency is wall-clock per
query on a warm searcher, median and 95th percentile over --repeat runs.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from expertpool.core.search import IndexSpec, SearchIndex, rm_analyzer

MATRICES = [
    "土壤",
    "大米粉",
    "牛奶粉",
    "茶叶",
    "地表水",
    "人血清",
    "钢铁",
    "煤",
    "大豆",
    "猪肉",
    "沉积物",
    "铜合金",
    "菠菜",
    "奶粉",
    "小麦粉",
    "葡萄酒",
    "蜂蜜",
    "海水",
    "岩石",
    "尿液",
]
ANALYTES = [
    "铅",
    "镉",
    "汞",
    "砷",
    "铬",
    "三聚氰胺",
    "葡萄糖",
    "黄曲霉毒素B1",
    "多环芳烃",
    "胆固醇",
    "有机氯农药",
    "邻苯二甲酸酯",
    "氯霉素",
    "维生素C",
    "肌酐",
    "尿素",
    "硫",
    "碳",
    "氧",
    "重金属",
]
METHODS = [
    "电感耦合等离子体质谱法（ICP-MS）",
    "同位素稀释质谱法",
    "液相色谱法",
    "气相色谱质谱法",
    "原子吸收光谱法",
    "原子荧光光谱法",
    "库仑滴定法",
    "高频燃烧红外吸收法",
    "中子活化分析",
]
PROPERTIES = ["均匀性", "短期稳定性", "长期稳定性", "扩展不确定度", "计量溯源性", "定值结果"]
TEMPLATES = [
    "{m}中{a}成分分析标准物质，采用{x}定值，{p}良好，编号GBW {n}。",
    "本标准物质以{m}为基体，{a}的标准值由多家实验室协同定值，{p}符合JJF 1343要求。",
    "研制{m}中{a}标准物质，用{x}测定，评定了{p}，可用于{m}检测的质量控制。",
    "Certified reference material for {a} in {m}: measurements by {x}; {p} evaluated.",
]

QUERIES = {
    "rare word": "三聚氰胺",
    "common word": "标准物质",
    "CJK run (AND)": "土壤重金属",
    "sub-word": "金属",
    "two words": "ICP-MS 大米粉",
    "identifier": "GBW 07401",
    "English stem": "measurements",
    "AND->OR fallback": "葡萄糖 岩石 蜂蜜",
}
# What the expert matcher sends: a whole application abstract, any word may match.
LONG_TEXT = (
    "本项目研制大米粉中镉、铅、砷成分分析标准物质，采用电感耦合等离子体质谱法和同位素稀释质谱法"
    "定值，开展均匀性检验、短期稳定性和长期稳定性考察，评定扩展不确定度，建立计量溯源性，"
    "用于食品安全检测实验室的质量控制和能力验证。"
)


def synthetic_docs(n: int, seed: int = 7) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    for i in range(n):
        parts = [
            rng.choice(TEMPLATES).format(
                m=rng.choice(MATRICES),
                a=rng.choice(ANALYTES),
                x=rng.choice(METHODS),
                p=rng.choice(PROPERTIES),
                n=f"{rng.randint(1, 13):02d}{rng.randint(0, 999):03d}",
            )
            for _ in range(rng.randint(2, 3))
        ]
        yield {
            "id": f"rm:{i}",
            "title": parts[0][:24],
            "body": "".join(parts[1:]),
            "category": f"{rng.randint(1, 13):02d}",
            "status": rng.choice(["active", "retired"]),
        }


FILTERS = {"category": "08", "status": "active"}
SPEC = IndexSpec("bench", {"title": 3.0, "body": 1.0}, filter_fields=("category", "status"))


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Wall-clock p50 and p95 and CPU-time p50, in ms. CPU time is what the query costs on an
    idle core; wall time also counts waiting for a shared machine's cores."""
    fn()  # warm-up: opens the searcher, fills caches
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    wall.sort()
    p95 = wall[int(0.95 * (len(wall) - 1))]
    return statistics.median(wall) * 1000, p95 * 1000, statistics.median(cpu) * 1000


def fmt(t: tuple[float, float, float]) -> str:
    return f"{t[0]:.0f}/{t[1]:.0f} ({t[2]:.0f})"


def bench_analyzer(n: int) -> None:
    docs = list(synthetic_docs(n))
    chars = sum(len(d["body"]) + len(d["title"]) for d in docs)
    a = rm_analyzer()
    t = time.perf_counter()
    for d in docs:
        for field in ("title", "body"):
            for _ in a(d[field], positions=True, chars=True, mode="index"):
                pass
    dt = time.perf_counter() - t
    print(
        f"analyzer: {n} docs, {chars / n:.0f} chars/doc, {chars / dt / 1000:.0f} k chars/s, "
        f"{n / dt:.0f} docs/s"
    )


def bench_size(n: int, repeat: int, root: Path) -> None:
    ix = SearchIndex(root / f"n{n}", SPEC)
    t, c = time.perf_counter(), time.process_time()
    ix.rebuild(synthetic_docs(n), total=n, progress=False)
    build, build_cpu = time.perf_counter() - t, time.process_time() - c
    size = sum(p.stat().st_size for p in (root / f"n{n}").rglob("*") if p.is_file())
    print(
        f"\n== {n} documents: rebuild {build:.1f} s wall = {n / build:.0f} docs/s "
        f"({n / build_cpu:.0f} docs/s of CPU), index {size / 2**20:.1f} MiB"
    )

    batch = list(synthetic_docs(1000, seed=99))
    for d in batch:
        d["id"] = f"new:{d['id']}"
    t, c = time.perf_counter(), time.process_time()
    for i in range(0, len(batch), 100):
        ix.update(batch[i : i + 100])
    inc, inc_cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"incremental update, 1000 docs in 10 commits of 100: {1000 / inc:.0f} docs/s "
        f"({1000 / inc_cpu:.0f} docs/s of CPU)"
    )
    t = time.perf_counter()
    for d in batch[:20]:
        ix.update([d])
    one = (time.perf_counter() - t) / 20
    print(f"single-document update (one commit): {one * 1000:.0f} ms")

    print("ms per query; wall p50/p95 (cpu p50)")
    print(
        f"{'query':<18} {'hits':>7}  {'page of 20 + snippets':>24}  {'top 100, no snippets':>24}"
        f"  {'+ 2 filters':>12}"
    )
    for name, q in QUERIES.items():
        total = ix.search(q, per_page=1, snippets=False).total
        page = timed(lambda q=q: ix.search(q, per_page=20), repeat)
        cand = timed(lambda q=q: ix.candidates(q, limit=100), repeat)
        filt = timed(lambda q=q: ix.search(q, per_page=20, filters=FILTERS), repeat)
        print(f"{name:<18} {total:>7}  {fmt(page):>24}  {fmt(cand):>24}  {filt[0]:>12.0f}")
    total = ix.search(LONG_TEXT, per_page=1, snippets=False, match="any").total
    page = timed(lambda: ix.search(LONG_TEXT, per_page=20, match="any"), repeat)
    cand = timed(lambda: ix.candidates(LONG_TEXT, limit=100, match="any"), repeat)
    print(f"{'long text, any':<18} {total:>7}  {fmt(page):>24}  {fmt(cand):>24}")
    ix.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    bench_analyzer(5000)
    root = Path(tempfile.mkdtemp(prefix="search-bench-"))
    try:
        for n in args.sizes:
            bench_size(n, args.repeat, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
