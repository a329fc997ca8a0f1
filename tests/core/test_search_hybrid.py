"""Fusion maths and the HybridRetriever over a real keyword index and a fake semantic search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from expertpool.core.search import (
    HybridConfig,
    HybridRetriever,
    IndexSpec,
    SearchIndex,
    SemanticHit,
    normalize_scores,
    reciprocal_rank_fusion,
    score_fusion,
    semantic_from_store,
)

# -- fusion maths --------------------------------------------------------------------------


def test_rrf_scores_and_order() -> None:
    fused = reciprocal_rank_fusion(
        {
            "keyword": [("a", 9.0), ("b", 5.0), ("c", 1.0)],
            "semantic": [("c", 0.9), ("a", 0.8), ("d", 0.7)],
        },
        k=60,
    )
    assert [f.doc_id for f in fused] == ["a", "c", "b", "d"]
    by_id = {f.doc_id: f for f in fused}
    assert by_id["a"].score == pytest.approx(1 / 61 + 1 / 62)
    assert by_id["c"].score == pytest.approx(1 / 63 + 1 / 61)
    assert by_id["b"].score == pytest.approx(1 / 62)
    assert by_id["a"].ranks == {"keyword": 1, "semantic": 2}
    assert by_id["d"].ranks == {"semantic": 3} and by_id["d"].scores == {"semantic": 0.7}


def test_rrf_weights_and_k() -> None:
    lists = {"keyword": [("a", 1.0), ("b", 0.5)], "semantic": [("b", 0.9), ("a", 0.1)]}
    # Equal weights: a tie, broken by best rank then id.
    assert [f.doc_id for f in reciprocal_rank_fusion(lists)] == ["a", "b"]
    weighted = reciprocal_rank_fusion(lists, weights={"keyword": 1.0, "semantic": 2.0})
    assert [f.doc_id for f in weighted] == ["b", "a"]
    assert weighted[0].score == pytest.approx(1 / 62 + 2 / 61)
    # A small k rewards the top of one list over being second in both.
    lists = {"keyword": [("top", 1), ("both", 1)], "semantic": [("x", 1), ("both", 1)]}
    assert reciprocal_rank_fusion(lists, k=0)[0].doc_id in ("top", "x")
    assert reciprocal_rank_fusion(lists, k=60)[0].doc_id == "both"


def test_rrf_keeps_the_first_occurrence_of_a_duplicate() -> None:
    fused = reciprocal_rank_fusion({"semantic": [("a", 0.9), ("b", 0.8), ("a", 0.7)]})
    assert [(f.doc_id, f.ranks["semantic"], f.scores["semantic"]) for f in fused] == [
        ("a", 1, 0.9),
        ("b", 2, 0.8),
    ]


def test_normalize_scores() -> None:
    assert normalize_scores([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]
    assert normalize_scores([5.0, 5.0]) == [1.0, 1.0]
    assert normalize_scores([1.0, 3.0], "zscore") == [-1.0, 1.0]
    assert normalize_scores([], "zscore") == []
    with pytest.raises(ValueError):
        normalize_scores([1.0], "softmax")


def test_score_fusion_min_max_weighted_with_missing_as_worst() -> None:
    fused = score_fusion(
        {"keyword": [("a", 12.0), ("b", 7.0), ("c", 2.0)], "semantic": [("c", 0.9), ("d", 0.5)]},
        weights={"keyword": 0.4, "semantic": 0.6},
    )
    scores = {f.doc_id: f.score for f in fused}
    assert scores["a"] == pytest.approx(0.4 * 1.0 + 0.6 * 0.0)
    assert scores["b"] == pytest.approx(0.4 * 0.5)
    assert scores["c"] == pytest.approx(0.4 * 0.0 + 0.6 * 1.0)
    assert scores["d"] == pytest.approx(0.0)
    assert [f.doc_id for f in fused] == ["c", "a", "b", "d"]


def test_score_fusion_z_scores() -> None:
    fused = score_fusion(
        {"keyword": [("a", 3.0), ("b", 1.0)], "semantic": [("b", 0.8)]}, method="zscore"
    )
    scores = {f.doc_id: f.score for f in fused}
    # a misses the semantic list: one standard deviation below its worst (z = 0 there).
    assert scores == pytest.approx({"a": 1.0 + (0.0 - 1.0), "b": -1.0 + 0.0})


def test_score_fusion_absent_from_a_one_item_list_gets_nothing_from_it() -> None:
    fused = score_fusion({"keyword": [("a", 7.0)], "semantic": [("b", 0.9), ("a", 0.1)]})
    assert {f.doc_id: f.score for f in fused} == {"a": 1.0 + 0.0, "b": 0.0 + 1.0}


def test_config_from_mapping() -> None:
    c = HybridConfig.from_mapping({"fusion": "score", "keyword_weight": 0.3, "rrf_k": 10})
    assert (c.fusion, c.keyword_weight, c.rrf_k, c.semantic_weight) == ("score", 0.3, 10, 1.0)
    assert HybridConfig.from_mapping(None) == HybridConfig()
    with pytest.raises(ValueError, match="unknown hybrid search settings"):
        HybridConfig.from_mapping({"keyword_wieght": 1})
    with pytest.raises(ValueError):
        HybridConfig.from_mapping({"fusion": "borda"})
    with pytest.raises(ValueError):
        HybridConfig.from_mapping({"normalization": "rank"})


# -- the retriever -------------------------------------------------------------------------

SPEC = IndexSpec("courses", {"title": 2.0, "body": 1.0}, filter_fields=("course",))
DOCS = [
    {
        "id": "m:1",
        "title": "重金属检测方法",
        "body": "土壤中铅、镉等重金属的ICP-MS测定。",
        "course": "c1",
    },
    {
        "id": "m:2",
        "title": "标准物质的均匀性检验",
        "body": "单因素方差分析评价瓶间均匀性。",
        "course": "c1",
    },
    {
        "id": "m:3",
        "title": "稳定性研究",
        "body": "短期和长期稳定性考察，趋势分析。",
        "course": "c2",
    },
    {
        "id": "m:4",
        "title": "定值与不确定度",
        "body": "多家实验室协同定值，不确定度合成。",
        "course": "c2",
    },
] + [
    {"id": f"x:{i}", "title": f"重金属专题 {i}", "body": "铅镉汞砷的测定。", "course": "c3"}
    for i in range(30)
]


class FakeSemantic:
    """Returns fixed chunks; records what it was asked."""

    def __init__(self, hits: Sequence[SemanticHit]) -> None:
        self.hits = list(hits)
        self.calls: list[tuple[str, int, Any]] = []

    def __call__(self, query: str, k: int, filters: Mapping[str, Any] | None) -> list[SemanticHit]:
        self.calls.append((query, k, filters))
        return self.hits[:k]


SEMANTIC = [
    SemanticHit("m:2", 0.83, "瓶间均匀性用方差分析检验，重金属含量也要均匀。"),
    SemanticHit("m:1", 0.80, "铅镉的测定"),
    SemanticHit("m:1", 0.60, "another chunk of m:1"),
    SemanticHit("gone", 0.95, "a deleted material"),
    SemanticHit("m:3", 0.40, "稳定性"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    ix = SearchIndex(tmp_path_factory.mktemp("hybrid"), SPEC)
    ix.add(DOCS)
    return ix


def test_hybrid_hits_carry_their_reasons(index: SearchIndex) -> None:
    fake = FakeSemantic(SEMANTIC)
    page = HybridRetriever(index, fake).search("重金属", filters={"course": "c1"})
    assert [h.doc_id for h in page.hits] == ["m:1", "m:2"]
    both, semantic_only = page.hits
    assert both.found_by == ("keyword", "semantic")
    assert both.keyword is not None and both.keyword.rank == 1
    assert both.keyword.terms == {"title": ("重金属",), "body": ("重金属",)}
    assert both.matched_terms == ("重金属",)
    assert both.semantic is not None
    assert (both.semantic.rank, both.semantic.score, both.semantic.chunk) == (2, 0.80, "铅镉的测定")
    assert both.snippet == "<mark>重金属</mark>检测方法"
    assert both.score == pytest.approx(1 / 61 + 1 / 62)
    assert semantic_only.found_by == ("semantic",)
    assert semantic_only.keyword is None and semantic_only.semantic.rank == 1
    # No query word in its fields: the matching chunk is the snippet, query words marked.
    assert semantic_only.snippet == "瓶间均匀性用方差分析检验，<mark>重金属</mark>含量也要均匀。"
    assert page.total == 2 and page.mode == "hybrid" and page.semantic_available
    assert fake.calls == [("重金属", 300, {"course": "c1"})]


def test_semantic_hits_outside_the_catalogue_or_filters_are_dropped(index: SearchIndex) -> None:
    page = HybridRetriever(index, FakeSemantic(SEMANTIC)).search("稳定性", mode="semantic")
    assert [h.doc_id for h in page.hits] == ["m:2", "m:1", "m:3"]  # "gone" is not indexed
    assert [h.score for h in page.hits] == [0.83, 0.80, 0.40]  # cosines, best chunk per doc
    assert [h.semantic.rank for h in page.hits] == [1, 2, 3]
    filtered = HybridRetriever(index, FakeSemantic(SEMANTIC)).search(
        "稳定性", mode="semantic", filters={"course": "c2"}
    )
    assert [h.doc_id for h in filtered.hits] == ["m:3"]


def test_min_semantic_score_cuts_weak_neighbours(index: SearchIndex) -> None:
    config = HybridConfig(semantic_min_score=0.5)
    page = HybridRetriever(index, FakeSemantic(SEMANTIC), config).search("稳定性")
    by_id = {h.doc_id: h for h in page.hits}
    assert by_id["m:3"].semantic is None  # its 0.40 chunk is below the cut
    assert by_id["m:3"].found_by == ("keyword",)
    assert set(by_id) == {"m:1", "m:2", "m:3"}


def test_score_fusion_mode_uses_configured_weights(index: SearchIndex) -> None:
    semantic = FakeSemantic([SemanticHit("m:4", 0.9, "不确定度"), SemanticHit("m:1", 0.1, "")])
    keyword_heavy = HybridRetriever(
        index, semantic, HybridConfig(fusion="score", keyword_weight=1.0, semantic_weight=0.1)
    )
    semantic_heavy = HybridRetriever(
        index, semantic, HybridConfig(fusion="score", keyword_weight=0.1, semantic_weight=1.0)
    )
    f = {"course": ["c1", "c2"]}
    assert [h.doc_id for h in keyword_heavy.search("重金属", filters=f).hits] == ["m:1", "m:4"]
    assert [h.doc_id for h in semantic_heavy.search("重金属", filters=f).hits] == ["m:4", "m:1"]


def test_hybrid_pagination(index: SearchIndex) -> None:
    retriever = HybridRetriever(index, FakeSemantic(SEMANTIC), HybridConfig(candidates=100))
    pages = [retriever.search("重金属", page=p, per_page=12) for p in (1, 2, 3, 4)]
    # 31 keyword hits (m:1 and x:0..29) plus m:2 and m:3 found by meaning only
    assert [len(p.hits) for p in pages] == [12, 12, 9, 0]
    assert all(p.total == 33 and p.pages == 3 for p in pages)
    seen = [h.doc_id for p in pages for h in p.hits]
    assert len(set(seen)) == 33
    assert [h.rank for h in pages[1].hits] == list(range(13, 25))
    scores = [h.score for p in pages for h in p.hits]
    assert scores == sorted(scores, reverse=True)


def test_keyword_mode_and_missing_or_broken_semantic(index: SearchIndex) -> None:
    keyword = HybridRetriever(index, FakeSemantic(SEMANTIC)).search("均匀性", mode="keyword")
    assert [h.doc_id for h in keyword.hits] == ["m:2"]
    assert keyword.hits[0].found_by == ("keyword",)
    assert keyword.hits[0].snippet == "标准物质的<mark>均匀性</mark>检验"

    def broken(query: str, k: int, filters: Any) -> list[SemanticHit]:
        raise RuntimeError("model not loaded")

    for semantic_fn in (None, broken):
        page = HybridRetriever(index, semantic_fn).search("均匀性")
        assert [h.doc_id for h in page.hits] == ["m:2"]
        assert not page.semantic_available


def test_empty_query_lists_filtered_documents(index: SearchIndex) -> None:
    fake = FakeSemantic(SEMANTIC)
    page = HybridRetriever(index, fake).search("", filters={"course": "c2"})
    assert [h.doc_id for h in page.hits] == ["m:3", "m:4"]
    assert fake.calls == []  # no meaning to embed
    assert page.hits[0].snippet == "稳定性研究"


def test_adapter_for_the_embedding_store() -> None:
    class Encoder:
        def encode_query(self, text: str) -> np.ndarray:
            return np.ones((1, 4), dtype=np.float32) / 2

    class Store:
        def __init__(self) -> None:
            self.args: tuple[Any, ...] = ()

        def search(
            self, index: str, query_vec: np.ndarray, k: int, mask: Any = None, **kw: Any
        ) -> list:
            self.args = (index, query_vec.shape, k, mask, kw)
            return [("material", 7, "均匀性检验", 0.91), ("expert", 3, "ICP-MS", 0.5)]

    store = Store()
    fn = semantic_from_store(
        Encoder(),
        store,
        "materials",
        mask=lambda filters: ("mask-for", filters["course"]),
        per_source=True,
    )
    hits = fn("均匀性", 5, {"course": "c1"})
    assert hits == [
        SemanticHit("material:7", 0.91, "均匀性检验"),
        SemanticHit("expert:3", 0.5, "ICP-MS"),
    ]
    assert store.args == ("materials", (4,), 5, ("mask-for", "c1"), {"per_source": True})


def test_bad_arguments(index: SearchIndex) -> None:
    retriever = HybridRetriever(index, None)
    with pytest.raises(ValueError):
        retriever.search("x", page=0)
    with pytest.raises(ValueError):
        retriever.search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_retriever_works_on_an_index_not_built_yet(tmp_path: Path) -> None:
    page = HybridRetriever(SearchIndex(tmp_path, SPEC), FakeSemantic(SEMANTIC)).search("重金属")
    assert page.hits == [] and page.total == 0
