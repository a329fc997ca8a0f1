"""Lesson text split into passages for search: the seam between the catalogue and the search core.

A passage is a few paragraphs under one `##` heading (about 300-600 characters), or a piece of a
PDF page. Its id, "<course slug>:<lesson id>:<index>", stays the same as long as the lesson's text
does, so an index can be updated lesson by lesson. The splitting is pure (no Flask, no database);
`course_passages` reads the ORM objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Course, Lesson

MIN_CHARS = 300
MAX_CHARS = 600

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.] )")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),
    (re.compile(r"^\s{0,3}#{3,6}\s+", re.M), ""),  # sub-headings keep their words
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # block quotes
    (re.compile(r"^\s*[-*+]\s+", re.M), "• "),  # bullets
    (re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$", re.M), ""),  # table rules
]


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str  # id of the heading in the rendered lesson ("" for the text before any ##)
    text: str


@dataclass(frozen=True)
class Passage:
    id: str
    course_slug: str
    lesson_id: int | None  # None: the course's own title and summary
    index: int
    heading: str
    anchor: str  # fragment of the lesson page ("sec-2", "pdf-p3") to link to
    text: str
    source: str  # "course" | "markdown" | "pdf"
    page: int | None = None  # PDF page number (1-based)


def section_anchor(number: int) -> str:
    """Anchor of the n-th `##` section (1-based); the lesson renderer puts it on the <h2>."""
    return f"sec-{number}"


def plain_text(markdown: str) -> str:
    """Markdown reduced to readable text (emphasis, links and table rules removed)."""
    text = markdown
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    text = re.sub(
        r"^\s*\|(.*)\|\s*$",
        lambda m: " ".join(c.strip() for c in m.group(1).split("|") if c.strip()),
        text,
        flags=re.M,
    )
    return text


def split_sections(markdown: str) -> list[Section]:
    """Split at `##` headings; the leading `# title` line is dropped (the lesson has a title)."""
    sections: list[Section] = []
    heading, anchor, lines = "", "", []
    count = 0
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if (
            match
            and len(match.group(1)) == 1
            and not sections
            and not heading
            and not "".join(lines).strip()
        ):
            continue  # the lesson title
        if match and len(match.group(1)) == 2:
            sections.append(Section(heading, anchor, "\n".join(lines).strip()))
            count += 1
            heading, anchor, lines = match.group(2), section_anchor(count), []
            continue
        lines.append(line)
    sections.append(Section(heading, anchor, "\n".join(lines).strip()))
    return [s for s in sections if s.text]


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, each as plain single-spaced text."""
    blocks = re.split(r"\n\s*\n", plain_text(text))
    return [re.sub(r"[ \t]*\n[ \t]*", "\n", b).strip() for b in blocks if b.strip()]


def chunk(
    blocks: Iterable[str], min_chars: int = MIN_CHARS, max_chars: int = MAX_CHARS
) -> list[str]:
    """Pack paragraphs into chunks of about min..max characters, never splitting a sentence."""
    pieces: list[str] = []
    for block in blocks:
        pieces.extend(_split_long(block, max_chars))
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > max_chars:
            chunks.append(current)
            current = ""
        current = f"{current}\n{piece}" if current else piece
        if len(current) >= min_chars:
            chunks.append(current)
            current = ""
    if current:
        # A short tail joins the previous chunk when that stays reasonable.
        if (
            chunks
            and len(current) < min_chars // 2
            and len(chunks[-1]) + 1 + len(current) <= max_chars + min_chars // 2
        ):
            chunks[-1] = f"{chunks[-1]}\n{current}"
        else:
            chunks.append(current)
    return chunks


def _split_long(block: str, max_chars: int) -> list[str]:
    if len(block) <= max_chars:
        return [block]
    out, current = [], ""
    for sentence in (s for s in _SENTENCE_END.split(block) if s):
        if current and len(current) + len(sentence) > max_chars:
            out.append(current.strip())
            current = ""
        current += sentence
        while len(current) > max_chars:  # one enormous "sentence": cut it hard
            out.append(current[:max_chars].strip())
            current = current[max_chars:]
    if current.strip():
        out.append(current.strip())
    return out


def lesson_passages(
    course_slug: str, lesson_id: int, lesson_title: str, markdown: str | None, pdf_text: str | None
) -> list[Passage]:
    """Every passage of one lesson: its Markdown sections, then its PDF pages."""
    found: list[tuple[str, str, str, str, int | None]] = []
    for section in split_sections(markdown or ""):
        for text in chunk(paragraphs(section.text)):
            found.append((section.heading or lesson_title, section.anchor, text, "markdown", None))
    for number, page in enumerate((pdf_text or "").split("\f"), start=1):
        for text in chunk(_pdf_paragraphs(page)):
            found.append((lesson_title, f"pdf-p{number}", text, "pdf", number))
    return [
        Passage(
            id=f"{course_slug}:{lesson_id}:{index}",
            course_slug=course_slug,
            lesson_id=lesson_id,
            index=index,
            heading=heading,
            anchor=anchor,
            text=text,
            source=source,
            page=page,
        )
        for index, (heading, anchor, text, source, page) in enumerate(found)
    ]


def _pdf_paragraphs(page: str) -> list[str]:
    """PDF text has hard line breaks inside paragraphs: join them, split on blank lines."""
    blocks = re.split(r"\n\s*\n", page)
    joined = [_join_lines(b) for b in blocks]
    return [b for b in joined if b]


def _join_lines(block: str) -> str:
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    out = ""
    for line in lines:
        # Chinese lines join without a space; Latin words need one.
        sep = " " if out and out[-1].isascii() and line[0].isascii() else ""
        out += sep + line
    return out


def course_passage(course: Course) -> Passage:
    """The course's title and summary as one passage (lesson_id None, index 0)."""
    return Passage(
        id=f"{course.slug}:course:0",
        course_slug=course.slug,
        lesson_id=None,
        index=0,
        heading=course.title,
        anchor="",
        text=f"{course.title}\n{course.summary or ''}".strip(),
        source="course",
    )


def course_passages(course: Course) -> list[Passage]:
    out = [course_passage(course)]
    for lesson in course.lessons:
        out.extend(passages_of_lesson(course.slug, lesson))
    return out


def passages_of_lesson(course_slug: str, lesson: Lesson) -> list[Passage]:
    return lesson_passages(course_slug, lesson.id, lesson.title, lesson.markdown, lesson.pdf_text)
