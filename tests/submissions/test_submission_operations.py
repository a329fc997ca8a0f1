"""Submission operations: validation, optimistic locking, withdrawal, attachments, matching text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from sqlalchemy import select

from expertpool.core import audit, storage
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import institutions
from expertpool.submissions import operations as ops
from expertpool.submissions.gbw import parse_gbw
from expertpool.submissions.text import matching_text


def pdf_bytes(*pages: str) -> bytes:
    """A real PDF whose pages hold these lines (Chinese through a built-in CID font)."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out)
    for text in pages:
        pdf.setFont("STSong-Light", 12)
        pdf.drawString(72, 800, text)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "display", "grade", "category"),
    [
        ("GBW 08301", "GBW 08301", "first", 8),
        ("gbw08301", "GBW 08301", "first", 8),
        ("GBW（E） 130045", "GBW(E) 130045", "second", 13),
    ],
)
def test_gbw_numbers(text: str, display: str, grade: str, category: int) -> None:
    number = parse_gbw(text)
    assert number is not None
    assert (number.display, number.grade, number.category) == (display, grade, category)


@pytest.mark.parametrize("text", ["GBW 8301", "GBW(E) 08012", "GBW 14001", "GBW 00123", "XYZ"])
def test_not_gbw_numbers(text: str) -> None:
    assert parse_gbw(text) is None


def test_create_resolves_alias_and_takes_province_from_institution(
    app: Any, admin: Any, make_submission: Any
) -> None:
    inst = institutions.get_or_create(db.session, "广东省计量科学研究院", province="广东")
    institutions.add_alias(db.session, inst, "广东计量院")
    db.session.commit()
    audit.set_actor(db.session, admin)  # what a request or CLI command does
    submission = make_submission(applicant_institution="广东计量院", analytes=["铅", " 铅", ""])
    assert submission.applicant_institution_id == inst.id
    assert submission.applicant_province == "广东省"  # institution entered as 广东
    assert submission.analytes == ["铅"]
    assert submission.status == "registered"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "Submission"))
    assert entry.action == "create" and entry.actor_name == "admin"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"review_type": "reproduction"}, "Required for a reproduction"),
        ({"grade": None, "gbw_number": None}, "Required for an RM certification"),
        ({"applicant_institution": ""}, "A value is required"),
        ({"kind": "other"}, "Unknown kind"),
    ],
)
def test_create_refuses_inconsistent_data(
    app: Any, make_submission: Any, data: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ops.SubmissionError, match=fragment):
        make_submission(**data)


def test_technical_assistance_drops_certification_fields(app: Any, make_submission: Any) -> None:
    submission = make_submission(
        kind="technical_assistance", review_type="new", grade="first", rm_name=None, category=None
    )
    assert (submission.review_type, submission.grade) == (None, None)


def test_update_refuses_a_stale_form(app: Any, admin: Any, make_submission: Any) -> None:
    submission = make_submission()
    old_version = submission.version
    data = {
        "kind": "rm_certification",
        "review_type": "new",
        "grade": "first",
        "title": "新标题",
        "rm_name": "土壤",
        "category": 8,
        "applicant_institution": "广东省计量科学研究院",
    }
    ops.update_submission(db.session, admin, submission, data, old_version)
    db.session.commit()
    assert submission.title == "新标题" and submission.version == old_version + 1
    with pytest.raises(ops.StaleEdit):
        ops.update_submission(db.session, admin, submission, {**data, "title": "x"}, old_version)
    assert submission.title == "新标题"


def test_withdraw_needs_a_reason_and_closes(app: Any, admin: Any, make_submission: Any) -> None:
    submission = make_submission()
    with pytest.raises(ops.SubmissionError, match="reason"):
        ops.withdraw_submission(db.session, admin, submission, " ")
    ops.withdraw_submission(db.session, admin, submission, "申请人撤回")
    assert submission.status == "withdrawn"
    with pytest.raises(ops.SubmissionError):
        ops.update_submission(db.session, admin, submission, {}, None)
    with pytest.raises(ops.SubmissionError, match="already closed"):
        ops.withdraw_submission(db.session, admin, submission, "again")


def test_status_moves_only_forward(app: Any, make_submission: Any) -> None:
    submission = make_submission()
    assert not ops.set_status(db.session, submission, "completed")
    assert ops.set_status(db.session, submission, "assigned")
    assert ops.set_status(db.session, submission, "in_review")
    assert not ops.set_status(db.session, submission, "assigned")
    assert submission.status == "in_review"


def test_pdf_attachment_is_stored_and_its_text_extracted(
    app: Any, admin: Any, make_submission: Any
) -> None:
    submission = make_submission()
    data = pdf_bytes("均匀性检验 土壤中铅的测定", "Long-term stability at 4 °C")
    folder = app.config["UPLOAD_FOLDER"]
    attachment = ops.add_attachment(
        db.session, admin, submission, "../../报告.pdf", data, folder, "application/pdf"
    )
    db.session.commit()
    path = storage.resolve(folder, attachment.stored_path)
    assert path.read_bytes() == data
    assert Path(folder).resolve() in path.parents and attachment.filename == "报告.pdf"
    assert "均匀性检验" in attachment.text and "stability" in attachment.text
    assert attachment.text_chars == len(attachment.text)
    # The audit log records the attachment but not a copy of its text.
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "Attachment"))
    assert "text" not in entry.changes and entry.changes["filename"][1] == "报告.pdf"
    ops.remove_attachment(db.session, admin, submission, attachment.id, folder)
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("a.exe", b"MZ", "cannot be attached"),
        ("a.pdf", b"not a pdf", "not a PDF"),
        ("a.pdf", b"", "empty"),
    ],
)
def test_bad_attachments_refused(
    app: Any, admin: Any, make_submission: Any, name: str, data: bytes, fragment: str
) -> None:
    submission = make_submission()
    with pytest.raises(ops.SubmissionError, match=fragment):
        ops.add_attachment(db.session, admin, submission, name, data, app.config["UPLOAD_FOLDER"])


def test_damaged_pdf_is_kept_without_text(app: Any, admin: Any, make_submission: Any) -> None:
    submission = make_submission()
    attachment = ops.add_attachment(
        db.session, admin, submission, "x.pdf", b"%PDF-1.4 broken", app.config["UPLOAD_FOLDER"]
    )
    assert attachment.text == "" and attachment.text_chars == 0


def test_matching_text_has_the_fields_and_cut_attachment_text(
    app: Any, admin: Any, make_submission: Any
) -> None:
    submission = make_submission(
        intended_use="土壤监测质控", description="三个浓度水平", methods=["ICP-MS", "原子荧光"]
    )
    folder = app.config["UPLOAD_FOLDER"]
    ops.add_attachment(db.session, admin, submission, "a.txt", ("甲" * 50).encode(), folder)
    ops.add_attachment(db.session, admin, submission, "b.txt", ("乙" * 50).encode(), folder)
    text = matching_text(submission, attachment_chars=60)
    for part in (
        "土壤中重金属成分分析标准物质",
        "土壤成分分析标准物质",
        "铅、镉",
        "ICP-MS、原子荧光",
        "土壤监测质控",
        "三个浓度水平",
    ):
        assert part in text
    assert text.count("甲") == 50 and text.count("乙") == 10  # 60 characters of attachments
    assert "乙" not in matching_text(submission, attachment_chars=50)
