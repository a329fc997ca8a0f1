"""The one list rule (`core.textlists.split_list`) on every submission entry path: the form,
the XLSX/CSV/JSON import and the operation store "1,2-二氯乙烷;铅" as the same two analytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.db import db
from expertpool.submissions import importer
from expertpool.submissions.models import Submission
from tests.submissions.test_submission_import import check, csv_bytes, good_row, xlsx_bytes

TYPED = "1,2-二氯乙烷;铅"
ITEMS = ["1,2-二氯乙烷", "铅"]


def _stored() -> Submission:
    db.session.expire_all()
    return db.session.scalars(select(Submission)).one()


def test_form(admin_client: Any) -> None:
    response = admin_client.post(
        "/submissions/new",
        data={
            "kind": "technical_assistance",
            "title": "二氯乙烷检测帮扶",
            "applicant_institution": "某企业",
            "category": "",
            "analytes": TYPED,
            "methods": "GC-MS\nICP-MS",
            "applicant_people": "王强、刘芳",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stored = _stored()
    assert stored.analytes == ITEMS
    assert stored.methods == ["GC-MS", "ICP-MS"]
    assert stored.applicant_people == ["王强", "刘芳"]


@pytest.mark.parametrize(("filename", "encode"), [("s.xlsx", xlsx_bytes), ("s.csv", csv_bytes)])
def test_spreadsheet_import(app: Any, admin: Any, filename: str, encode: Any) -> None:
    report = check(filename, encode([good_row(1, 分析物=TYPED, 研制人员="王强、刘芳")]))
    assert report.ok, report.errors
    importer.commit(db.session, admin, report)
    db.session.commit()
    assert (_stored().analytes, _stored().applicant_people) == (ITEMS, ["王强", "刘芳"])


@pytest.mark.parametrize("analytes", [TYPED, ITEMS, [" 1,2-二氯乙烷", "铅 ", "铅"]])
def test_json_import(app: Any, admin: Any, analytes: Any) -> None:
    """A JSON string is split like a cell; a JSON array is taken item by item."""
    record = {
        "kind": "technical_assistance",
        "title": "二氯乙烷检测帮扶",
        "analytes": analytes,
        "applicant_institution": "某企业",
    }
    report = check("s.json", json.dumps([record], ensure_ascii=False).encode())
    assert report.ok, report.errors
    importer.commit(db.session, admin, report)
    db.session.commit()
    assert _stored().analytes == ITEMS


@pytest.mark.parametrize("analytes", [TYPED, ITEMS])
def test_operation(make_submission: Any, analytes: Any) -> None:
    assert make_submission(analytes=analytes).analytes == ITEMS
