"""Text of a submission: what is extracted from its attachments and what matching reads."""

from __future__ import annotations

import io
import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Submission

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 300  # a certification dossier rarely exceeds this; stops pathological files
MAX_STORED_CHARS = 200_000
MATCHING_ATTACHMENT_CHARS = 8_000  # all attachments together: keeps the dossier from drowning
# the fields an administrator wrote (title, analytes, methods) in boilerplate

_SPACES = re.compile(r"\s+")


def extract_text(ext: str, data: bytes) -> str:
    """Plain text of a PDF or text file ('' for other files or when nothing can be read)."""
    if ext == ".pdf":
        return _squeeze(_pdf_text(data))[:MAX_STORED_CHARS]
    if ext == ".txt":
        return _squeeze(_decode(data))[:MAX_STORED_CHARS]
    return ""


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = []
        for page in reader.pages[:MAX_PDF_PAGES]:
            pages.append(page.extract_text() or "")
        return "\n".join(pages)
    except Exception as exc:  # a damaged or encrypted PDF is still a valid attachment
        log.info("no text from pdf: %r", exc)
        return ""


def _decode(data: bytes) -> str:
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return ""


def _squeeze(text: str) -> str:
    """One space for any run of whitespace: PDF extraction breaks lines everywhere."""
    return _SPACES.sub(" ", text).strip()


def matching_text(submission: Submission, attachment_chars: int = MATCHING_ATTACHMENT_CHARS) -> str:
    """The text matched against experts' texts.

    Title, RM name, matrix, analytes, methods, intended use and description, then the
    attachments' text, cut to `attachment_chars` characters in all.
    """
    parts = [
        submission.title,
        submission.rm_name,
        submission.matrix,
        "、".join(submission.analytes or []),
        "、".join(submission.methods or []),
        submission.intended_use,
        submission.description,
    ]
    budget = max(attachment_chars, 0)
    for attachment in submission.attachments:
        if budget <= 0:
            break
        chunk = _squeeze(attachment.text)[:budget]
        parts.append(chunk)
        budget -= len(chunk)
    return "\n".join(p.strip() for p in parts if p and p.strip())
