"""Text of a PDF: the one extraction, with bounded work (submission attachments, PDF lessons).

`pdf_pages` reads at most `max_pages` pages and keeps at most `max_chars` characters in all, so
a huge or hostile upload costs a bounded amount of work and storage. A file it cannot read
(damaged, encrypted with a password, or past one of pypdf's own limits such as
`LimitReachedError`) raises `PdfTextError`, whose `reason` says which; callers decide what a
missing text means (an attachment or a lesson stays valid without it).
"""

from __future__ import annotations

import io
import logging

log = logging.getLogger(__name__)

MAX_PAGES = 300  # a certification dossier or a lesson rarely has more
MAX_CHARS = 1_000_000  # all pages together
# pypdf's own resource limits, tighter than its defaults (75 MB per decoded stream, 300 MB of
# decoding work and 2 million operands per content stream): a dossier's or a lesson's text never
# needs more, and a hostile file stops sooner. Past one, pypdf raises LimitReachedError (a
# 14 MB content stream was a 500 before it was caught: issue 12 item 8).
PYPDF_LIMITS = {
    "maximum_declared_stream_length": 20_000_000,
    "zlib_maximum_output_length": 20_000_000,
    "lzw_maximum_output_length": 20_000_000,
    "run_length_maximum_output_length": 20_000_000,
    "array_based_stream_maximum_output_length": 20_000_000,
    "stream_decoding_work_maximum_length": 50_000_000,
    "stream_parsing_work_maximum_count": 1_000_000,
    "page_tree_maximum_entries": 10_000,
}


class PdfTextError(ValueError):
    """`reason` is one of NOT_PDF, ENCRYPTED, LIMIT, UNREADABLE."""

    NOT_PDF = "not_pdf"
    ENCRYPTED = "encrypted"
    LIMIT = "limit"  # pypdf refused to go on (LimitReachedError): a decompression bomb or alike
    UNREADABLE = "unreadable"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def _reason(exc: Exception) -> str:
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    if isinstance(exc, FileNotDecryptedError):
        return PdfTextError.ENCRYPTED
    if isinstance(exc, LimitReachedError):
        return PdfTextError.LIMIT
    return PdfTextError.UNREADABLE


def _read(data: bytes, max_pages: int, max_chars: int) -> list[str]:
    from pypdf import apply_configuration

    with apply_configuration(**PYPDF_LIMITS):
        return _read_pages(data, max_pages, max_chars)


def _read_pages(data: bytes, max_pages: int, max_chars: int) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")  # many "protected" PDFs open with the empty password
    pages: list[str] = []
    budget = max_chars
    for page in reader.pages[:max_pages]:
        if budget <= 0:
            break
        text = (page.extract_text() or "")[:budget]
        pages.append(text)
        budget -= len(text)
    return pages


def pdf_pages(
    data: bytes, *, max_pages: int | None = None, max_chars: int | None = None
) -> list[str]:
    """The text of each page (at most `max_pages`, `max_chars` in all); `PdfTextError` if unread.

    The caps default to MAX_PAGES and MAX_CHARS.
    """
    if not is_pdf(data):
        raise PdfTextError(PdfTextError.NOT_PDF)
    try:
        return _read(data, max_pages or MAX_PAGES, max_chars or MAX_CHARS)
    # pypdf raises many kinds on a damaged file (PyPdfError, ValueError, KeyError, TypeError,
    # RecursionError, zlib.error, …): any of them means "no text", never a failed request.
    except Exception as exc:
        log.info("no text from a PDF: %r", exc)
        raise PdfTextError(_reason(exc), repr(exc)) from exc
