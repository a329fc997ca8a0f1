"""The applicant's province on every submission entry path: form, operations, import, filter."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from expertpool.db import db
from expertpool.submissions import importer
from expertpool.submissions import operations as ops
from expertpool.submissions.models import Submission
from tests.submissions.test_submission_import import check, csv_bytes, good_row, xlsx_bytes


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Submission)) or 0


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "technical_assistance",
        "title": "均匀性评估帮扶",
        "applicant_institution": "某企业",
        "category": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("posted", "stored"), [("江苏", "江苏省"), ("宁夏回族自治区", "宁夏回族自治区")]
)
def test_form_stores_the_canonical_name(admin_client: Any, posted: str, stored: str) -> None:
    response = admin_client.post("/submissions/new", data=_form(applicant_province=posted))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(Submission.applicant_province)) == stored


def test_form_refuses_an_unknown_province(admin_client: Any) -> None:
    page = admin_client.post("/submissions/new", data=_form(applicant_province="火星"))
    assert "Unknown province “火星”" in page.get_data(as_text=True)
    assert _count() == 0


def test_edit_keeps_a_legacy_value_and_refuses_a_new_unknown(
    admin_client: Any, make_submission: Any
) -> None:
    submission = make_submission(kind="technical_assistance", rm_name=None, category=None)
    db.session.execute(
        update(Submission).where(Submission.id == submission.id).values(applicant_province="X省")
    )
    db.session.commit()

    def save(province: str) -> int:
        db.session.expire_all()
        version = db.session.get(Submission, submission.id).version
        data = _form(applicant_province=province, version=str(version))
        response = admin_client.post(f"/submissions/{submission.id}/edit", data=data)
        db.session.expire_all()
        return response.status_code

    assert save("X省") == 302
    assert db.session.get(Submission, submission.id).applicant_province == "X省"
    assert save("Y省") == 400
    assert db.session.get(Submission, submission.id).applicant_province == "X省"
    assert save("Guangxi") == 302
    assert db.session.get(Submission, submission.id).applicant_province == "广西壮族自治区"


def test_operations_normalise_and_refuse(app: Any, admin: Any, make_submission: Any) -> None:
    assert make_submission(applicant_province="粤").applicant_province == "广东省"
    with pytest.raises(ops.SubmissionError, match="火星"):
        make_submission(applicant_province="火星")


def test_import_stores_aliases_as_canonical(app: Any, admin: Any) -> None:
    rows = [good_row(1, 省份="北京"), good_row(2, 省份="Hebei Province")]
    report = check("s.xlsx", xlsx_bytes(rows))
    assert report.ok, report.errors
    created = importer.commit(db.session, admin, report)
    db.session.commit()
    assert [s.applicant_province for s in created] == ["北京市", "河北省"]


def test_import_refuses_an_unknown_province_with_its_row(app: Any, admin: Any) -> None:
    rows = [good_row(1), good_row(2, 省份="北京省"), good_row(3)]
    report = check("s.csv", csv_bytes(rows))
    errors = [(e.row, e.column) for e in report.errors]
    assert errors == [(3, "省份")], report.errors
    assert "北京省" in report.errors[0].message and "3" in str(report.errors[0])
    with pytest.raises(importer.ImportRefused):
        importer.commit(db.session, admin, report)
    db.session.commit()
    assert _count() == 0


def test_template_example_province_is_canonical(app: Any) -> None:
    example = {c.zh: c.example for c in importer.COLUMNS}
    report = check("s.xlsx", xlsx_bytes([example]))
    assert report.ok, report.errors
    assert importer.COLUMN_BY_KEY["applicant_province"].example == "河北省"


def test_list_filter_finds_alias_spellings(admin_client: Any, make_submission: Any) -> None:
    make_submission(title="京", applicant_province="北京")
    make_submission(title="粤", applicant_province="广东省")
    page = admin_client.get("/submissions/?province=Beijing").get_data(as_text=True)
    assert ">京</a>" in page and ">粤</a>" not in page
