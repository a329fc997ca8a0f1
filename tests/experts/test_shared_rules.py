"""The shared rules on every expert entry path: the same input gives the same stored value or
the same refusal through the forms, the XLSX/CSV import and the operation.

* lists: `core.textlists.split_list` ("1,2-二氯乙烷;铅" is two analytes, not three);
* ID numbers: `core.idnumbers` (a wrong check digit is refused with one message).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from expertpool.core.idnumbers import InvalidIdNumber, check_digit
from expertpool.db import db
from expertpool.experts import importer
from expertpool.experts import operations as ops
from expertpool.experts.models import Expert
from tests.experts.test_import import csv_bytes, good_row, make_id, run, the_error, xlsx_bytes

TYPED = "1,2-二氯乙烷;铅"
ITEMS = ["1,2-二氯乙烷", "铅"]
GOOD_ID = make_id(seq="077")
BAD_ID = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")  # a typing error in the last digit


def _expected_refusal() -> str:
    with force_locale("en"):
        return ops.invalid_id_number_message(
            InvalidIdNumber(InvalidIdNumber.CHECK_DIGIT, BAD_ID, digit=check_digit(BAD_ID[:17]))
        )


def _by_email(email: str) -> Expert | None:
    db.session.expire_all()
    return db.session.scalar(select(Expert).where(Expert.email == email))


@pytest.fixture
def english_admin(client: Any, auth: Any, admin: Any) -> Any:
    auth.login()
    client.post("/language", data={"locale": "en"})
    return client


# --- lists ------------------------------------------------------------------------------------


def test_list_through_the_review_fields_form(english_admin: Any, make_expert: Any) -> None:
    expert = make_expert()
    response = english_admin.post(
        f"/experts/{expert.id}/review-fields",
        data={
            "categories": ["8"],
            "analytes": TYPED,
            "matrices": "土壤、沉积物",
            "techniques": "ICP-MS\nGC-MS",
            "version": expert.version,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    expert = db.session.get(Expert, expert.id)
    assert expert.specialties_of("analyte") == ITEMS
    assert expert.specialties_of("matrix") == ["土壤", "沉积物"]
    assert expert.specialties_of("technique") == ["ICP-MS", "GC-MS"]


@pytest.mark.parametrize(("filename", "encode"), [("e.xlsx", xlsx_bytes), ("e.csv", csv_bytes)])
def test_list_through_the_import(app: Any, admin: Any, filename: str, encode: Any) -> None:
    report = run(filename, encode([good_row(1, 分析物=TYPED, 技术="ICP-MS\nGC-MS")]))
    assert report.ok, report.errors
    assert report.rows[0]["specialties"]["analyte"] == ITEMS
    (expert,) = importer.commit(db.session, admin, report)
    db.session.commit()
    assert _by_email(expert.email).specialties_of("analyte") == ITEMS
    assert expert.specialties_of("technique") == ["ICP-MS", "GC-MS"]


@pytest.mark.parametrize("given", [TYPED, ITEMS, [" 1,2-二氯乙烷 ", "铅", "铅"]])
def test_list_through_the_operation(app: Any, admin: Any, given: Any) -> None:
    expert = ops.create_expert(
        db.session,
        admin,
        {"name": "列表", "email": "list@example.cn", "categories": [8]}
        | {"specialties": {"analyte": given}},
    )
    assert expert.specialties_of("analyte") == ITEMS


# --- ID numbers -------------------------------------------------------------------------------


def test_wrong_check_digit_refused_by_the_new_expert_form(english_admin: Any) -> None:
    form = {
        "name": "校验",
        "email": "check@example.cn",
        "institution": "中国计量科学研究院",
        "categories": "8",
        "id_number": BAD_ID,
    }
    response = english_admin.post("/experts/new", data=form)
    assert response.status_code == 400
    assert _expected_refusal() in response.get_data(as_text=True)
    assert _by_email("check@example.cn") is None
    # The same form with the right number (lower-case x and spaces are fine) is saved.
    response = english_admin.post("/experts/new", data={**form, "id_number": f" {GOOD_ID} "})
    assert response.status_code == 302
    assert _by_email("check@example.cn").id_number == GOOD_ID


def test_wrong_check_digit_refused_by_the_profile_form(
    english_admin: Any, make_expert: Any
) -> None:
    expert = make_expert(id_number=GOOD_ID)
    response = english_admin.post(
        f"/experts/{expert.id}/profile",
        data={
            "name": expert.name,
            "email": expert.email,
            "id_number": BAD_ID,
            "version": expert.version,
        },
        follow_redirects=True,
    )
    assert _expected_refusal() in response.get_data(as_text=True)
    assert _by_email(expert.email).id_number == GOOD_ID


def test_wrong_check_digit_refused_by_the_import_with_the_same_message(
    app: Any, admin: Any
) -> None:
    with force_locale("en"):
        report = run("e.csv", csv_bytes([good_row(1), good_row(2, 身份证号=BAD_ID)]))
        error = the_error(report, 3, "身份证号")
    assert error.message == _expected_refusal()


def test_wrong_check_digit_refused_by_the_operation(app: Any, admin: Any) -> None:
    data = {"name": "操作", "email": "op@example.cn", "id_number": BAD_ID}
    with force_locale("en"), pytest.raises(ops.ExpertError) as caught:
        ops.create_expert(db.session, admin, data)
    assert str(caught.value) == _expected_refusal()
    expert = ops.create_expert(db.session, admin, {**data, "id_number": GOOD_ID.lower()})
    assert expert.id_number == GOOD_ID
    with pytest.raises(ops.ExpertError):
        ops.update_ordinary(db.session, admin, expert, {"id_number": BAD_ID}, expert.version)
    assert expert.id_number == GOOD_ID


def test_a_stored_number_saved_before_the_rule_may_stay(
    english_admin: Any, make_expert: Any
) -> None:
    """Like a legacy province: an unchanged stored number does not block other edits."""
    expert = make_expert()
    db.session.execute(
        Expert.__table__.update().where(Expert.id == expert.id).values(id_number_enc=BAD_ID)
    )
    db.session.commit()
    data = {"name": expert.name, "email": expert.email, "phone": "13700000001"}
    response = english_admin.post(
        f"/experts/{expert.id}/profile",
        data={**data, "id_number": BAD_ID, "version": expert.version},
    )
    assert response.status_code == 302
    stored = _by_email(expert.email)
    assert (stored.id_number, stored.phone) == (BAD_ID, "13700000001")
