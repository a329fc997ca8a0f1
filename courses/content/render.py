"""Lesson text: Markdown rendered to sanitised HTML, and the text of PDF lessons (for search)."""

from __future__ import annotations

import logging
import re

import markdown as md
import nh3

from expertpool.core.pdftext import PdfTextError, pdf_pages

from .passages import section_anchor

log = logging.getLogger(__name__)

_EXTENSIONS = ["tables", "fenced_code", "sane_lists", "attr_list"]
_ALLOWED_TAGS = nh3.ALLOWED_TAGS | {
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "pre",
    "code",
    "sup",
    "sub",
    "hr",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}
_TITLE_LINE = re.compile(r"\A\s*#\s+[^\n]*\n")
_H2 = re.compile(r"<h2>")


def render_markdown(text: str) -> str:
    """Markdown -> HTML safe to show as is: sanitised by nh3, `##` headings given anchors."""
    body = _TITLE_LINE.sub("", text or "", count=1)  # the page shows the lesson title already
    html = nh3.clean(
        md.markdown(body, extensions=_EXTENSIONS),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto"},
    )
    counter = iter(range(1, 10_000))
    # Anchors are added after sanitising: we write them, nothing from the input.
    return _H2.sub(lambda _m: f'<h2 id="{section_anchor(next(counter))}">', html)


def pdf_text(data: bytes) -> str:
    """The text of a PDF, pages separated by form feeds ('' when it has no extractable text)."""
    try:
        return "\f".join(page.strip() for page in pdf_pages(data))
    except PdfTextError as exc:  # the lesson still shows the PDF; only search misses its text
        log.warning("PDF lesson without text: %s", exc.reason)
        return ""
