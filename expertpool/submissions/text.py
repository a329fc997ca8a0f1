"""Text of a submission: what is extracted from its attachments and what matching reads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core.pdftext import PdfTextError, pdf_pages

if TYPE_CHECKING:
    from .models import Submission

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
    try:
        return "\n".join(pdf_pages(data, max_chars=MAX_STORED_CHARS))
    except PdfTextError:  # a damaged or encrypted PDF is still a valid attachment
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
