"""The expert pool through the test client: lists, filters, exports, file pages, workflows, API."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
from sqlalchemy import select

from expertpool.core.access import Role
from expertpool.core.idnumbers import check_digit
from expertpool.db import db
from expertpool.experts import institutions
from expertpool.experts.models import Expert, PendingChange
from tests.conftest import PASSWORD


def _pool(make_expert):
    nim = make_expert(
        name="张伟",
        institution="中国计量科学研究院",
        province="北京市",
        categories=[8],
        specialties={"technique": ["ICP-MS"]},
        title="研究员",
    )
    gd = make_expert(
        name="李娜",
        institution="广东省计量科学研究院",
        province="广东省",
        categories=[10],
        specialties={"analyte": ["三聚氰胺"]},
        title="高级工程师",
        status="suspended",
    )
    institutions.add_alias(db.session, nim.institution, "中国计量院")
    db.session.commit()
    return nim, gd


def _names(client, query):
    page = client.get(f"/experts/?{query}").get_data(as_text=True)
    return {n for n in ("张伟", "李娜") if f">{n}</a>" in page}


def test_list_filters(client, auth, make_expert):
    _pool(make_expert)
    auth.login()
    assert _names(client, "") == {"张伟", "李娜"}
    assert _names(client, "category=8") == {"张伟"}
    assert _names(client, "specialty=三聚氰胺") == {"李娜"}
    assert _names(client, "province=广东省") == {"李娜"}
    assert _names(client, "status=active") == {"张伟"}
    assert _names(client, "title=研究员") == {"张伟"}
    assert _names(client, "institution=中国计量院") == {"张伟"}  # alias finds the institution
    assert _names(client, "q=ICP") == {"张伟"}


def test_list_sorts_and_paginates(app, client, auth, make_expert):
    app.config["PER_PAGE"] = 2
    for i in range(5):
        make_expert(name=f"排序{i}")
    auth.login()
    first = client.get("/experts/?sort=name").get_data(as_text=True)
    last = client.get("/experts/?sort=name&page=3").get_data(as_text=True)
    assert ">排序0</a>" in first and ">排序4</a>" not in first
    assert ">排序4</a>" in last
    desc = client.get("/experts/?sort=name&desc=1").get_data(as_text=True)
    assert ">排序4</a>" in desc


def test_export_csv_and_xlsx_follow_filters(client, auth, make_expert):
    _pool(make_expert)
    auth.login()
    body = client.get("/experts/export.csv?category=10").get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and "李娜" in rows[1]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/experts/export.xlsx").get_data()))
    names = [row[0] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["张伟", "李娜"]


def test_personal_data_masked_for_others(app, client, make_user, make_expert):
    owner = make_user(Role.EXPERT, username="owner")
    expert = make_expert(id_number="11010519491231002X", phone="13812345678", user_id=owner.id)
    client.post("/login", data={"username": "owner", "password": PASSWORD})
    page = client.get("/me/file").get_data(as_text=True)
    assert "11010519491231002X" in page and "13812345678" in page
    with app.test_request_context():
        from flask import render_template_string

        masked = render_template_string("{{ v|masked(false) }}", v=expert.id_number)
    assert "1949" not in masked and masked.startswith("1101") and masked.endswith("2X")


def test_other_expert_cannot_edit_a_file(client, make_user, make_expert):
    make_user(Role.EXPERT, username="intruder")
    victim = make_expert(phone="13900000000")
    client.post("/login", data={"username": "intruder", "password": PASSWORD})
    assert client.get(f"/experts/{victim.id}/edit").status_code == 403
    response = client.post(f"/experts/{victim.id}/profile", data={"name": "x"})
    assert response.status_code == 403


def test_stale_form_is_refused_with_message(client, auth, make_expert):
    expert = make_expert(department="旧部门")
    auth.login()
    version = expert.version
    client.post(
        f"/experts/{expert.id}/profile",
        data={
            "name": expert.name,
            "email": expert.email,
            "department": "第一次",
            "version": version,
        },
    )
    response = client.post(
        f"/experts/{expert.id}/profile",
        data={
            "name": expert.name,
            "email": expert.email,
            "department": "第二次",
            "version": version,
        },
        follow_redirects=True,
    )
    db.session.refresh(expert)
    assert expert.department == "第一次"
    assert "reload" in response.get_data(as_text=True).lower() or "重新" in response.get_data(
        as_text=True
    )


def test_concurrent_commit_is_refused_by_the_database(app, make_expert):
    """Two sessions load the same version; the second UPDATE matches no row and fails."""
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    expert = make_expert()
    engine = db.engine
    with Session(engine) as first, Session(engine) as second:
        a = first.get(Expert, expert.id)
        b = second.get(Expert, expert.id)
        a.department, b.department = "甲", "乙"
        first.commit()
        try:
            second.commit()
            raised = False
        except StaleDataError:
            raised = True
    assert raised
    db.session.refresh(expert)
    assert expert.department == "甲"


def test_expert_self_service_workflow(client, auth, admin, make_user, make_expert):
    user = make_user(Role.EXPERT, username="self")
    expert = make_expert(user_id=user.id, categories=[8])
    client.post("/login", data={"username": "self", "password": PASSWORD})
    client.post(
        f"/experts/{expert.id}/profile",
        data={"name": expert.name, "phone": "13700000000", "version": expert.version},
    )
    db.session.refresh(expert)
    assert expert.phone == "13700000000"  # ordinary edit applies at once
    client.post(
        f"/experts/{expert.id}/review-fields",
        data={
            "categories": ["8", "9"],
            "analytes": "葡萄糖；胆固醇",
            "matrices": "人血清",
            "techniques": "",
            "version": expert.version,
        },
    )
    db.session.refresh(expert)
    assert expert.category_codes == [8]
    change = db.session.scalar(select(PendingChange))
    assert change.after["specialties"]["analyte"] == ["葡萄糖", "胆固醇"]
    client.post("/logout")
    auth.login()
    page = client.get(f"/experts/changes/{change.id}").get_data(as_text=True)
    assert "葡萄糖" in page  # before/after view
    client.post(f"/experts/changes/{change.id}", data={"decision": "approve"})
    db.session.refresh(expert)
    assert expert.category_codes == [8, 9]


def test_vetting_through_the_web(client, auth, make_expert):
    expert = make_expert(status="applicant")
    auth.login()
    assert expert.name in client.get("/experts/vetting").get_data(as_text=True)
    client.post(
        f"/experts/{expert.id}/status",
        data={"action": "approve", "term_start": "2026-01-01", "version": expert.version},
    )
    db.session.refresh(expert)
    assert expert.status == "active" and expert.term_end == dt.date(2030, 12, 31)
    client.post(
        f"/experts/{expert.id}/status",
        data={"action": "suspend", "reason": "", "version": expert.version},
    )
    db.session.refresh(expert)
    assert expert.status == "active"  # no reason: refused


def test_detail_page_shows_whole_file_and_history(client, auth, make_expert):
    expert = make_expert(summary="长期从事土壤标准物质研制")
    auth.login()
    client.post(
        f"/experts/{expert.id}/parts/publication",
        data={"title": "Certification of cadmium in rice", "year": "2023", "language": "en"},
    )
    page = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "Certification of cadmium in rice" in page and "长期从事土壤标准物质研制" in page
    assert "Publication" in page  # the change history lists the new row


def test_warnings_and_coverage(client, auth, make_expert):
    soon = dt.date.today() + dt.timedelta(days=20)
    ending = make_expert(name="将到期", term_end=soon)
    stale = make_expert(name="久未更新")
    stale.file_updated_at = dt.datetime(2020, 1, 1)
    make_expert(name="正常", term_end=dt.date.today() + dt.timedelta(days=400))
    db.session.commit()
    auth.login()
    page = client.get("/experts/warnings").get_data(as_text=True)
    assert ending.name in page and stale.name in page and "正常" not in page
    coverage = client.get("/experts/coverage").get_data(as_text=True)
    assert "coverage-data" in coverage and "echarts.min.js" in coverage


def test_json_api(client, auth, make_expert):
    nim, _ = _pool(make_expert)
    auth.login()
    data = client.get("/api/v1/experts?category=8&per_page=1").get_json()
    assert data["total"] == 1 and data["items"][0]["name"] == "张伟"
    one = client.get(f"/api/v1/experts/{nim.id}").get_json()
    assert one["institution"] == "中国计量科学研究院" and one["categories"] == [8]
    assert client.get("/api/v1/experts/9999").status_code == 404


def test_failed_request_leaves_database_unchanged(client, auth, make_expert):
    expert = make_expert()
    auth.login()
    before = db.session.scalar(select(Expert.version).where(Expert.id == expert.id))
    client.post(
        f"/experts/{expert.id}/parts/unavailable", data={"start": "2026-05-01", "end": "2026-04-01"}
    )
    db.session.expire_all()
    assert expert.unavailable_periods == []
    assert db.session.scalar(select(Expert.version).where(Expert.id == expert.id)) == before


def test_import_preview_then_commit_through_the_web(client, auth, admin):
    from io import BytesIO

    first17 = "110105197506120010"[:17]
    id_number = first17 + check_digit(first17)
    header = "姓名,身份证号,电子邮箱,工作单位,审评类别\n"
    body = f"网页导入,{id_number},web@example.cn,中国计量科学研究院,08\n"
    data = (header + body).encode("utf-8-sig")
    auth.login()
    page = client.post(
        "/experts/import",
        data={"file": (BytesIO(data), "e.csv"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    import re

    token = re.search(r"name=\"token\" type=\"hidden\" value=\"(\w+)\"", page)
    assert token, re.findall(r"(?:invalid-feedback|alert-[a-z]+)[^>]*>([^<]*)", page)
    token = token.group(1)
    assert db.session.scalar(select(Expert).where(Expert.email == "web@example.cn")) is None
    assert client.post("/experts/import/commit", data={"token": "feed" * 8}).status_code == 302
    assert db.session.scalar(select(Expert).where(Expert.email == "web@example.cn")) is None
    client.post("/experts/import/commit", data={"token": token})
    expert = db.session.scalar(select(Expert).where(Expert.email == "web@example.cn"))
    assert expert is not None and expert.category_codes == [8]
    again = client.post("/experts/import/commit", data={"token": token})  # used once only
    assert (
        again.status_code == 302
        and len(db.session.scalars(select(Expert).where(Expert.email == "web@example.cn")).all())
        == 1
    )


def test_import_refused_while_written_flashes_and_keeps_nothing(client, auth, admin, monkeypatch):
    """A row that fails only while being written: the whole file is rolled back, the page
    says why, and the staged file may be committed again once the cause is gone."""
    import re
    from io import BytesIO

    from expertpool.experts import importer

    first17 = "110105197506120028"[:17]
    id_number = first17 + check_digit(first17)
    data = (
        "姓名,身份证号,电子邮箱,工作单位,审评类别\n"
        f"拒绝导入,{id_number},refused@example.cn,中国计量科学研究院,08\n"
    ).encode("utf-8-sig")
    auth.login()
    page = client.post(
        "/experts/import",
        data={"file": (BytesIO(data), "e.csv"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    token = re.search(r"name=\"token\" type=\"hidden\" value=\"(\w+)\"", page).group(1)
    real_commit = importer.commit

    def refuse(session, actor, report):
        real_commit(session, actor, report)  # rows written, then a late failure
        raise importer.ImportRefused("Row 2: 数据库拒绝了这一行")

    monkeypatch.setattr(importer, "commit", refuse)
    response = client.post("/experts/import/commit", data={"token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/experts/import")
    assert "数据库拒绝了这一行" in client.get("/experts/import").get_data(as_text=True)
    assert db.session.scalar(select(Expert).where(Expert.email == "refused@example.cn")) is None
    monkeypatch.setattr(importer, "commit", real_commit)
    client.post("/experts/import/commit", data={"token": token})
    assert db.session.scalar(select(Expert).where(Expert.email == "refused@example.cn"))
