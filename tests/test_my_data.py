"""A person's own data (PIPL): download everything held about them, ask for corrections."""

from __future__ import annotations

import io
import json

import openpyxl
from sqlalchemy import select

from expertpool.accounts.models import CorrectionRequest, User
from expertpool.core.access import Role
from expertpool.core.audit import EXPORT_ENTITY, AuditLog
from expertpool.core.idnumbers import check_digit
from expertpool.db import db
from expertpool.experts.models import Expert, PendingChange
from expertpool.notifications.models import Notification

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
NEW_ID = "11010519750612001" + check_digit("11010519750612001")


def _exports() -> list[AuditLog]:
    db.session.expire_all()
    stmt = select(AuditLog).where(AuditLog.entity_type == EXPORT_ENTITY).order_by(AuditLog.id)
    return list(db.session.scalars(stmt))


def _expert_user(make_user, make_expert, **fields):
    user = make_user(Role.EXPERT, username="me")
    expert = make_expert(id_number=ID_NUMBER, phone=PHONE, **fields)
    expert.user_id = user.id
    db.session.commit()
    return user, expert


def test_an_expert_downloads_everything_as_json_with_their_own_numbers(
    client, auth, make_user, make_expert
):
    user, expert = _expert_user(make_user, make_expert)
    auth.login("me")
    page = client.get("/account/data")
    assert page.status_code == 200 and "技术档案" in page.get_data(as_text=True)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(response.data)
    sections = data["sections"]
    for key in ("account", "technical_file", "invitations", "reviews", "enrollments"):
        assert key in sections, key
    assert "certificates" in sections and "messages" in sections
    [file] = sections["technical_file"]["rows"]
    assert (file["id_number"], file["phone"]) == (ID_NUMBER, PHONE)  # their own, in full
    assert "id_number_hash" not in file
    [account] = sections["account"]["rows"]
    assert account["username"] == "me" and "password_hash" not in account
    [row] = _exports()
    assert (row.actor_name, row.subject_type, row.subject_id) == ("me", "user", user.id)
    assert row.changes["what"] == "accounts.my_data" and row.changes["format"] == "json"
    assert row.changes["rows"] >= 2


def test_a_trainee_downloads_xlsx_and_a_formula_stays_text(client, auth, make_user):
    make_user(Role.TRAINEE, username="t1", name='=HYPERLINK("http://evil.example/x","x")\x0b')
    auth.login("t1")
    response = client.get("/account/data.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb["account"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("name") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    assert "\x0b" not in cell.value
    assert "technical_file" not in wb.sheetnames  # no expert file, no section
    assert [r.changes["format"] for r in _exports()] == ["xlsx"]


def test_an_unknown_format_is_404(client, auth, make_user):
    make_user(Role.TRAINEE, username="t2")
    auth.login("t2")
    assert client.get("/account/data.csv").status_code == 404
    assert _exports() == []


def test_an_account_correction_is_accepted_by_an_administrator(client, auth, make_user, sysadmin):
    user = make_user(Role.TRAINEE, username="t3", name="李四")
    auth.login("t3")
    response = client.post(
        "/account/data",
        data={"field": "account.name", "value": "李思", "reason": "身份证上是“思”"},
    )
    assert response.status_code == 302
    [item] = db.session.scalars(select(CorrectionRequest)).all()
    assert (item.field, item.value, item.status) == ("name", "李思", "pending")
    raw = db.session.execute(db.text("SELECT value FROM correction_request")).scalar_one()
    assert "李思" not in raw  # the requested value is encrypted too
    auth.logout()
    auth.login("sysadmin")
    assert "李思" in client.get("/admin/corrections").get_data(as_text=True)
    response = client.post(f"/admin/corrections/{item.id}", data={"decision": "accept"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).name == "李思"
    assert db.session.get(CorrectionRequest, item.id).status == "accepted"
    logged = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "CorrectionRequest")
    ).all()
    assert [r.action for r in logged] == ["create", "update"]
    assert logged[1].actor_name == "sysadmin" and logged[1].changes["status"] == [
        "pending",
        "accepted",
    ]
    auth.logout()
    auth.login("t3")
    assert "已更正" in client.get("/account/data").get_data(as_text=True)


def test_a_refusal_needs_a_reason_and_the_person_sees_it(client, auth, make_user, sysadmin):
    user = make_user(Role.TRAINEE, username="t4", organisation="甲所")
    auth.login("t4")
    client.post(
        "/account/data", data={"field": "account.organisation", "value": "乙所", "reason": "调动"}
    )
    [item] = db.session.scalars(select(CorrectionRequest)).all()
    auth.logout()
    auth.login("sysadmin")
    client.post(f"/admin/corrections/{item.id}", data={"decision": "refuse"})
    db.session.expire_all()
    assert db.session.get(CorrectionRequest, item.id).status == "pending"  # no reason: refused
    client.post(
        f"/admin/corrections/{item.id}", data={"decision": "refuse", "reason": "请先提交调动证明"}
    )
    db.session.expire_all()
    assert db.session.get(CorrectionRequest, item.id).status == "refused"
    assert db.session.get(User, user.id).organisation == "甲所"
    auth.logout()
    auth.login("t4")
    page = client.get("/account/data").get_data(as_text=True)
    assert "请先提交调动证明" in page and "已拒绝" in page


def test_a_field_not_offered_is_refused(client, auth, make_user):
    make_user(Role.TRAINEE, username="t5")
    auth.login("t5")
    client.post(
        "/account/data", data={"field": "account.password_hash", "value": "x", "reason": "y"}
    )
    client.post("/account/data", data={"field": "expert.id_number", "value": "x", "reason": "y"})
    assert db.session.scalars(select(CorrectionRequest)).all() == []


def test_an_expert_correction_goes_through_the_change_requests(
    client, auth, make_user, make_expert, admin
):
    user, expert = _expert_user(make_user, make_expert)
    auth.login("me")
    bad = client.post(
        "/account/data",
        data={"field": "expert.id_number", "value": "110105197506120010", "reason": "错一位"},
    )
    assert bad.status_code == 200 and "校验码" in bad.get_data(as_text=True)
    assert db.session.scalars(select(PendingChange)).all() == []
    client.post(
        "/account/data",
        data={"field": "expert.id_number", "value": NEW_ID, "reason": "录入时错一位"},
    )
    [change] = db.session.scalars(select(PendingChange)).all()
    assert change.kind == "correction" and change.request_reason == "录入时错一位"
    assert change.after == {"id_number": NEW_ID[:4] + "*" * 10 + NEW_ID[-4:]}
    assert NEW_ID not in str(change.before) + str(change.after)
    raw = db.session.execute(db.text("SELECT correction_value FROM pending_change")).scalar_one()
    assert NEW_ID not in raw
    assert "等待管理员处理" in client.get("/account/data").get_data(as_text=True)
    auth.logout()
    auth.login()
    page = client.get(f"/experts/changes/{change.id}").get_data(as_text=True)
    assert "录入时错一位" in page and NEW_ID not in page
    response = client.post(f"/experts/changes/{change.id}", data={"decision": "approve"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Expert, expert.id).id_number == NEW_ID
    logged = " ".join(str(r.changes) for r in db.session.scalars(select(AuditLog)))
    assert NEW_ID not in logged and ID_NUMBER not in logged
    note = db.session.scalars(
        select(Notification).where(Notification.kind == "change_approved")
    ).one()
    assert note.user_id == user.id or note.expert_id == expert.id
