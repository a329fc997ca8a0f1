"""The applicant's contacts: names for recusal, e-mail addresses encrypted with their domains."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from expertpool.db import db
from expertpool.submissions import importer
from expertpool.submissions import operations as ops
from tests.submissions.test_submission_import import check, good_row, xlsx_bytes


def test_import_keeps_contacts_encrypts_addresses_and_keeps_domains(app: Any, admin: Any) -> None:
    row = good_row(1, 联系人="陈立新;Li Hong", 联系人邮箱="ChenLX@Mail.NIM.ac.cn; lh@qq.com")
    report = check("s.xlsx", xlsx_bytes([row]))
    assert report.ok, report.errors
    [submission] = importer.commit(db.session, admin, report)
    db.session.commit()
    assert submission.contact_people == ["陈立新", "Li Hong"]
    assert submission.contact_email_list == ["chenlx@mail.nim.ac.cn", "lh@qq.com"]
    assert submission.contact_domains == ["mail.nim.ac.cn", "qq.com"]
    assert submission.named_people == ["王强", "刘芳", "陈立新", "Li Hong"]
    stored = db.session.execute(
        text("SELECT contact_emails FROM submission WHERE id = :id"), {"id": submission.id}
    ).scalar_one()
    assert "nim" not in stored and "@" not in stored  # a token, not the addresses


def test_a_malformed_address_is_refused_with_its_row(app: Any) -> None:
    report = check("s.xlsx", xlsx_bytes([good_row(1, 联系人邮箱="chen at nim")]))
    assert not report.ok
    assert any(e.row == 2 and "chen at nim" in e.message for e in report.errors)


def test_form_data_keeps_addresses_one_per_line(app: Any, admin: Any) -> None:
    data = {
        "kind": "technical_assistance",
        "title": "帮扶",
        "applicant_institution": "某公司",
        "contact_emails": "a@x.com.cn\nb@x.com.cn",
    }
    submission = ops.create_submission(db.session, admin, data)
    assert submission.contact_emails == "a@x.com.cn\nb@x.com.cn"
    assert submission.contact_domains == ["x.com.cn"]
    with pytest.raises(ops.SubmissionError, match="not an e-mail"):
        ops.create_submission(db.session, admin, {**data, "contact_emails": "nobody"})
