"""Lesson content: Markdown rendered to sanitised HTML, PDF text extraction, stored files."""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import uuid
from pathlib import Path

import markdown as md
import nh3
from werkzeug.utils import secure_filename

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


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def store_file(upload_root: str | Path, course_id: int, filename: str, data: bytes) -> str:
    """Save an uploaded file under the upload folder; returns its path relative to that folder."""
    safe = secure_filename(filename) or "file"
    relative = Path("courses") / str(course_id) / f"{uuid.uuid4().hex[:12]}-{safe}"
    target = Path(upload_root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative.as_posix()


def resolve(upload_root: str | Path, relative: str) -> Path:
    """Absolute path of a stored file, refusing anything outside the upload folder."""
    root = Path(upload_root).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"path outside the upload folder: {relative!r}")
    return path
