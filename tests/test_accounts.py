"""Accounts: sign-in, registration, passwords, roles, CSRF, rate limit, secret key, languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from expertpool import create_app
from expertpool.accounts.models import User
from expertpool.config import instance_secret_key
from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts.models import Expert
from tests.conftest import PASSWORD


def test_login_logout(client, admin, auth):
    assert auth.login().headers["Location"] == "/"
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused(client, admin, auth):
    response = auth.login(password="wrong-password")
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_login_by_email_and_safe_next(client, admin):
    response = client.post(
        "/login?next=//evil.example/x", data={"username": "admin@example.cn", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_passwords_are_hashed(app, admin):
    assert PASSWORD not in admin.password_hash and admin.check_password(PASSWORD)


def test_register_trainee(client):
    response = client.post(
        "/register",
        data={
            "kind": "trainee",
            "username": "li.na",
            "name": "李娜",
            "email": "lina@example.cn",
            "audience": "technician",
            "organisation": "某检测公司",
            "password": "A-long-passphrase-7",
            "confirm": "A-long-passphrase-7",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "li.na"))
    assert user.roles == {"trainee"} and user.audience == "technician"


def test_register_expert_applicant_creates_file(client):
    client.post(
        "/register",
        data={
            "kind": "expert",
            "username": "wang.qiang",
            "name": "王强",
            "email": "wq@example.cn",
            "organisation": "中国计量院",
            "audience": "reviewer",
            "password": "A-long-passphrase-7",
            "confirm": "A-long-passphrase-7",
        },
    )
    user = db.session.scalar(select(User).where(User.username == "wang.qiang"))
    expert = db.session.scalar(select(Expert).where(Expert.user_id == user.id))
    assert user.roles == {"expert"} and expert.status == "applicant"
    assert client.get("/me/file").status_code == 200


def test_register_refuses_taken_username(client, make_user):
    make_user(Role.TRAINEE, username="taken")
    response = client.post(
        "/register",
        data={
            "kind": "trainee",
            "username": "taken",
            "name": "x",
            "email": "other@example.cn",
            "audience": "technician",
            "password": "A-long-passphrase-7",
            "confirm": "A-long-passphrase-7",
        },
    )
    assert response.status_code == 200
    assert len(db.session.scalars(select(User).where(User.username == "taken")).all()) == 1


def test_change_password(client, admin, auth):
    auth.login()
    client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "Fresh-passphrase-8",
            "confirm": "Fresh-passphrase-8",
        },
    )
    auth.logout()
    assert auth.login(password="Fresh-passphrase-8").headers["Location"] == "/"


def test_the_security_administrator_manages_roles(client, secadmin, auth, make_user):
    user = make_user(Role.TRAINEE, username="trainee1")
    auth.login("secadmin")
    client.post(f"/security/users/{user.id}/roles", data={"roles": ["trainee", "expert"]})
    db.session.refresh(user)
    assert user.roles == {"trainee", "expert"}


def test_the_security_administrator_cannot_change_own_roles(client, secadmin, auth):
    auth.login("secadmin")
    page = client.post(f"/security/users/{secadmin.id}/roles", data={"roles": ["admin"]})
    db.session.refresh(secadmin)
    assert secadmin.roles == {"secadmin"}
    assert "不能更改自己的角色" in page.get_data(as_text=True)


def test_the_system_administrator_edits_accounts_but_not_roles(client, sysadmin, auth, make_user):
    user = make_user(Role.TRAINEE, username="trainee1")
    auth.login("sysadmin")
    client.post(
        f"/admin/users/{user.id}",
        data={
            "username": "trainee1",
            "name": "t1",
            "email": "t1@example.cn",
            "roles": ["trainee", "admin"],  # not a field of this form: ignored
            "password": "reset-password-1",
        },
    )
    db.session.refresh(user)
    assert (user.name, user.active, user.roles) == ("t1", False, {"trainee"})
    assert user.check_password("reset-password-1")


def test_a_refused_account_edit_saves_nothing(client, sysadmin, auth):
    auth.login("sysadmin")
    page = client.post(
        f"/admin/users/{sysadmin.id}",
        data={
            "username": "renamed",
            "name": "x",
            "email": "x@example.cn",
            "password": "Another-passphrase-7",
        },
    )  # "active" unticked: disabling oneself is refused
    assert "不能停用自己的账号" in page.get_data(as_text=True)
    db.session.expire_all()
    me = db.session.get(User, sysadmin.id)
    assert (me.username, me.active) == ("sysadmin", True) and me.check_password(PASSWORD)


@pytest.mark.parametrize("role", ["admin", "sysadmin", "secadmin", "auditor"])
def test_create_admin_cli(runner, role):
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "boss",
            "--email",
            "boss@example.cn",
            "--password",
            "Secret-passphrase-1",
            "--role",
            role,
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "boss"))
    assert user.roles == {role} and user.check_password("Secret-passphrase-1")


def test_csrf_is_enforced_when_on(tmp_path, make_user):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "SECRET_KEY": "k",
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": "localhost",
        },
        instance_path=str(tmp_path / "inst"),
    )
    with app.app_context():
        db.create_all()
        from expertpool.accounts import operations as ops

        ops.create_user(
            db.session,
            username="u",
            name="u",
            email="u@example.cn",
            password=PASSWORD,
            roles=[Role.ADMIN],
        )
        db.session.commit()
        client = app.test_client()
        response = client.post("/login", data={"username": "u", "password": PASSWORD})
        assert response.status_code == 400  # no token: refused
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"username": "u", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302


def test_login_is_rate_limited(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "SECRET_KEY": "k",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "LOGIN_RATE_LIMIT": "3 per minute",
        },
        instance_path=str(tmp_path / "inst"),
    )
    with app.app_context():
        db.create_all()
        client = app.test_client()
        codes = [
            client.post("/login", data={"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
    assert codes == [200, 200, 200, 429]


def test_secret_key_generated_once_and_kept(tmp_path: Path):
    key = instance_secret_key(tmp_path)
    assert len(key) == 64 and instance_secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert instance_secret_key(tmp_path / "other") != key


def test_session_cookie_is_protected(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"]


def test_language_defaults_to_chinese_and_switches(client, admin, auth):
    auth.login()
    assert "专家" in client.get("/").get_data(as_text=True)
    client.post("/language", data={"locale": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Sign out" in page and "退出" not in page
    db.session.refresh(admin)
    assert admin.locale == "en"  # remembered for the user


def test_a_refused_admin_edit_saves_nothing(client, sysadmin, auth):
    """Issue 12, item 9: the refusal was shown, but the name, e-mail and password had changed."""
    auth.login("sysadmin")
    before = (sysadmin.name, sysadmin.email, sysadmin.password_hash, True)
    response = client.post(
        f"/admin/users/{sysadmin.id}",
        data={
            "username": "sysadmin",
            "name": "改过的名字",
            "email": "changed@example.cn",
            "password": "Another-passphrase-7",
        },  # "active" unticked: disabling one's own account is refused
    )
    assert response.status_code == 200
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(User, sysadmin.id)
    assert (stored.name, stored.email, stored.password_hash, stored.active) == before


def test_an_admin_edit_to_a_taken_username_is_a_form_error(client, sysadmin, auth, make_user):
    make_user(Role.TRAINEE, username="taken")
    other = make_user(Role.TRAINEE, username="other")
    auth.login("sysadmin")
    response = client.post(
        f"/admin/users/{other.id}",
        data={
            "username": "taken",
            "name": "新名字",
            "email": "other@example.cn",
            "active": "y",
        },
    )
    assert response.status_code == 200
    assert "用户名 taken 已被占用。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, other.id).name == "other"


def test_the_language_chosen_before_signing_in_is_kept(client, admin, auth):
    """Signing in starts a fresh session (no fixation) but keeps the visitor's language."""
    client.post("/language", data={"locale": "en", "next": "/login"})
    auth.login()
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)
