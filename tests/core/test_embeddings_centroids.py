"""The centroid part of matching (core/embeddings/centroids.py) and its fusion (scoring.py)."""

from __future__ import annotations

import numpy as np
import pytest

from expertpool.core.embeddings.centroids import Centroids
from expertpool.matching.scoring import ScoringConfig, score_pool, semantic_part


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# Every vector shares a large common component (as e5's do), plus a topic direction.
COMMON = np.array([5.0, 0, 0, 0, 0])


def text(topic: int, noise: float = 0.0) -> np.ndarray:
    v = COMMON.copy()
    v[topic] += 1.0
    v[4] += noise
    return unit(v)


def test_a_centroid_is_the_centred_mean_of_its_sources_texts():
    vectors = np.stack([text(1), text(2), text(1), text(3)])
    c = Centroids.of(vectors, np.array([7, 7, 9, 9]))
    assert c.source_ids.tolist() == [7, 9]
    mean = vectors.mean(axis=0)
    expected_7 = unit(unit(vectors[0] - mean) + unit(vectors[1] - mean))
    assert c.vectors[0] == pytest.approx(expected_7)
    assert np.linalg.norm(c.vectors, axis=1) == pytest.approx([1.0, 1.0])


def test_centring_separates_what_raw_cosines_barely_tell_apart():
    vectors = np.stack([text(1), text(1), text(2), text(2), text(3), text(3)])
    c = Centroids.of(vectors, np.array([1, 1, 2, 2, 3, 3]))
    query = text(2)
    raw = [float(query @ unit(vectors[i] + vectors[i + 1])) for i in (0, 2, 4)]
    centred = c.scores(query)
    assert int(np.argmax(centred)) == 1 and int(np.argmax(raw)) == 1
    # raw cosines all sit near 1 (the common component); centred ones spread out
    assert max(raw) - min(raw) < 0.05
    assert centred[1] - max(centred[0], centred[2]) > 0.5


def test_an_expert_whose_work_lies_in_the_field_beats_one_lucky_text():
    # expert 1: one text right on topic 2, three on topic 3; expert 2: all four near topic 2
    vectors = np.stack(
        [text(2), text(3), text(3), text(3), text(2, 0.3), text(2, 0.2), text(2, 0.4), text(2)]
    )
    c = Centroids.of(vectors, np.array([1, 1, 1, 1, 2, 2, 2, 2]))
    scores = c.scores(text(2))
    assert scores[1] > scores[0]


def test_scores_for_follows_the_callers_order_and_fills_the_lowest():
    vectors = np.stack([text(1), text(2), text(3)])
    c = Centroids.of(vectors, np.array([30, 10, 20]))
    query = text(1)
    by_id = dict(zip(c.source_ids.tolist(), c.scores(query), strict=True))
    got = c.scores_for(np.array([20, 99, 30, 10]), query)
    assert got[[0, 2, 3]] == pytest.approx([by_id[20], by_id[30], by_id[10]])
    assert got[1] == pytest.approx(min(by_id.values()))  # 99 has no texts


def test_an_empty_matrix_gives_no_scores():
    c = Centroids.of(np.zeros((0, 5)), np.zeros(0, np.int64))
    assert c.scores(text(1)).size == 0
    assert c.scores_for(np.array([1, 2]), text(1)).tolist() == [0.0, 0.0]


def test_a_query_in_another_language_is_centred_in_its_own_language():
    # Language is a direction of its own (4); the pool is all "zh" (no language-4 component).
    zh_offset, en_offset = np.zeros(5), np.array([0, 0, 0, 0, 2.0])
    pool = np.stack([unit(COMMON + zh_offset + e) for e in np.eye(5)[1:4]])
    calibration = {
        "zh": np.stack([unit(COMMON + zh_offset + e) for e in np.eye(5)[1:4]]),
        "en": np.stack([unit(COMMON + en_offset + e) for e in np.eye(5)[1:4]]),
    }
    c = Centroids.of(pool, np.array([1, 2, 3]), ["zh"] * 3, calibration)
    assert np.allclose(c.offsets["zh"], 0.0)
    english_query = unit(COMMON + en_offset + np.eye(5)[2])  # about topic 2, in "en"
    shifted = c.scores(english_query, "en")
    unshifted = c.scores(english_query, None)
    assert int(np.argmax(shifted)) == 1
    # the shift removes the language's own offset: the right expert stands out more
    assert shifted[1] - np.delete(shifted, 1).max() > unshifted[1] - np.delete(unshifted, 1).max()


def test_the_pools_languages_are_mixed_in_their_shares():
    calibration = {"zh": np.array([[1.0, 0, 0]]), "en": np.array([[0, 1.0, 0]])}
    vectors = unit(np.array([[1.0, 0.1, 0], [1.0, 0, 0.1], [0.1, 1.0, 0], [1.0, 0.2, 0.2]]))
    c = Centroids.of(vectors, np.array([1, 1, 2, 3]), ["zh", "zh", "en", "zh"], calibration)
    pool_mean = 0.75 * np.array([1.0, 0, 0]) + 0.25 * np.array([0, 1.0, 0])
    assert c.offsets["zh"] == pytest.approx(np.array([1.0, 0, 0]) - pool_mean)
    assert c.offsets["en"] == pytest.approx(np.array([0, 1.0, 0]) - pool_mean)


def test_the_centroid_joins_the_semantic_part_with_its_weight():
    semantic = np.array([0.80, 0.82, 0.81])  # best texts: expert 1 first
    centroid = np.array([0.1, -0.2, 0.5])  # work as a whole: expert 2 first
    cfg = ScoringConfig()
    assert cfg.centroid_weight > 0
    part = semantic_part(semantic, centroid, cfg)
    expected = np.array([0.0, 1.0, 0.5]) + cfg.centroid_weight * np.array([3 / 7, 0.0, 1.0])
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    assert part == pytest.approx(expected)
    off = ScoringConfig(centroid_weight=0.0)
    assert semantic_part(semantic, centroid, off) == pytest.approx([0.0, 1.0, 0.5])
    assert semantic_part(semantic, None, cfg) == pytest.approx([0.0, 1.0, 0.5])
    raw = ScoringConfig(semantic_minmax=False, centroid_weight=1.0)
    assert semantic_part(semantic, centroid, raw) == pytest.approx((semantic + centroid) / 2)


def test_score_pool_reports_the_fused_semantic_part_it_used():
    rows = np.array([0.80, 0.79, 0.82, 0.81])
    row_expert = np.array([0, 0, 1, 2])
    centroid = np.array([0.4, -0.1, 0.2])
    cfg = ScoringConfig()
    pool = score_pool(rows, row_expert, np.zeros(3), None, None, cfg, centroid)
    w = cfg.weights
    assert pool.centroid is centroid
    # no keyword hit: the total is the semantic part's share of the present weights
    assert pool.total == pytest.approx(w.semantic * pool.fused_semantic / (w.semantic + w.keyword))
    without = score_pool(rows, row_expert, np.zeros(3), None, None, cfg)
    assert without.centroid is None
    assert pool.semantic == pytest.approx(without.semantic)  # what the reader is shown
    assert pool.fused_semantic == pytest.approx(semantic_part(without.semantic, centroid, cfg))
    assert not np.allclose(pool.fused_semantic, without.fused_semantic)


def test_the_setting_reads_match_centroid_weight():
    assert ScoringConfig.from_mapping({"MATCH_CENTROID_WEIGHT": "0"}).centroid_weight == 0.0
    assert ScoringConfig.from_mapping({}).centroid_weight == ScoringConfig().centroid_weight
