"""Vectorised BM25F term scores against Whoosh's own scorer, across segments and deletions."""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import query as Q

from expertpool.core.search import IndexSpec, SearchIndex
from expertpool.core.search.termscores import TermScorer

SPEC = IndexSpec(name="people", text_fields={"fields": 2.0, "profile": 1.0, "papers": 1.5})

WORDS = ["土壤", "重金属", "铅", "镉", "ICP-MS", "标准物质", "葡萄糖", "血清", "水泥", "稀土"]


def _doc(i: int, rng: np.random.Generator) -> dict[str, str]:
    def text(n: int) -> str:
        return "，".join(rng.choice(WORDS, size=n))

    return {
        "id": str(i),
        "fields": text(int(rng.integers(1, 4))),
        "profile": f"从事{text(int(rng.integers(2, 8)))}研究",
        "papers": text(int(rng.integers(0, 12))),
    }


@pytest.fixture()
def index(tmp_path):
    idx = SearchIndex(tmp_path, SPEC)
    yield idx
    idx.close()


def _whoosh_sum(index: SearchIndex, terms: list[str]) -> dict[str, float]:
    """Whoosh's BM25F score of each (field, term) alone, summed per document."""
    out: dict[str, float] = {}
    with index.searcher() as s:
        for name in SPEC.text_fields:
            for term in terms:
                for hit in s.search(Q.Term(name, term), limit=None):
                    out[hit["id"]] = out.get(hit["id"], 0.0) + hit.score
    return out


def _ours(index: SearchIndex, scorer: TermScorer, terms: list[str]) -> dict[str, float]:
    with index.searcher() as s:
        ids, scores = scorer.scores(s.reader(), terms)
    assert len(set(ids)) == len(ids), "a document is scored once"
    return dict(zip(ids.tolist(), scores.tolist(), strict=True))


def _analysed(index: SearchIndex, text: str) -> list[str]:
    return [t.text for t in index.analyzer(text, mode="query")]


def test_scores_equal_whoosh_over_segments_and_deletions(index):
    rng = np.random.default_rng(7)
    index.add(_doc(i, rng) for i in range(120))  # first segment
    index.add(_doc(i, rng) for i in range(120, 150))  # a second one
    scorer = TermScorer(SPEC.text_fields)
    terms = _analysed(index, "土壤 重金属 铅 ICP-MS 标准物质 不存在的词")
    assert "icp" in terms  # analysed as the index stores it
    first = _ours(index, scorer, terms)
    expected = _whoosh_sum(index, terms)
    assert first.keys() == expected.keys()
    for doc_id, score in expected.items():
        assert first[doc_id] == pytest.approx(score, rel=1e-6)

    # Updating deletes the old document in its (cached) segment and adds a new segment.
    index.update([{"id": "3", "fields": "血清", "profile": "血清 葡萄糖", "papers": ""}])
    index.delete(["5"])
    again = _ours(index, scorer, terms)
    expected = _whoosh_sum(index, terms)
    assert again.keys() == expected.keys()
    assert "3" not in again and "5" not in again
    for doc_id, score in expected.items():
        assert again[doc_id] == pytest.approx(score, rel=1e-6)
    serum = _ours(index, scorer, ["血清"])
    assert serum["3"] == pytest.approx(_whoosh_sum(index, ["血清"])["3"], rel=1e-6)
    # A word given twice counts once, as Whoosh's OR normalisation drops duplicate clauses.
    assert _ours(index, scorer, ["血清", "血清"]) == serum
    with index.searcher() as s:
        numbers, scores = scorer.scores(s.reader(), terms, int_ids=True)
    assert numbers.dtype == np.int64
    assert dict(zip(map(str, numbers.tolist()), scores.tolist(), strict=True)) == again


def test_unknown_terms_and_empty_index_score_nothing(index):
    ids, scores = index.term_scores("铅")
    assert ids.size == 0 and scores.size == 0
    index.add([{"id": "1", "fields": "铅 镉", "profile": "土壤中铅", "papers": ""}])
    index.add([{"id": "2", "fields": "镉", "profile": "", "papers": ""}])
    assert _ours(index, TermScorer(SPEC.text_fields), ["不存在", ""]) == {}
    ids, scores = index.term_scores("土壤中的铅")  # analysed in query mode: 土壤, 中, 的, 铅
    assert ids.tolist() == ["1"] and scores[0] == pytest.approx(
        sum(_whoosh_sum(index, _analysed(index, "土壤中的铅")).values())
    )


def test_posting_cache_is_bounded_and_results_unchanged(index):
    rng = np.random.default_rng(3)
    index.add(_doc(i, rng) for i in range(60))
    small = TermScorer(SPEC.text_fields, max_cached_terms=2)
    big = TermScorer(SPEC.text_fields)
    terms = _analysed(index, " ".join(WORDS))
    assert _ours(index, small, terms) == pytest.approx(_ours(index, big, terms))
    assert all(len(seg.postings) <= 2 for seg in small._segments.values())
