"""Issue 12, item 10 and MLPS 2.0 level 3: account and role changes are audited; separation of
duties (三员分立) between the system administrator, the security administrator and the
security auditor; the auditor's pages; audit retention."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from expertpool.accounts import operations as ops
from expertpool.accounts.models import User
from expertpool.config import production_problems
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.db import db
from tests.conftest import PASSWORD, SAFE_PRODUCTION

REGISTRATIONS = 12


def _register(client, n: int, kind: str = "trainee") -> None:
    response = client.post(
        "/register",
        data={
            "kind": kind,
            "username": f"reg{n}",
            "name": f"注册{n}",
            "email": f"reg{n}@example.cn",
            "audience": "technician",
            "password": "Long-passphrase-41",
            "confirm": "Long-passphrase-41",
        },
    )
    assert response.status_code == 302
    client.post("/logout")


def _rows(**where: object) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditLog, key) == value)
    return list(db.session.scalars(stmt))


def test_account_and_role_changes_are_audited(client, auth, sysadmin, secadmin):
    """Before: 0 audit rows after registrations and role/password/deactivation edits."""
    for n in range(REGISTRATIONS):
        _register(client, n, "expert" if n % 3 == 0 else "trainee")
    auth.login("reg1", "Long-passphrase-41")
    client.post(
        "/account/password",
        data={
            "current": "Long-passphrase-41",
            "password": "Changed-passphrase-2",
            "confirm": "Changed-passphrase-2",
        },
    )
    auth.logout()
    target = db.session.scalar(select(User).where(User.username == "reg2"))
    auth.login("sysadmin")
    client.post(
        f"/admin/users/{target.id}",
        data={
            "username": "reg2",
            "name": "改名",
            "email": "reg2@example.cn",
            "password": "Reset-passphrase-13",
        },
    )  # renamed, disabled ("active" unticked) and its password reset
    auth.logout()
    auth.login("secadmin")
    client.post(f"/security/users/{target.id}/roles", data={"roles": ["expert"]})
    auth.logout()

    created = _rows(entity_type="User", action="create")
    assert len(created) == REGISTRATIONS + 2  # + the two duty accounts of the fixtures
    assert all(r.subject_type == "user" and r.subject_id == r.entity_id for r in created)
    grants = _rows(entity_type="UserRole", action="create")
    assert {(r.subject_id, r.changes["role"][1]) for r in grants} >= {(target.id, "expert")}
    revoked = _rows(entity_type="UserRole", action="delete", subject_id=target.id)
    assert [r.changes["role"][0] for r in revoked] == ["trainee"]
    assert revoked[0].actor_name == "secadmin"
    edits = _rows(entity_type="User", action="update", entity_id=target.id)
    assert len(edits) == 1 and edits[0].actor_name == "sysadmin"
    assert edits[0].changes["active"] == [True, False]
    assert edits[0].changes["name"] == ["注册2", "改名"]
    assert edits[0].changes["password"] == [None, "changed"]
    own = _rows(entity_type="User", action="update", actor_name="reg1")
    assert [r.changes for r in own] == [{"password": [None, "changed"]}]
    everything = json.dumps([r.changes for r in _rows()], ensure_ascii=False)
    assert (
        "pbkdf2" not in everything
        and "scrypt" not in everything
        and "password_hash" not in everything
    )
    assert "last_login_at" not in everything  # signing in is not a change of the account


# -- separation of duties ------------------------------------------------------------------------

DUTY = [Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR]


@pytest.mark.parametrize(
    "roles",
    [
        [Role.SYSADMIN, Role.SECADMIN],
        [Role.SECADMIN, Role.AUDITOR],
        [Role.SYSADMIN, Role.AUDITOR],
        [Role.AUDITOR, Role.ADMIN],
        [Role.SYSADMIN, Role.EXPERT],
    ],
)
def test_an_account_holds_a_duty_role_alone(app, roles):
    with pytest.raises(ops.AccountError, match="须由不同账号|separate account"):
        ops.create_user(
            db.session, username="x", name="x", email="x@example.cn", password=PASSWORD, roles=roles
        )
    user = ops.create_user(
        db.session, username="y", name="y", email="y@example.cn", password=PASSWORD, roles=roles[:1]
    )
    with pytest.raises(ops.AccountError):
        ops.set_roles(user, [str(r) for r in roles])
    with pytest.raises(ValueError):
        user.grant(roles[1])  # the model refuses too
    assert user.roles == {str(roles[0])}


def test_the_roles_form_refuses_a_second_duty_with_a_clear_message(
    client, auth, secadmin, sysadmin
):
    auth.login("secadmin")
    page = client.post(
        f"/security/users/{sysadmin.id}/roles", data={"roles": ["sysadmin", "auditor"]}
    ).get_data(as_text=True)
    assert "须由不同账号分别担任" in page
    db.session.expire_all()
    assert db.session.get(User, sysadmin.id).roles == {"sysadmin"}
    assert not _rows(entity_type="UserRole", action="create", subject_id=sysadmin.id)[1:]


HOMES = {
    "sysadmin": ["/admin/users", "/admin/jobs", "/admin/backups"],
    "secadmin": ["/security/roles", "/security/policy"],
    "auditor": ["/audit", "/audit/verify"],
}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_duty_home_shows_its_work_and_every_link_opens(client, auth, make_user, role):
    make_user(Role(role), username=role)
    auth.login(role)
    home = client.get("/").get_data(as_text=True)
    assert f'id="duty-{role}"' in home
    for url in HOMES[role]:
        assert f'href="{url}' in home, url
        assert client.get(url).status_code == 200, url
    assert "/experts/" not in home and "/admin/users" not in home or role == "sysadmin"


def test_the_business_administrator_keeps_business_pages_only(client, auth, admin):
    auth.login()
    home = client.get("/").get_data(as_text=True)
    assert "/admin/users" not in home and 'href="/audit' not in home
    for url in ("/admin/users", "/admin/jobs", "/security/roles", "/audit"):
        assert client.get(url).status_code == 403, url


def test_the_change_history_of_the_business_leaves_out_accounts(client, auth, admin, make_user):
    make_user(Role.TRAINEE, username="someone")
    auth.login()
    page = client.get("/experts/audit?entity_type=User").get_data(as_text=True)
    assert "someone" not in page


# -- the auditor's pages ---------------------------------------------------------------------------


def test_the_auditor_filters_and_exports_the_log_and_the_export_is_audited(
    client, auth, auditor, make_user
):
    make_user(Role.TRAINEE, username="t1", name='=HYPERLINK("http://evil.example","x")')
    auth.login("auditor")
    page = client.get("/audit?entity_type=User&subject_type=user").get_data(as_text=True)
    assert "t1" in page and "HYPERLINK" in page
    response = client.get("/audit/export.csv?entity_type=User")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["id", "at"] and "row_hash" in rows[0]
    assert len(rows) == 3  # header, auditor, t1
    assert all(not cell.startswith("=") for row in rows for cell in row)
    exported = _rows(entity_type="AuditLog", action="export")
    assert len(exported) == 1 and exported[0].actor_name == "auditor"
    assert exported[0].changes["rows"] == [None, 2]


def test_the_auditor_verifies_the_chain_and_sees_the_result(client, auth, auditor, runner):
    auth.login("auditor")
    assert "尚未校验" in client.get("/audit/verify").get_data(as_text=True)
    client.post("/audit/verify")  # a job (run at once in the tests)
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "data-ok" in page
    home = client.get("/").get_data(as_text=True)
    assert "完好" in home


def test_the_auditor_cannot_change_anything_else(client, auth, auditor, make_user):
    user = make_user(Role.TRAINEE, username="t1")
    auth.login("auditor")
    assert client.post(f"/security/users/{user.id}/roles", data={"roles": []}).status_code == 403
    assert client.post(f"/admin/users/{user.id}", data={}).status_code == 403
    assert client.post("/admin/jobs/start/search.reindex").status_code == 403


# -- retention ---------------------------------------------------------------------------------------


def test_production_refuses_audit_retention_under_six_months():
    assert not any(
        "AUDIT_RETENTION" in p
        for p in production_problems({**SAFE_PRODUCTION, "AUDIT_RETENTION_DAYS": 180})
    )
    problems = production_problems({**SAFE_PRODUCTION, "AUDIT_RETENTION_DAYS": 30})
    assert any("AUDIT_RETENTION_DAYS must be at least 180" in p for p in problems)


def test_pruning_old_jobs_leaves_old_audit_rows(app):
    import datetime as dt

    from expertpool.core import audit
    from expertpool.core.jobs import queue

    row = audit.record(db.session, "Thing", "update", {})
    row.at = dt.datetime(2020, 1, 1)
    db.session.commit()
    queue.enqueue(db.session, "jobs.prune", {})
    db.session.commit()
    assert db.session.get(AuditLog, row.id) is not None


def test_demo_data_has_one_account_per_duty_role():
    from expertpool.demo.data import generate_accounts

    duties = generate_accounts()["duties"]
    assert sorted(d["role"] for d in duties) == sorted(str(r) for r in DUTY)
