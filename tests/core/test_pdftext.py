"""The one PDF text extraction (`core.pdftext`), bounded, and its two callers: submission
attachments (`submissions.text`) and PDF lessons (`courses.content.render`)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from courses.content.render import pdf_text as lesson_text
from expertpool.core import pdftext
from expertpool.core.pdftext import PdfTextError, pdf_pages
from expertpool.submissions.text import extract_text as attachment_text
from tests.submissions.test_submission_operations import pdf_bytes

DAMAGED = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ntrailer << /Root 1 0 R >>\n"


def _encrypted(data: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pages_of_a_real_pdf() -> None:
    pages = pdf_pages(pdf_bytes("均匀性检验", "Stability study"))
    assert [p.strip() for p in pages] == ["均匀性检验", "Stability study"]


def test_work_is_bounded_by_pages_and_characters() -> None:
    data = pdf_bytes("第一页", "第二页", "第三页")
    assert len(pdf_pages(data, max_pages=2)) == 2
    assert [p.strip() for p in pdf_pages(data, max_chars=5)][:1] == ["第一页"]
    assert sum(len(p) for p in pdf_pages(data, max_chars=5)) == 5


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"PK\x03\x04 not a pdf", PdfTextError.NOT_PDF),
        (DAMAGED, PdfTextError.UNREADABLE),
        (b"%PDF-1.4\n", PdfTextError.UNREADABLE),
    ],
)
def test_unreadable_files_raise_a_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(PdfTextError) as caught:
        pdf_pages(data)
    assert caught.value.reason == reason


def test_a_password_protected_pdf_is_refused_but_an_empty_password_opens() -> None:
    data = pdf_bytes("保密")
    with pytest.raises(PdfTextError) as caught:
        pdf_pages(_encrypted(data, "secret"))
    assert caught.value.reason == PdfTextError.ENCRYPTED
    assert pdf_pages(_encrypted(data, ""))[0].strip() == "保密"


def test_pypdf_limits_become_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf.errors import LimitReachedError

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise LimitReachedError("declared stream length exceeds the limit")

    monkeypatch.setattr("pypdf.PdfReader", refuse)
    with pytest.raises(PdfTextError) as caught:
        pdf_pages(pdf_bytes("x"))
    assert caught.value.reason == PdfTextError.LIMIT


def test_both_callers_read_the_same_text() -> None:
    data = pdf_bytes("定值方法", "不确定度评定")
    assert lesson_text(data) == "定值方法\f不确定度评定"
    assert attachment_text(".pdf", data) == "定值方法 不确定度评定"


@pytest.mark.parametrize("data", [DAMAGED, b"%PDF-1.4\n"])
def test_both_callers_keep_a_damaged_pdf_without_text(data: bytes) -> None:
    assert lesson_text(data) == ""
    assert attachment_text(".pdf", data) == ""


def test_both_callers_cap_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdftext, "MAX_PAGES", 1)
    data = pdf_bytes("第一页", "第二页")
    assert lesson_text(data) == "第一页"
    assert attachment_text(".pdf", data) == "第一页"


def _huge_content_stream(size: int) -> bytes:
    from tests.fuzz.strategies import _pdf_with_stream

    return _pdf_with_stream(size)


@pytest.mark.parametrize("size", [4_000_000, 14_000_000], ids=["past-our-limit", "issue-14MB"])
def test_a_huge_content_stream_is_refused_by_the_limits(size: int) -> None:
    """Issue 12 item 8: a 14 MB content stream (a few KiB compressed) raised pypdf's
    LimitReachedError; pdftext's own tighter limits (PYPDF_LIMITS) refuse it, and 4 MB, sooner."""
    data = _huge_content_stream(size)
    assert len(data) < 200_000
    with pytest.raises(PdfTextError) as caught:
        pdf_pages(data)
    assert caught.value.reason == PdfTextError.LIMIT


def test_a_small_content_stream_still_reads() -> None:
    assert pdf_pages(_huge_content_stream(1_000))[0].strip().startswith("x")
