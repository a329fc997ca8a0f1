"""Provinces on every entry path of the expert pool: form, operations, import, institutions,
list filter, JSON API and display. Stored values are always the canonical Chinese name."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from expertpool.core.provinces import CANONICAL, UnknownProvince
from expertpool.db import db
from expertpool.experts import importer, institutions
from expertpool.experts import operations as ops
from expertpool.experts.models import Expert, Institution
from tests.experts.test_import import good_row, run, the_error, xlsx_bytes


def _expert_by_email(email: str) -> Expert | None:
    return db.session.scalar(select(Expert).where(Expert.email == email))


def _new_expert_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "省份测试",
        "email": "province@example.cn",
        "institution": "中国计量科学研究院",
        "categories": "8",
    }
    data.update(overrides)
    return data


# --- the form ---------------------------------------------------------------------------------


def test_new_expert_form_offers_the_34_divisions(client, auth, admin):
    auth.login()
    page = client.get("/experts/new").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="province".*?</select>', page, re.S)
    assert select_html, "the province is a select"
    values = re.findall(r'<option[^>]*value="([^"]*)"', select_html.group(0))
    assert values[0] == "" and len(values) == 35 and set(values[1:]) == set(CANONICAL)


@pytest.mark.parametrize(("posted", "stored"), [("广西", "广西壮族自治区"), ("北京市", "北京市")])
def test_new_expert_form_stores_the_canonical_name(client, auth, admin, posted, stored):
    auth.login()
    response = client.post("/experts/new", data=_new_expert_form(province=posted))
    assert response.status_code == 302
    assert _expert_by_email("province@example.cn").province == stored


def test_new_expert_form_refuses_an_unknown_province(client, auth, admin):
    auth.login()
    page = client.post("/experts/new", data=_new_expert_form(province="火星")).get_data(
        as_text=True
    )
    assert "火星" in page and "invalid-feedback" in page
    assert _expert_by_email("province@example.cn") is None


def test_profile_form_normalises_and_keeps_a_legacy_value(client, auth, make_expert):
    expert = make_expert(province="北京市")
    auth.login()
    edit = client.get(f"/experts/{expert.id}/edit").get_data(as_text=True)

    def save(province: str) -> None:
        version = db.session.get(Expert, expert.id).version
        client.post(
            f"/experts/{expert.id}/profile",
            data={
                "name": expert.name,
                "email": expert.email,
                "province": province,
                "version": version,
            },
        )
        db.session.expire_all()

    assert re.search(r'<option selected value="北京市">|<option value="北京市" selected', edit)
    save("Inner Mongolia")
    assert db.session.get(Expert, expert.id).province == "内蒙古自治区"
    # A value the migration could not map stays when saved unchanged, is shown, can be fixed.
    db.session.execute(update(Expert).where(Expert.id == expert.id).values(province="火星省"))
    db.session.commit()
    assert "火星省" in client.get(f"/experts/{expert.id}/edit").get_data(as_text=True)
    save("火星省")
    assert db.session.get(Expert, expert.id).province == "火星省"
    save("月球")
    assert db.session.get(Expert, expert.id).province == "火星省"  # refused, kept
    save("广东")
    assert db.session.get(Expert, expert.id).province == "广东省"


# --- operations, institutions and the model ---------------------------------------------------


def test_create_expert_normalises_or_refuses(app, admin):
    data = {"name": "港", "email": "hk@example.cn", "institution": "香港大学", "categories": [8]}
    expert = ops.create_expert(db.session, admin, {**data, "province": " Hong Kong "})
    assert expert.province == "香港特别行政区"
    assert expert.institution.province == "香港特别行政区"  # a new institution takes it too
    with pytest.raises(ops.ExpertError, match="火星"):
        ops.create_expert(db.session, admin, {**data, "email": "x@example.cn", "province": "火星"})


def test_institution_province_is_canonical(app):
    inst = institutions.get_or_create(db.session, "新疆计量测试研究院", province="新疆")
    assert inst.province == "新疆维吾尔自治区"
    with pytest.raises(UnknownProvince):
        institutions.get_or_create(db.session, "某研究所", province="火星")


def test_expert_takes_the_institution_province_only_when_known(app, admin):
    db.session.add(Institution(name="旧单位", province="北京"))
    db.session.flush()
    db.session.execute(update(Institution).where(Institution.name == "旧单位").values(province="X"))
    expert = ops.create_expert(
        db.session, admin, {"name": "甲", "email": "a@example.cn", "institution": "旧单位"}
    )
    assert expert.province is None  # the legacy "X" is not copied into a new record


# --- the import -------------------------------------------------------------------------------


def test_import_stores_aliases_as_canonical(app, admin):
    rows = [
        good_row(1, 省份="广西"),
        good_row(2, 省份=" Beijing "),
        good_row(3, 省份="ＨＯＮＧ ＫＯＮＧ"),
    ]
    report = run("experts.xlsx", xlsx_bytes(rows))
    assert report.ok, report.errors
    created = importer.commit(db.session, admin, report)
    db.session.commit()
    assert [e.province for e in created] == ["广西壮族自治区", "北京市", "香港特别行政区"]


def test_import_refuses_an_unknown_province_with_its_row(app):
    rows = [good_row(1), good_row(2, 省份="火星"), good_row(3, 省份="京")]
    report = run("experts.xlsx", xlsx_bytes(rows))
    error = the_error(report, 3, "省份")  # row 3 of the sheet (header is row 1); nothing written
    assert "火星" in error.message
    assert db.session.scalar(select(func.count(Expert.id))) == 0


def test_template_example_normalises_to_itself():
    column = importer.COLUMN_BY_KEY["province"]
    assert column.example in CANONICAL and column.kind == "province"


def test_template_example_row_imports_canonical(app, admin):
    example = {c.zh: c.example for c in importer.COLUMNS}
    report = run("experts.xlsx", xlsx_bytes([example]))
    assert report.ok, report.errors
    (expert,) = importer.commit(db.session, admin, report)
    db.session.commit()
    assert expert.province == "北京市"
    assert db.session.scalars(select(Expert.province).distinct()).all() == ["北京市"]


# --- filters and display ----------------------------------------------------------------------


def _pool(make_expert):
    make_expert(name="京甲", province="北京", institution="中国计量科学研究院")
    make_expert(name="京乙", province="北京市", institution="国家标准物质研究中心")
    make_expert(name="粤丙", province="广东省", institution="广东省计量科学研究院")


def _listed(client, query):
    page = client.get(f"/experts/?{query}").get_data(as_text=True)
    return {n for n in ("京甲", "京乙", "粤丙") if f">{n}</a>" in page}


@pytest.mark.parametrize("value", ["北京", "北京市", "京", "Beijing", " 北京 "])
def test_list_filter_normalises_the_query(client, auth, make_expert, value):
    _pool(make_expert)
    auth.login()
    assert _listed(client, f"province={value}") == {"京甲", "京乙"}


def test_list_filter_offers_one_beijing(client, auth, make_expert):
    _pool(make_expert)
    auth.login()
    page = client.get("/experts/").get_data(as_text=True)
    assert page.count('<option value="北京市"') == 1 and '<option value="北京"' not in page


@pytest.mark.parametrize("value", ["北京", "Beijing"])
def test_api_filter_normalises_the_query(client, auth, make_expert, value):
    _pool(make_expert)
    auth.login()
    data = client.get(f"/api/v1/experts?province={value}").get_json()
    assert {item["name"] for item in data["items"]} == {"京甲", "京乙"}
    assert {item["province"] for item in data["items"]} == {"北京市"}


def test_province_shown_in_english(client, auth, make_expert, english_ui):
    _pool(make_expert)
    auth.login()
    page = client.get("/experts/").get_data(as_text=True)
    assert "<td>Beijing</td>" in page and "<td>Guangdong</td>" in page
    assert '<option value="北京市" >Beijing</option>' in page  # the filter sends the stored value
    coverage = client.get("/experts/coverage").get_data(as_text=True)
    assert "<th>Beijing</th>" in coverage and "<th>北京市</th>" not in coverage
    assert '"Beijing"' in coverage  # the heat map's axis


def test_province_shown_in_chinese(client, auth, make_expert):
    _pool(make_expert)
    auth.login()
    page = client.get("/experts/").get_data(as_text=True)
    assert "<td>北京市</td>" in page and "<td>Beijing</td>" not in page
