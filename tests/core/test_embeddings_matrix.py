"""The pure parts of the store: exact top-k, filters, updates, language-fair scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.embeddings.fairness import guess_lang, language_fair_scores
from expertpool.core.embeddings.matrix import Row, VectorMatrix


def unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    m = rng.normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def make_matrix(vectors: np.ndarray, langs=None, types=None, sources=None) -> VectorMatrix:
    n = len(vectors)
    rows = [
        Row(
            i + 100,
            (types or ["doc"] * n)[i],
            (sources or list(range(n)))[i],
            f"c{i}",
            (langs or ["en"] * n)[i],
            vectors[i],
        )
        for i in range(n)
    ]
    return VectorMatrix(vectors.shape[1]).apply(rows, version=1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), k=st.integers(1, 70))
def test_top_k_is_exact(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    vecs, q = unit_rows(rng, n), unit_rows(rng, 1)[0]
    hits = make_matrix(vecs).search(q, k)
    want = np.argsort(-(vecs @ q), kind="stable")[: min(k, n)]
    assert [h.source_id for h in hits] == want.tolist()
    assert [h.score for h in hits] == pytest.approx((vecs @ q)[want].tolist(), abs=1e-6)


def test_mask_array_and_callable_filter_rows() -> None:
    rng = np.random.default_rng(1)
    vecs = unit_rows(rng, 10)
    m = make_matrix(vecs, types=["expert"] * 5 + ["course"] * 5)
    q = vecs[0]
    only_courses = m.mask_for(source_type="course")
    assert {h.source_type for h in m.search(q, 10, mask=only_courses)} == {"course"}
    allowed = m.search(q, 10, mask=lambda mm: mm.mask_for(allowed_ids={1, 7}))
    assert sorted(h.source_id for h in allowed) == [1, 7]
    assert m.search(q, 3, mask=np.zeros(10, bool)) == []
    with pytest.raises(ValueError, match="mask has shape"):
        m.search(q, 3, mask=np.ones(4, bool))


def test_per_source_keeps_the_best_chunk() -> None:
    base = np.eye(4, dtype=np.float32)
    # expert 1 has two chunks; the second is the better match for the query
    vecs = np.stack([base[0] * 0.6 + base[1] * 0.8, base[0], base[2], base[3]])
    m = make_matrix(vecs, sources=[1, 1, 2, 3])
    hits = m.search(base[0], 5, per_source=True)
    assert [(h.source_id, h.chunk) for h in hits][:1] == [(1, "c1")]
    assert sorted(h.source_id for h in hits) == [1, 2, 3]


def test_apply_replaces_adds_and_drops_rows() -> None:
    rng = np.random.default_rng(2)
    vecs = unit_rows(rng, 3)
    m = make_matrix(vecs)
    new_vec = unit_rows(rng, 1)[0]
    updated = m.apply(
        [Row(101, "doc", 1, "c1", "en", new_vec), Row(500, "doc", 9, "x", "zh", vecs[0])],
        keep_ids=np.array([100, 101, 500]),  # row 102 was deleted
        version=2,
    )
    assert updated.version == 2 and len(m) == 3  # the old snapshot is untouched
    assert sorted(updated.keys()) == [("doc", 0, "c0"), ("doc", 1, "c1"), ("doc", 9, "x")]
    assert updated.search(new_vec, 1)[0].source_id == 1


def test_one_language_keeps_plain_cosines() -> None:
    rng = np.random.default_rng(3)
    scores = rng.uniform(0.7, 0.9, 30)
    prior = rng.uniform(0.7, 0.9, 16)
    fair = language_fair_scores(scores, np.zeros(30, np.int64), [prior])
    np.testing.assert_allclose(fair, scores, atol=1e-6)


def test_a_language_offset_no_longer_decides_the_rank() -> None:
    rng = np.random.default_rng(4)
    zh = rng.normal(0.86, 0.02, 40)  # a Chinese query: every Chinese text scores high
    en = rng.normal(0.79, 0.02, 40)
    en[0] = 0.84  # the right English document: +2.5 sd in its language
    scores = np.concatenate([zh, en])
    groups = np.repeat([0, 1], 40)
    fair = language_fair_scores(scores, groups, [None, None])
    assert scores.argmax() < 40  # raw: a Chinese text wins
    assert fair.argmax() == 40  # fair: the English outlier wins
    # the query's own language (the higher mean) keeps its cosines
    np.testing.assert_allclose(fair[:40], zh, atol=1e-6)


def test_rare_languages_use_pooled_statistics() -> None:
    scores = np.array([0.8, 0.82, 0.84, 0.86, 0.88, 0.5])
    groups = np.array([0, 0, 0, 0, 0, 1])  # one document in language 1
    fair = language_fair_scores(scores, groups, [None, None])
    assert fair[5] < fair[:5].min()  # not lifted to its language's (meaningless) mean
    with_prior = language_fair_scores(scores, groups, [None, np.full(8, 0.45)])
    assert with_prior[5] > fair[5]  # calibration texts give the language real statistics


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("土壤中重金属的测定", "zh"),
        ("ICP-MS测定大米中的砷形态", "zh"),
        ("Determination of lead in soil by ICP-MS", "en"),
        ("Isotope dilution mass spectrometry (同位素稀释)", "en"),
        ("12345 — ±0.5", "und"),
    ],
)
def test_guess_lang(text: str, lang: str) -> None:
    assert guess_lang(text) == lang
