"""Every export of personal data writes an audit row; ID numbers and phones leave masked."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from expertpool.core.access import Role
from expertpool.core.audit import EXPORT_ENTITY, AuditLog
from expertpool.db import db

ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"


def _exports() -> list[AuditLog]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.entity_type == EXPORT_ENTITY).order_by(AuditLog.id)
        )
    )


@pytest.fixture
def pool(make_expert):
    return [make_expert(id_number=ID_NUMBER, phone=PHONE), make_expert(phone="13900001111")]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_expert_list_export_is_audited_and_masked(client, auth, pool, fmt):
    auth.login()
    response = client.get(f"/experts/export.{fmt}")
    assert response.status_code == 200
    body = _text(response.data, fmt)
    assert ID_NUMBER not in body and PHONE not in body
    assert "1101**********002X" in body and "138****5678" in body
    [row] = _exports()
    assert row.actor_name == "admin"
    assert row.changes == {"what": "experts.export", "rows": 2, "format": fmt}


def test_the_expert_list_in_full_says_so_in_the_audit_log(client, auth, pool):
    auth.login()
    body = _text(client.get("/experts/export.csv?personal=full").data, "csv")
    assert ID_NUMBER in body and PHONE in body
    [row] = _exports()
    assert row.changes["full_personal"] is True and row.changes["rows"] == 2


def test_a_large_export_is_audited_when_its_file_is_downloaded(app, client, auth, pool):
    app.config["EXPORT_JOB_THRESHOLD"] = 1
    auth.login()
    response = client.post("/experts/export.xlsx")
    assert response.status_code == 302
    assert _exports() == []  # writing the file hands nothing out yet
    job_url = response.headers["Location"]
    download = client.get(job_url + "/download")
    assert download.status_code == 200
    download.close()
    [row] = _exports()
    assert row.changes == {"what": "experts.export", "rows": 2, "format": "xlsx"}


def test_the_export_command_is_audited(app, runner, pool, tmp_path, admin):
    out = tmp_path / "experts.csv"
    result = runner.invoke(args=["experts", "export", str(out), "--as-user", "admin"])
    assert result.exit_code == 0, result.output
    assert PHONE not in out.read_text("utf-8-sig")
    [row] = _exports()
    assert row.actor_name == "admin" and row.changes["rows"] == 2


def test_the_assignments_csv_is_audited(client, auth, admin, runner, tmp_path):
    auth.login()
    assert client.get("/assignments.csv").status_code == 200
    assert (
        runner.invoke(args=["match", "export-assignments", str(tmp_path / "a.csv")]).exit_code == 0
    )
    rows = _exports()
    assert [r.changes["what"] for r in rows] == ["matching.assignments_csv"] * 2
    assert rows[0].actor_name == "admin"


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_transcripts_are_audited_own_and_by_an_administrator(client, auth, make_user, admin, fmt):
    learner = make_user(Role.TRAINEE, username="learner")
    auth.login("learner")
    assert client.get(f"/me/transcript.{fmt}").status_code == 200
    auth.logout()
    auth.login()
    assert client.get(f"/admin/training/learners/{learner.id}/transcript.{fmt}").status_code == 200
    rows = _exports()
    assert [(r.actor_name, r.subject_type, r.subject_id) for r in rows] == [
        ("learner", "user", learner.id),
        ("admin", "user", learner.id),
    ]
    assert all(r.changes["what"] == "courses.transcript_export" for r in rows)


def test_the_api_list_and_detail_are_audited_and_the_detail_masked(client, auth, pool):
    auth.login()
    listing = client.get("/api/v1/experts")
    assert listing.status_code == 200
    detail = client.get(f"/api/v1/experts/{pool[0].id}").get_json()
    assert detail["id_number"] == "1101**********002X" and detail["phone"] == "138****5678"
    full = client.get(f"/api/v1/experts/{pool[0].id}?personal=full").get_json()
    assert full["id_number"] == ID_NUMBER
    rows = _exports()
    assert [(r.changes["what"], r.changes["rows"]) for r in rows] == [
        ("api.experts", 2),
        ("api.expert", 1),
        ("api.expert", 1),
    ]
    assert rows[2].changes.get("full_personal") is True and rows[2].subject_id == pool[0].id


def test_an_administrator_sees_a_file_masked_until_asking_and_the_look_is_logged(
    client, auth, pool
):
    auth.login()
    page = client.get(f"/experts/{pool[0].id}").get_data(as_text=True)
    assert ID_NUMBER not in page and PHONE not in page and "1101**********002X" in page
    assert _exports() == []
    page = client.get(f"/experts/{pool[0].id}?personal=full").get_data(as_text=True)
    assert ID_NUMBER in page and PHONE in page
    [row] = _exports()
    assert (row.subject_type, row.subject_id, row.changes["what"]) == (
        "expert",
        pool[0].id,
        "experts.reveal",
    )
    # The look shows in the file's history and the audit log, without the values.
    page = client.get(f"/experts/{pool[0].id}").get_data(as_text=True)
    assert ID_NUMBER not in page and "查看了完整的身份证号和手机号" in page
    client.get("/experts/export.csv")
    page = client.get("/experts/audit").get_data(as_text=True)
    assert "导出了个人信息（experts.export，2 行）" in page and ID_NUMBER not in page


def test_another_person_never_sees_them(client, auth, make_user, pool):
    make_user(Role.EXPERT, username="other")
    auth.login("other")
    assert client.get(f"/experts/{pool[0].id}").status_code in (403, 404)
    assert client.get(f"/api/v1/experts/{pool[0].id}").status_code in (403, 404)
    make_user(Role.TRAINEE, username="trainee")
    auth.logout()
    auth.login("trainee")
    assert client.get(f"/experts/{pool[0].id}?personal=full").status_code in (403, 404)
    assert _exports() == []


def _text(data: bytes, fmt: str) -> str:
    if fmt == "csv":
        return data.decode("utf-8-sig")
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(
        str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
    )
