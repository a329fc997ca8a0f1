"""Lesson text split into passages with stable ids (the seam for the search core)."""

from __future__ import annotations

from courses.content.passages import (
    MAX_CHARS,
    chunk,
    course_passages,
    lesson_passages,
    plain_text,
    split_sections,
)
from courses.content.render import render_markdown

LESSON = """# 1.1 均匀性检验

引言段落：均匀性是标准物质的基本要求。

## 抽样

按 **JJF 1343** 随机抽取单元，见 [规范](http://example.org)。

- 不少于 10 个单元
- 每个单元重复测量

## 方差分析

| 来源 | 自由度 |
|------|--------|
| 瓶间 | 9 |

{long}
"""


def _lesson(long: str = "") -> str:
    return LESSON.format(long=long)


def test_sections_follow_level_two_headings_and_drop_the_title() -> None:
    sections = split_sections(_lesson())
    assert [s.heading for s in sections] == ["", "抽样", "方差分析"]
    assert [s.anchor for s in sections] == ["", "sec-1", "sec-2"]
    assert "1.1 均匀性检验" not in sections[0].text
    assert sections[0].text.startswith("引言段落")


def test_anchors_match_the_rendered_headings() -> None:
    html = render_markdown(_lesson())
    assert '<h2 id="sec-1">抽样</h2>' in html and '<h2 id="sec-2">方差分析</h2>' in html
    assert "<h1>" not in html  # the page shows the lesson title itself


def test_markdown_syntax_is_removed_from_passage_text() -> None:
    text = plain_text("按 **JJF 1343** 见 [规范](http://x.org)。\n| 瓶间 | 9 |\n|---|---|")
    assert "**" not in text and "http" not in text and "|" not in text
    assert "JJF 1343" in text and "规范" in text and "瓶间 9" in text


def test_ids_are_stable_and_carry_slug_lesson_and_index() -> None:
    first = lesson_passages("rm-homogeneity", 7, "1.1 均匀性检验", _lesson(), None)
    again = lesson_passages("rm-homogeneity", 7, "1.1 均匀性检验", _lesson(), None)
    assert first == again
    assert [p.id for p in first] == [f"rm-homogeneity:7:{i}" for i in range(len(first))]
    assert first[1].heading == "抽样" and first[1].anchor == "sec-1"
    assert first[0].heading == "1.1 均匀性检验"  # text before any ## takes the lesson title
    assert all(p.source == "markdown" and p.course_slug == "rm-homogeneity" for p in first)


def test_long_sections_are_cut_at_paragraphs_within_the_size() -> None:
    paragraph = "瓶间标准偏差由方差分析得到，计算时应注意自由度与重复次数的关系。" * 4
    long = "\n\n".join([paragraph] * 8)
    passages = lesson_passages("c", 1, "t", _lesson(long), None)
    analysis = [p for p in passages if p.heading == "方差分析"]
    assert len(analysis) >= 3
    assert all(len(p.text) <= MAX_CHARS + 150 for p in analysis)
    assert all(len(p.text) >= 150 for p in analysis[:-1])


def test_one_huge_paragraph_is_cut_at_sentences() -> None:
    sentence = "这是一个完整的句子，用来测试切分。"
    pieces = chunk(["".join([sentence] * 100)])
    assert len(pieces) > 2
    assert all(len(p) <= MAX_CHARS for p in pieces)
    assert all(p.endswith("。") for p in pieces)


def test_pdf_pages_become_passages_with_page_anchors() -> None:
    pdf_text = "第一页 内容\n接续的一行\n\n第二段\fPage two text"
    passages = lesson_passages("c", 3, "PDF 讲义", None, pdf_text)
    assert [(p.page, p.anchor, p.source) for p in passages] == [
        (1, "pdf-p1", "pdf"),
        (2, "pdf-p2", "pdf"),
    ]
    assert "第一页 内容接续的一行" in passages[0].text  # hard line breaks joined
    assert passages[1].text == "Page two text"


def test_course_passages_start_with_title_and_summary(make_course) -> None:
    course = make_course(lessons=2)
    passages = course_passages(course)
    assert passages[0].lesson_id is None and passages[0].source == "course"
    assert course.title in passages[0].text and course.summary in passages[0].text
    lesson_ids = {p.lesson_id for p in passages[1:]}
    assert lesson_ids == {lesson.id for lesson in course.lessons}
