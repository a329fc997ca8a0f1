"""Keyword search over realistic RM texts: Chinese word precision, stemming, identifiers,
highlighting, filters, pagination, AND/OR behaviour, rebuild vs incremental indexing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from expertpool.core.search import IndexSpec, SearchIndex
from expertpool.core.search import index as search_index

SPEC = IndexSpec(
    name="materials",
    text_fields={"title": 3.0, "body": 1.0},
    filter_fields=("category", "status"),
    stored_fields=("year",),
)

DOCS = [
    {
        "id": "soil-hm",
        "title": "土壤中重金属成分分析标准物质",
        "body": "本标准物质采用电感耦合等离子体质谱法（ICP-MS）测定铅、镉、汞、砷等重金属元素，"
        "均匀性检验和稳定性检验结果良好。编号 GBW 07401。",
        "category": "07",
        "status": "active",
        "year": 2019,
    },
    {
        "id": "water-hm",
        "title": "水中重金属元素溶液标准物质",
        "body": "以同位素稀释质谱法定值，给出铅和镉的标准值及扩展不确定度。",
        "category": "08",
        "status": "active",
        "year": 2021,
    },
    {
        "id": "milk-mel",
        "title": "牛奶粉中三聚氰胺分析标准物质",
        "body": "采用液相色谱串联质谱法测定三聚氰胺含量，定值结果具有计量溯源性。",
        "category": "10",
        "status": "active",
        "year": 2010,
    },
    {
        "id": "glucose",
        "title": "葡萄糖纯度标准物质",
        "body": "临床化学用葡萄糖标准物质，纯度以质量分数表示。Measurement uncertainty was "
        "evaluated by the laboratory.",
        "category": ["09", "13"],
        "status": "active",
        "year": 2018,
    },
    {
        "id": "grape",
        "title": "葡萄酒中农药残留标准物质",
        "body": "葡萄皮及葡萄酒基体中有机磷农药的检测方法研究。",
        "category": "10",
        "status": "retired",
        "year": 2015,
    },
    {
        "id": "steel",
        "title": "金属材料中碳硫分析标准物质",
        "body": "钢铁及有色金属样品中碳和硫的测定，采用高频燃烧红外吸收法。",
        "category": "01",
        "status": "active",
        "year": 2012,
    },
    {
        "id": "english",
        "title": "Homogeneity study of a candidate reference material",
        "body": "Measurements of lead by isotope dilution showed a homogeneous distribution.",
        "category": "13",
        "status": "active",
        "year": 2022,
    },
    {
        "id": "coal",
        "title": "煤中全硫分析标准物质",
        "body": "以煤为基体，测定煤中硫和碳的含量。",
        "category": "11",
        "status": "active",
        "year": 2016,
    },
    {
        "id": "rice-cd",
        "title": "大米粉中镉成分分析标准物质",
        "body": "稻米基体中镉含量采用多家实验室协同定值，用于重金属污染监测。GBW(E)100377",
        "category": "10",
        "status": "active",
        "year": 2020,
    },
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    ix = SearchIndex(tmp_path_factory.mktemp("search"), SPEC)
    ix.add(DOCS)
    return ix


def ids(ix: SearchIndex, query: str, **kw: object) -> set[str]:
    return {h.doc_id for h in ix.search(query, per_page=100, **kw).hits}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("重金属", {"soil-hm", "water-hm", "rice-cd"}),
        ("三聚氰胺", {"milk-mel"}),
        ("葡萄糖", {"glucose"}),  # not the wine document, which only has 葡萄
        ("葡萄", {"glucose", "grape"}),  # 葡萄 is a search-mode sub-word of 葡萄糖
        ("金属", {"soil-hm", "water-hm", "rice-cd", "steel"}),  # ... and of 重金属
        ("镉", {"soil-hm", "water-hm", "rice-cd"}),  # single-character element names count
        ("标准物质", {d["id"] for d in DOCS if "标准物质" in d["title"]}),
        ("不确定度", {"water-hm"}),  # user-dictionary word inside 扩展不确定度
        ("同位素稀释", {"water-hm"}),  # 4+ character dictionary word inside 同位素稀释质谱
        # ICP-MS "质谱法（" and "同位素稀释质谱法定值" segment as ...质谱/法: found as a phrase
        ("质谱法", {"soil-hm", "water-hm", "milk-mel"}),
        ("测定", {"soil-hm", "milk-mel", "steel", "coal"}),
        # single-character elements are not glued to neighbours (jieba's HMM would say 煤中)
        ("硫", {"steel", "coal"}),
        ("煤", {"coal"}),
    ],
)
def test_chinese_words_found_exactly(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert ids(index, query) == expected


def test_longer_word_does_not_match_its_prefix(index: SearchIndex) -> None:
    assert "grape" not in ids(index, "葡萄糖")
    assert "steel" not in ids(index, "重金属")
    # No document has both 葡萄糖 and 溶液: AND finds nothing, the OR fallback finds either.
    assert index.search("葡萄糖溶液", match="all").total == 0
    relaxed = index.search("葡萄糖溶液")
    assert relaxed.relaxed and {h.doc_id for h in relaxed.hits} == {"glucose", "water-hm"}
    assert relaxed.hits[0].doc_id == "glucose"  # the rarer word weighs more


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("measurements", {"glucose", "english"}),  # the glucose text says "Measurement"
        ("measurement", {"glucose", "english"}),
        ("homogeneous", {"english"}),  # Homogeneity and homogeneous share a stem
        ("MEASURING", {"glucose", "english"}),
    ],
)
def test_english_words_are_stemmed_and_case_folded(
    index: SearchIndex, query: str, expected: set[str]
) -> None:
    assert ids(index, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("GBW 07401", {"soil-hm"}),
        ("GBW07401", {"soil-hm"}),
        ("07401", {"soil-hm"}),
        ("ICP-MS", {"soil-hm"}),
        ("icpms", {"soil-hm"}),
        ("GBW(E)100377", {"rice-cd"}),
        ("ＩＣＰ－ＭＳ", {"soil-hm"}),  # full-width input
    ],
)
def test_identifiers_stay_searchable(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert ids(index, query) == expected


def test_highlight_marks_whole_chinese_words(index: SearchIndex) -> None:
    hit = next(h for h in index.search("重金属").hits if h.doc_id == "soil-hm")
    assert hit.snippets["title"] == "土壤中<mark>重金属</mark>成分分析标准物质"
    assert "<mark>重金属</mark>元素" in hit.snippets["body"]
    assert hit.matched == {"title": ("重金属",), "body": ("重金属",)}
    marks = re.findall(r"<mark>(.*?)</mark>", hit.snippets["body"])
    assert set(marks) == {"重金属"}


def test_highlight_marks_the_matched_sub_word_and_identifiers(index: SearchIndex) -> None:
    hit = next(h for h in index.search("金属").hits if h.doc_id == "soil-hm")
    assert "土壤中重<mark>金属</mark>成分" in hit.snippets["title"]
    hit = index.search("icpms").hits[0]
    assert "<mark>ICP-MS</mark>" in hit.snippets["body"]
    assert hit.matched["body"] == ("ICP-MS",)
    hit = index.search("measurements").hits[0]
    assert re.search(r"<mark>Measurements?</mark>", hit.snippets["body"])


def test_snippet_escapes_html_and_cuts_with_context(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    long_tail = "样品经微波消解后上机测定。" * 20
    ix.add(
        [{"id": "x", "title": "t", "body": "<script>alert(1)</script> 重金属 & 铅。" + long_tail}]
    )
    snippet = ix.search("重金属").hits[0].snippets["body"]
    assert "&lt;/script&gt;" in snippet and "<script>" not in snippet
    assert "&amp;" in snippet
    assert "<mark>重金属</mark>" in snippet
    assert snippet.endswith("…") and len(snippet) < len(long_tail)


def test_cjk_run_needs_all_words_and_prefers_them_adjacent(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(
        [
            {"id": "apart", "title": "重金属在农田土壤中的迁移", "body": ""},
            {"id": "adjacent", "title": "土壤重金属污染的调查评价", "body": ""},
            {"id": "soil-only", "title": "土壤有机质含量的测定方法", "body": ""},
        ]
    )
    page = ix.search("土壤重金属")
    assert [h.doc_id for h in page.hits] == ["adjacent", "apart"]
    assert not page.relaxed


def test_and_falls_back_to_or_when_nothing_matches_all_words(index: SearchIndex) -> None:
    page = index.search("三聚氰胺 葡萄糖")
    assert page.relaxed
    assert {h.doc_id for h in page.hits} == {"milk-mel", "glucose"}
    assert index.search("三聚氰胺 葡萄糖", match="all").total == 0
    strict = index.search("标准物质 三聚氰胺")
    assert not strict.relaxed and {h.doc_id for h in strict.hits} == {"milk-mel"}
    # OR ranks documents matching more of the words first.
    anyway = index.search("镉 重金属 稻米", match="any").hits
    assert anyway[0].doc_id == "rice-cd"


def test_query_word_segmented_differently_in_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # jieba reads the query 国家标准 as one word but "国家标准物质" as 国家/标准物质; the
    # query falls back to the adjacent pieces 国家 标准, which still excludes loose mentions.
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(
        [
            {"id": "rm-catalogue", "title": "国家标准物质目录", "body": ""},
            {"id": "standard", "title": "推荐性国家标准 GB/T 27417", "body": ""},
            {"id": "loose", "title": "国家市场监督管理总局发布的标准", "body": ""},
        ]
    )
    assert ids(ix, "国家标准", match="all") == {"rm-catalogue", "standard"}
    assert ids(ix, "国家标准", match="any") == {"rm-catalogue", "standard", "loose"}
    # Pieces too common to check cheaply are skipped: only the whole word is looked up.
    monkeypatch.setattr(search_index, "PIECE_DF_LIMIT", 0)
    assert ids(ix, "国家标准", match="all") == {"standard"}


def test_filters_single_and_multi_valued(index: SearchIndex) -> None:
    assert ids(index, "标准物质", filters={"category": "10"}) == {"milk-mel", "grape", "rice-cd"}
    assert ids(index, "标准物质", filters={"category": "10", "status": "active"}) == {
        "milk-mel",
        "rice-cd",
    }
    assert ids(index, "标准物质", filters={"category": ["13", "01"]}) == {"glucose", "steel"}
    assert ids(index, "", filters={"category": "13"}) == {"glucose", "english"}
    assert ids(index, "标准物质", filters={"category": []}) == set()
    with pytest.raises(ValueError, match="not a filter field"):
        index.search("x", filters={"title": "y"})


def test_stored_fields_come_back(index: SearchIndex) -> None:
    hit = index.search("葡萄糖").hits[0]
    assert hit.fields["category"] == ["09", "13"]
    assert hit.fields["year"] == 2018
    assert index.documents(["glucose", "nope"]).keys() == {"glucose"}
    assert index.documents(["glucose", "steel"], filters={"category": "01"}).keys() == {"steel"}


def test_pagination_is_disjoint_and_complete(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(
        {"id": f"d{i}", "title": f"第{i}号土壤重金属标准物质", "body": "铅" * (i % 5 + 1)}
        for i in range(25)
    )
    pages = [ix.search("重金属", page=p, per_page=10) for p in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [10, 10, 5, 0]
    assert all(p.total == 25 for p in pages)
    seen = [h.doc_id for p in pages for h in p.hits]
    assert len(set(seen)) == 25
    assert [h.rank for h in pages[1].hits] == list(range(11, 21))
    scores = [h.score for p in pages for h in p.hits]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError):
        ix.search("重金属", page=0)


def test_update_delete_and_readers_refresh(tmp_path: Path) -> None:
    writer = SearchIndex(tmp_path, SPEC)
    reader = SearchIndex(tmp_path, SPEC)  # stands in for another worker process
    assert reader.search("三聚氰胺").total == 0  # nothing built yet
    writer.add(DOCS)
    assert ids(reader, "三聚氰胺") == {"milk-mel"}
    writer.update([{**DOCS[2], "title": "奶粉中三聚氰胺", "body": "液相色谱法"}])
    assert reader.doc_count() == len(DOCS)
    assert reader.search("三聚氰胺").hits[0].fields["title"] == "奶粉中三聚氰胺"
    writer.delete(["milk-mel"])
    assert ids(reader, "三聚氰胺") == set()
    with pytest.raises(ValueError, match="not in index"):
        writer.add([{"id": "z", "titel": "typo"}])


def _final_state() -> list[dict]:
    docs = {d["id"]: dict(d) for d in DOCS}
    docs["steel"]["title"] = "钢铁中重金属元素分析标准物质"
    del docs["grape"]
    docs["extra"] = {
        "id": "extra",
        "title": "土壤重金属有效态标准物质",
        "body": "铅镉测定",
        "category": "07",
        "status": "active",
    }
    return list(docs.values())


QUERIES = [
    "重金属",
    "标准物质",
    "镉",
    "葡萄",
    "土壤重金属",
    "measurement",
    "三聚氰胺 葡萄糖",
    "GBW 07401",
    "",
]


def test_rebuild_gives_the_same_results_as_incremental_indexing(tmp_path: Path) -> None:
    inc = SearchIndex(tmp_path / "inc", SPEC)
    inc.add(DOCS[:4])
    inc.add(DOCS[4:])
    inc.update([d for d in _final_state() if d["id"] in ("steel", "extra")])
    inc.delete(["grape"])
    full = SearchIndex(tmp_path / "full", SPEC)
    assert full.rebuild(_final_state(), total=len(DOCS), progress=False) == len(DOCS)
    for q in QUERIES:
        assert ids(inc, q) == ids(full, q), q
    inc.optimize()  # merged segments: deleted documents leave the BM25 statistics
    for q in QUERIES:
        a = {h.doc_id: h.score for h in inc.search(q, per_page=50).hits}
        b = {h.doc_id: h.score for h in full.search(q, per_page=50).hits}
        # Not exact: Whoosh stores per-document lengths in one lossy byte and a merge sums
        # those, while a fresh build keeps the exact total.
        assert a == pytest.approx(b, rel=0.03), q


def test_rebuild_swaps_generations_and_keeps_one_spare(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(DOCS)
    reader = SearchIndex(tmp_path, SPEC)
    assert ids(reader, "三聚氰胺") == {"milk-mel"}
    for n in range(3):
        ix.rebuild(
            [d for d in DOCS if d["id"] != "milk-mel"] if n % 2 == 0 else DOCS, progress=False
        )
        assert ids(reader, "三聚氰胺") == (set() if n % 2 == 0 else {"milk-mel"})
    gens = sorted(p.name for p in (tmp_path / SPEC.name).glob("gen-*"))
    assert gens == ["gen-000003", "gen-000004"]
    assert ix.current_generation() == "gen-000004"


def test_failed_rebuild_leaves_the_live_index_alone(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(DOCS)

    def broken():
        yield DOCS[0]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        ix.rebuild(broken(), progress=False)
    assert ids(ix, "三聚氰胺") == {"milk-mel"}
    assert sorted(p.name for p in (tmp_path / SPEC.name).glob("gen-*")) == ["gen-000001"]


def test_changed_spec_needs_a_rebuild(tmp_path: Path) -> None:
    SearchIndex(tmp_path, SPEC).add(DOCS[:2])
    wider = IndexSpec(SPEC.name, {"title": 3.0, "body": 1.0, "abstract": 1.0}, ("category",))
    ix = SearchIndex(tmp_path, wider)
    with pytest.raises(ValueError, match="rebuild"):
        ix.add([{"id": "n", "title": "新", "abstract": "摘要中的三聚氰胺"}])
    ix.rebuild([{"id": "n", "title": "新", "abstract": "摘要中的三聚氰胺"}], progress=False)
    ix.add([{"id": "m", "abstract": "重金属"}])
    assert ids(ix, "三聚氰胺") == {"n"} and ids(ix, "重金属") == {"m"}


def test_filter_results_follow_new_commits(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(DOCS)
    active_11 = {"category": "11", "status": "active"}
    assert ids(ix, "标准物质", filters=active_11) == {"coal"}  # filter set now cached
    ix.add([{"id": "coke", "title": "焦炭标准物质", "category": "11", "status": "active"}])
    ix.update([{**DOCS[-2], "status": "retired"}])  # coal
    assert ids(ix, "标准物质", filters=active_11) == {"coke"}
    assert ix.documents(["coal", "coke"], filters=active_11).keys() == {"coke"}


def test_long_any_query_keeps_its_rarest_clauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = SearchIndex(tmp_path, SPEC)
    ix.add(
        {"id": f"c{i}", "title": "标准物质研制", "body": "标准物质的定值、均匀性和稳定性"}
        for i in range(10)
    )
    ix.add([{"id": "rare", "title": "三聚氰胺", "body": "标准物质"}])
    text = "三聚氰胺标准物质的定值、均匀性与稳定性"
    assert ix.search(text, match="any").total == 11
    monkeypatch.setattr(search_index, "LONG_OR", 4)
    monkeypatch.setattr(search_index, "MAX_OR_POSTINGS", 5)
    # Ten clauses (5 words x 2 fields) > 4: the rarest (1 document) fits the budget of 5
    # postings, adding the next (11 documents) would not.
    page = ix.search(text, match="any")
    assert [h.doc_id for h in page.hits] == ["rare"] and page.total == 1
    assert page.hits[0].matched["title"] == ("三聚氰胺",)
