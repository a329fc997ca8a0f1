"""Lesson text: Markdown rendered to sanitised HTML, and the text of PDF lessons (for search)."""

from __future__ import annotations

import io
import logging
import re

import markdown as md
import nh3

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
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\f".join((page.extract_text() or "").strip() for page in reader.pages)
    except (PdfReadError, ValueError, KeyError) as exc:
        log.warning("PDF text extraction failed: %r", exc)
        return ""


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"
