"""Institution names by one rule (`core.names`) on every path: the expert form and import, the
submission form and import, the list filters and the JSON API, and the recusal check.

A messy spelling of an institution is stored tidy, and any spelling that differs only in width,
case or white space finds the same institution, so an expert is recused from a submission of
their own institution however either was typed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import func, select

from expertpool.core.names import name_key, person_key, tidy_name
from expertpool.db import db
from expertpool.experts import importer as expert_importer
from expertpool.experts.models import Expert, Institution
from expertpool.reviews.eligibility import exclusion_reasons, rules_from_config
from expertpool.submissions import importer as submission_importer
from expertpool.submissions.models import Submission
from tests.experts.test_import import csv_bytes as expert_csv
from tests.experts.test_import import good_row as expert_row
from tests.submissions.test_submission_import import csv_bytes as submission_csv
from tests.submissions.test_submission_import import good_row as submission_row

MESSY = "  中国计量科学研究院（ＮＩＭ）\u3000 化学所 "
TIDY = "中国计量科学研究院(NIM) 化学所"
VARIANTS = ["中国计量科学研究院(nim) 化学所", "中国计量科学研究院（ｎｉｍ）  化学所"]


def _institutions() -> list[str]:
    return list(db.session.scalars(select(Institution.name)))


def _expert(email: str) -> Expert:
    db.session.expire_all()
    return db.session.scalar(select(Expert).where(Expert.email == email))


def _submission(title: str) -> Submission:
    db.session.expire_all()
    return db.session.scalar(select(Submission).where(Submission.title == title))


@pytest.fixture
def admin_client(client: Any, auth: Any, admin: Any) -> Any:
    auth.login()
    return client


def _expert_form(client: Any, institution: str) -> Expert:
    form = {"name": "王五", "email": "form@example.cn", "institution": institution}
    assert client.post("/experts/new", data={**form, "categories": "8"}).status_code == 302
    return _expert("form@example.cn")


def _expert_import(admin: Any, institution: str) -> Expert:
    rows = [expert_row(1, 工作单位=institution)]
    report = expert_importer.validate(
        db.session, expert_importer.parse("e.csv", expert_csv(rows), "utf-8")
    )
    assert report.ok, report.errors
    expert_importer.commit(db.session, admin, report)
    db.session.commit()
    return _expert("imported1@example.cn")


def _submission_form(client: Any, institution: str) -> Submission:
    form = {
        "kind": "rm_certification",
        "title": "表单申请",
        "review_type": "new",
        "grade": "first",
        "rm_name": "土壤",
        "category": "8",
        "applicant_institution": institution,
        "window_start": "2025-06-01",
        "window_end": "2025-07-01",
    }
    assert client.post("/submissions/new", data=form).status_code == 302
    return _submission("表单申请")


def _submission_import(admin: Any, institution: str) -> Submission:
    rows = [submission_row(1, 申请单位=institution, 标题="导入申请")]
    parsed = submission_importer.parse("s.csv", submission_csv(rows), "utf-8")
    report = submission_importer.validate(db.session, parsed)
    assert report.ok, report.errors
    submission_importer.commit(db.session, admin, report)
    db.session.commit()
    return _submission("导入申请")


def _stored_name(entry: Any) -> str:
    return (entry.institution if isinstance(entry, Expert) else entry.applicant_institution).name


PATHS = {
    "expert form": lambda client, admin, name: _expert_form(client, name),
    "expert import": lambda client, admin, name: _expert_import(admin, name),
    "submission form": lambda client, admin, name: _submission_form(client, name),
    "submission import": lambda client, admin, name: _submission_import(admin, name),
}


@pytest.mark.parametrize("path", PATHS)
def test_a_messy_name_is_stored_tidy(admin_client: Any, admin: Any, path: str) -> None:
    entry = PATHS[path](admin_client, admin, MESSY)
    assert _stored_name(entry) == TIDY
    assert _institutions() == [TIDY]


@pytest.mark.parametrize("path", PATHS)
def test_every_spelling_finds_the_one_institution(admin_client: Any, admin: Any, path: str) -> None:
    PATHS[path](admin_client, admin, MESSY)
    for variant in VARIANTS:
        db.session.execute(Expert.__table__.delete())
        db.session.execute(Submission.__table__.delete())
        db.session.commit()
        entry = PATHS[path](admin_client, admin, variant)
        assert _stored_name(entry) == TIDY, variant
    assert db.session.scalar(select(func.count()).select_from(Institution)) == 1


def test_the_import_does_not_warn_about_a_known_institution_spelled_otherwise(
    admin_client: Any, admin: Any
) -> None:
    _expert_form(admin_client, MESSY)
    for variant in VARIANTS:
        rows = [expert_row(1, 工作单位=variant)]
        report = expert_importer.validate(
            db.session, expert_importer.parse("e.csv", expert_csv(rows), "utf-8")
        )
        assert report.ok and not report.warnings, report.warnings


@pytest.mark.parametrize("query", [MESSY, *VARIANTS, "（ＮＩＭ）", "nim"])
def test_the_list_filter_and_the_api_find_the_expert(
    admin_client: Any, admin: Any, query: str
) -> None:
    expert = _expert_form(admin_client, MESSY)
    api = admin_client.get("/api/v1/experts", query_string={"institution": query}).get_json()
    assert [item["id"] for item in api["items"]] == [expert.id]
    page = admin_client.get("/experts/", query_string={"institution": query})
    assert f"/experts/{expert.id}" in page.get_data(as_text=True)
    submission = _submission_import(admin, VARIANTS[1])
    listed = admin_client.get("/submissions/", query_string={"q": query})
    assert f"/submissions/{submission.id}" in listed.get_data(as_text=True)


def test_recusal_sees_the_same_institution_however_typed(admin_client: Any, admin: Any) -> None:
    expert = _expert_form(admin_client, MESSY)
    submission = _submission_form(admin_client, VARIANTS[1])
    rules = rules_from_config(current_app.config)
    reasons = exclusion_reasons(db.session, expert, submission, rules, dt.date(2025, 6, 1))
    assert "same_institution" in {r.code for r in reasons}


def test_the_rule_itself() -> None:
    assert tidy_name(MESSY) == TIDY and tidy_name(None) == ""
    assert {name_key(v) for v in [MESSY, *VARIANTS]} == {"中国计量科学研究院(nim) 化学所"}
    assert name_key("﹙NIM﹚") == "(nim)"  # compatibility forms fold in the key
    assert person_key(" 王　强 ") == person_key("王强") == "王强"
