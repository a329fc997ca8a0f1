"""Issue 12, items 6, 7, 11 and 14: sessions, lockout, enumeration, passwords, shared limits.

Each test reproduces an attack of the probe: a copied cookie used after sign-out, a password or
role change; repeated guesses at one account from several workers; telling existing accounts
from unknown ones by the answer or the time taken; weak passwords; a per-worker rate limit.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from expertpool import create_app
from expertpool.accounts import lockout, passwords
from expertpool.accounts import models as account_models
from expertpool.accounts import operations as ops
from expertpool.accounts.models import LoginEvent, LoginThrottle, User, UserSession
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.db import db, utcnow
from tests.conftest import PASSWORD, FreshRequestClient

NEW_PASSWORD = "Second-passphrase-42"
WRONG = "Not-the-password-1"


def _browser(app: Flask) -> FlaskClient:
    """Another browser; its requests start with an empty `g`, as real requests do."""
    app.test_client_class = FreshRequestClient
    return app.test_client()


def _copy_cookie(app: Flask, source: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `source`'s session cookie (the stolen-cookie attack)."""
    thief = _browser(app)
    cookie = source.get_cookie("session", domain="localhost")
    assert cookie is not None
    thief.set_cookie("session", cookie.value, domain="localhost")
    return thief


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account/password").status_code == 200


# -- item 6: sessions end on the server ------------------------------------------------------------


def test_a_copied_cookie_stops_working_after_sign_out(app, client, admin, auth):
    auth.login()
    thief = _copy_cookie(app, client)
    assert _signed_in(thief)  # a copy works while the session lives: it is the same session
    auth.logout()
    assert not _signed_in(thief)
    assert not _signed_in(client)
    row = db.session.scalar(select(UserSession))
    assert row.end_reason == "logout" and row.ended_at is not None


def test_a_password_change_ends_every_other_session(app, client, admin, auth):
    auth.login()
    thief = _copy_cookie(app, client)
    other = _browser(app)
    other.post("/login", data={"username": "admin", "password": PASSWORD})
    assert _signed_in(thief) and _signed_in(other)
    response = other.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _signed_in(other)  # the session that changed it goes on
    assert not _signed_in(client) and not _signed_in(thief)
    reasons = db.session.scalars(select(UserSession.end_reason).order_by(UserSession.id)).all()
    assert reasons == ["password", None]


ACCOUNT = {"username": "trainee1", "name": "t1", "email": "t1@example.cn"}


@pytest.mark.parametrize(
    ("who", "path", "change", "reason"),
    [  # roles are the security administrator's, the account itself the system administrator's
        ("secadmin", "/security/users/{id}/roles", {"roles": ["trainee", "expert"]}, "roles"),
        ("sysadmin", "/admin/users/{id}", ACCOUNT, "deactivated"),
        (
            "sysadmin",
            "/admin/users/{id}",
            {**ACCOUNT, "active": "y", "password": NEW_PASSWORD},
            "password",
        ),
    ],
)
def test_role_change_deactivation_or_reset_by_an_administrator_ends_the_sessions(
    app, client, make_user, auth, who, path, change, reason
):
    make_user(Role(who), username=who)
    user = make_user(Role.TRAINEE, username="trainee1")
    victim = _browser(app)
    victim.post("/login", data={"username": "trainee1", "password": PASSWORD})
    thief = _copy_cookie(app, victim)
    assert _signed_in(victim) and _signed_in(thief)
    auth.login(who)
    response = client.post(path.format(id=user.id), data=change)
    assert response.status_code == 302
    assert not _signed_in(victim) and not _signed_in(thief)
    ended = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    assert ended.end_reason == reason
    assert _signed_in(client)  # the administrator's own session is untouched


def test_a_role_granted_outside_the_pages_ends_the_sessions_too(app, make_user):
    """The revocation is a flush listener: a CLI or another feature changing roles is covered."""
    user = make_user(Role.TRAINEE, username="cli-user")
    victim = _browser(app)
    victim.post("/login", data={"username": "cli-user", "password": PASSWORD})
    assert _signed_in(victim)
    user.grant(Role.EXPERT)
    db.session.commit()
    assert not _signed_in(victim)


def test_idle_and_absolute_limits(app, client, admin, auth):
    auth.login()
    row = db.session.scalar(select(UserSession))
    now = utcnow()
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"], seconds=5)
    db.session.execute(update(UserSession).values(last_seen_at=now - idle))
    db.session.commit()
    assert not _signed_in(client)

    auth.login()
    lifetime = dt.timedelta(hours=app.config["SESSION_MAX_HOURS"], seconds=5)
    db.session.execute(
        update(UserSession).where(UserSession.id != row.id).values(created_at=now - lifetime)
    )
    db.session.commit()
    assert not _signed_in(client)  # used a moment ago, but signed in too long ago


def test_last_seen_is_written_at_most_once_a_minute(app, client, admin, auth):
    auth.login()
    db.session.execute(
        update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(seconds=120))
    )
    db.session.commit()
    assert _signed_in(client)
    db.session.expire_all()
    first = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - first < dt.timedelta(seconds=30)  # touched: older than a minute
    assert _signed_in(client)
    db.session.expire_all()
    assert db.session.scalar(select(UserSession.last_seen_at)) == first  # not touched again


def test_remember_me_is_gone(client, admin):
    response = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    assert client.get_cookie("remember_token", domain="localhost") is None
    assert 'name="remember"' not in client.get("/login").get_data(as_text=True)


def test_a_user_id_in_the_cookie_without_a_session_is_refused(app, client, admin):
    """The cookie of the old scheme (flask-login's `_user_id` only) no longer signs anyone in."""
    with client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = str(admin.id)
        cookie_session["_fresh"] = True
    assert not _signed_in(client)


def test_sessions_page_signs_out_one_or_all_other_sessions(app, client, admin, auth):
    auth.login()
    phone, tablet = _browser(app), _browser(app)
    for other in (phone, tablet):
        other.post("/login", data={"username": "admin", "password": PASSWORD})
    page = client.get("/account/sessions").get_data(as_text=True)
    assert page.count("/end") >= 2  # a button per other session
    phone_row = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()[1]
    assert client.post(f"/account/sessions/{phone_row.id}/end").status_code == 302
    assert not _signed_in(phone) and _signed_in(tablet) and _signed_in(client)
    client.post("/account/sessions/end-others")
    assert not _signed_in(tablet) and _signed_in(client)


def test_nobody_ends_another_persons_session(app, client, admin, make_user):
    make_user(Role.TRAINEE, username="t2")
    client.post("/login", data={"username": "t2", "password": PASSWORD})
    admins = _browser(app)
    admins.post("/login", data={"username": "admin", "password": PASSWORD})
    admin_row = db.session.scalar(select(UserSession).where(UserSession.user_id == admin.id))
    assert client.post(f"/account/sessions/{admin_row.id}/end").status_code == 404
    assert _signed_in(admins)


def test_administrator_signs_a_user_out(app, client, sysadmin, auth, make_user):
    user = make_user(Role.TRAINEE, username="t3")
    victim = _browser(app)
    victim.post("/login", data={"username": "t3", "password": PASSWORD})
    auth.login("sysadmin")
    assert client.post(f"/admin/users/{user.id}/sessions/end").status_code == 302
    assert not _signed_in(victim)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "127.0.0.1" in page  # the user's sign-in history is on the user page


# -- lockout per account, shared by every worker ---------------------------------------------------


def _attempt(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    response = client.post("/login", data={"username": username, "password": password})
    return response.status_code, response.get_data(as_text=True)


def _alert(page: str) -> str:
    """The flashed message of a page."""
    return page.split('role="alert"', 1)[1].split("</div>", 1)[0] if 'role="alert"' in page else ""


def test_the_account_locks_after_five_failures_even_with_the_right_password(client, admin):
    for _ in range(5):
        assert _attempt(client, "admin", WRONG)[0] == 200
    status, page = _attempt(client, "admin", PASSWORD)
    assert status == 200 and "锁定" in _alert(page)
    assert not _signed_in(client)
    outcomes = db.session.scalars(select(LoginEvent.outcome).order_by(LoginEvent.id)).all()
    assert outcomes == ["failure"] * 4 + ["locked", "locked"]


def test_an_unknown_name_is_locked_the_same_way(client, admin):
    answers = {}
    for name in ("admin", "nobody-here"):
        first = _alert(_attempt(client, name, WRONG)[1])
        for _ in range(4):
            _attempt(client, name, WRONG)
        answers[name] = (first, _alert(_attempt(client, name, WRONG)[1]))
    assert answers["admin"] == answers["nobody-here"]  # nothing tells them apart
    assert "锁定" in answers["admin"][1] and "锁定" not in answers["admin"][0]


def test_the_lock_is_shared_by_workers_on_one_database(app, admin, tmp_path):
    """Three app instances (three workers or hosts) on one database file count together."""
    workers = [app] + [_sibling(app, tmp_path / f"worker{n}") for n in (2, 3)]
    clients = [w.test_client() for w in workers]
    for n in range(5):
        with workers[n % 3].app_context():
            _attempt(clients[n % 3], "admin", WRONG)
    with workers[2].app_context():
        status, page = _attempt(clients[2], "admin", PASSWORD)
        assert not _signed_in(clients[2])
    assert db.session.scalar(select(LoginThrottle.locks)) == 1


def _sibling(app: Flask, instance: Path) -> Flask:
    config = {
        k: app.config[k]
        for k in (
            "TESTING",
            "DATABASE_URL",
            "SECRET_KEY",
            "WTF_CSRF_ENABLED",
            "RATELIMIT_ENABLED",
            "EMBEDDING_MODEL",
            "SERVER_NAME",
        )
    }
    return create_app(config, instance_path=str(instance))


def test_back_off_doubles_the_lock_and_success_resets_it(app, admin):
    config = app.config
    key = lockout.key_for(admin, "")
    now = utcnow()
    for _ in range(5):
        until = lockout.fail(db.session, key, config, now)
    assert until == now + dt.timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    later = until + dt.timedelta(seconds=1)
    assert lockout.locked_until(db.session, key, later) is None
    for _ in range(5):
        second = lockout.fail(db.session, key, config, later)
    assert second == later + dt.timedelta(minutes=2 * config["LOGIN_LOCK_MINUTES"])
    lockout.succeed(db.session, key)
    for _ in range(5):
        third = lockout.fail(db.session, key, config, later)
    assert third == later + dt.timedelta(minutes=config["LOGIN_LOCK_MINUTES"])


def test_failures_outside_the_window_do_not_add_up(app, admin):
    key, config = lockout.key_for(admin, ""), app.config
    start = utcnow()
    for _ in range(4):
        assert lockout.fail(db.session, key, config, start) is None
    later = start + dt.timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"] + 1)
    assert lockout.fail(db.session, key, config, later) is None
    assert db.session.scalar(select(LoginThrottle.failures)) == 1


def test_an_administrator_unlocks(client, sysadmin, make_user, app):
    make_user(Role.TRAINEE, username="locked-out")
    other = _browser(app)
    for _ in range(5):
        _attempt(other, "locked-out", WRONG)
    user = db.session.scalar(select(User).where(User.username == "locked-out"))
    client.post("/login", data={"username": "sysadmin", "password": PASSWORD})
    assert "/unlock" in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert client.post(f"/admin/users/{user.id}/unlock").status_code == 302
    assert _attempt(other, "locked-out", PASSWORD)[0] == 302


# -- item 7: no enumeration ------------------------------------------------------------------------


def test_sign_in_checks_one_hash_whether_or_not_the_account_exists(client, admin, monkeypatch):
    checks: list[str] = []
    real = account_models.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checks.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(account_models, "check_password_hash", counting)
    _attempt(client, "admin", WRONG)
    _attempt(client, "nobody-at-all", WRONG)
    _attempt(client, "admin@example.cn", WRONG)
    assert len(checks) == 3  # one each, the unknown name against a dummy hash
    assert checks[1] != admin.password_hash and checks[1].split("$")[0] == checks[0].split("$")[0]


def test_registration_does_not_say_whether_the_name_or_the_email_is_taken(client, make_user):
    make_user(Role.TRAINEE, username="taken", email="taken@example.cn")
    form = {
        "kind": "trainee",
        "name": "x",
        "audience": "technician",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    pages = [
        client.post("/register", data={**form, "username": u, "email": e}).get_data(as_text=True)
        for u, e in (("taken", "fresh@example.cn"), ("fresh", "taken@example.cn"))
    ]
    assert pages[0] == pages[1].replace("fresh", "taken").replace(
        "taken@example.cn", "fresh@example.cn"
    )
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_registration_with_a_weak_password_does_not_reach_the_taken_check(client, make_user):
    make_user(Role.TRAINEE, username="taken")
    page = client.post(
        "/register",
        data={
            "kind": "trainee",
            "username": "taken",
            "name": "x",
            "email": "taken2@example.cn",
            "audience": "technician",
            "password": "password12",
            "confirm": "password12",
        },
    ).get_data(as_text=True)
    assert str(ops.TAKEN)[:20] not in page


def test_registration_is_rate_limited_per_address(tmp_path):
    app = _limited_app(tmp_path, REGISTER_RATE_LIMIT="2 per minute")
    with app.app_context():
        client = _browser(app)
        codes = [client.post("/register", data={}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# -- item 11: passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weak", ["aaaaaaaaaa", "1234567890", "password12", "Password12", "P@ssw0rd2024", "Qwerty1234!"]
)
def test_weak_passwords_are_refused_everywhere(app, client, admin, auth, runner, weak):
    assert passwords.problems(weak)
    form = {"kind": "trainee", "username": "newbie", "name": "N", "audience": "technician"}
    client.post(
        "/register", data={**form, "email": "n@example.cn", "password": weak, "confirm": weak}
    )
    assert db.session.scalar(select(User).where(User.username == "newbie")) is None
    auth.login()
    client.post("/account/password", data={"current": PASSWORD, "password": weak, "confirm": weak})
    client.post(
        f"/admin/users/{admin.id}",
        data={
            "username": "admin",
            "name": "admin",
            "email": "admin@example.cn",
            "roles": ["admin"],
            "active": "y",
            "password": weak,
        },
    )
    db.session.refresh(admin)
    assert not admin.check_password(weak)
    result = runner.invoke(
        args=["users", "create-admin", "boss", "--email", "b@example.cn", "--password", weak]
    )
    assert result.exit_code != 0
    with pytest.raises(ops.AccountError):
        ops.create_user(db.session, username="x1", name="x", email="x@example.cn", password=weak)


def test_password_rules(app):
    assert passwords.problems("Tr4ining-Platform-Key") == []
    assert passwords.problems("Short1!") and passwords.problems("all-lower-case-words")
    assert passwords.problems("Zhang.Wei-2026-key", ["zhang.wei"])  # contains the user name
    lenient = passwords.Policy(min_length=8, min_classes=1, min_score=0)
    assert passwords.problems("aaaaaaaa", policy=lenient) == []


def test_demo_passwords_meet_the_policy(app):
    from expertpool.demo import data, loader

    accounts = data.generate_accounts()
    people = [*accounts["admins"], *accounts["trainees"]]
    people.append(
        {"username": "expert1", "email": "", "name": "", "password": loader.DEMO_EXPERT_PASSWORD}
    )
    for person in people:
        found = passwords.problems(
            person["password"], [person["username"], person["email"], person["name"]]
        )
        assert found == [], (person["username"], found)
    assert passwords.character_classes(passwords.random_password()) == 4


# -- item 14: the per-address limit is global; the address is the client's -----------------------


def _limited_app(tmp_path: Path, **config: Any) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'limits.db'}",
            "SECRET_KEY": "k",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "EMBEDDING_MODEL": "hashing",
            **config,
        },
        instance_path=str(tmp_path / "inst"),
    )
    with app.app_context():
        db.create_all()
    return app


def test_without_redis_the_counters_are_in_the_database(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "expertpool+db://"


_WORKER = """
import json, sys
from expertpool import create_app
app = create_app(json.loads(sys.argv[1]), instance_path=sys.argv[2])
client = app.test_client()
print(json.dumps([
    client.post("/login", data={"username": "nobody", "password": "wrong"}).status_code
    for _ in range(4)
]))
"""


def test_three_workers_share_one_sign_in_limit(tmp_path):
    """The probe's attack: 3 workers with memory:// allowed 3 x 10 attempts. Here 3 app instances
    (this process and two others) on one database make 4 attempts each against a limit of 6:
    6 pass, 6 are refused. With RATELIMIT_STORAGE_URI=memory:// all 12 pass."""
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "SECRET_KEY": "k",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "localhost",
        "EMBEDDING_MODEL": "hashing",
        "LOGIN_RATE_LIMIT": "6 per minute",
        "LOGIN_MAX_FAILURES": 100,
    }
    app = _limited_app(tmp_path, **config)
    with app.app_context():
        client = app.test_client()
        attempt = {"username": "nobody", "password": "wrong"}
        codes = [client.post("/login", data=attempt).status_code for _ in range(4)]
    for n in (2, 3):
        run = subprocess.run(
            [sys.executable, "-c", _WORKER, json.dumps(config), str(tmp_path / f"worker{n}")],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        codes += json.loads(run.stdout.strip().splitlines()[-1])
    assert codes.count(200) == 6 and codes.count(429) == 6, codes


def test_behind_a_proxy_each_client_has_its_own_counter(tmp_path):
    app = _limited_app(tmp_path, LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    attempt = {"username": "nobody", "password": "wrong"}
    with app.app_context():
        client = _browser(app)

        def post(address: str) -> int:
            return client.post(
                "/login", data=attempt, headers={"X-Forwarded-For": address}
            ).status_code

        assert [post("203.0.113.1") for _ in range(3)] == [200, 200, 429]
        assert post("203.0.113.2") == 200  # another client behind the same proxy


def test_without_a_trusted_proxy_a_forged_header_does_not_escape_the_limit(tmp_path):
    app = _limited_app(tmp_path, LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=0)
    attempt = {"username": "nobody", "password": "wrong"}
    with app.app_context():
        client = _browser(app)
        codes = [
            client.post(
                "/login", data=attempt, headers={"X-Forwarded-For": f"198.51.100.{n}"}
            ).status_code
            for n in range(3)
        ]
    assert codes == [200, 200, 429]


# -- audit and history -----------------------------------------------------------------------------


def test_sign_ins_sign_outs_and_locks_are_audited(client, admin, auth):
    _attempt(client, "admin", WRONG)
    _attempt(client, "ghost", WRONG)
    auth.login()
    auth.logout()
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type.in_(["login", "session"])).order_by(AuditLog.id)
    ).all()
    assert [(r.entity_type, r.action) for r in rows] == [
        ("login", "failure"),
        ("login", "failure"),
        ("login", "success"),
        ("session", "logout"),
    ]
    assert rows[1].changes["login"] == [None, "ghost"] and rows[1].actor_name.startswith(
        "anonymous"
    )
    assert rows[2].actor_id == admin.id


def test_the_person_sees_their_sign_in_history(client, admin, auth):
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0"
    _attempt(client, "admin", WRONG)
    auth.login()
    page = client.get("/account/sessions").get_data(as_text=True)
    assert page.count("127.0.0.1") == 3  # two attempts and the live session
    assert page.count("Chrome · Windows") == 3
    assert page.count("table-warning") == 1  # the failure stands out


def test_pruning_forgets_old_history(app, admin):
    """The scheduled job (run through the queue, as a worker would) keeps recent records."""
    from expertpool.accounts import PRUNE_TASK
    from expertpool.core.jobs import enqueue

    old = utcnow() - dt.timedelta(days=app.config["LOGIN_HISTORY_DAYS"] + 1)
    db.session.add_all(
        [
            LoginEvent(user_id=admin.id, outcome="success", at=old),
            LoginEvent(user_id=admin.id, outcome="success"),
            UserSession(token_hash="a" * 64, user_id=admin.id, created_at=old, last_seen_at=old),
        ]
    )
    job = enqueue(db.session, PRUNE_TASK, {"at": "2026-12-05"})
    db.session.commit()  # JOBS_EAGER: the job runs now
    db.session.refresh(job)
    assert job.status == "done", job.error
    assert job.result == {"login_events": 1, "sessions": 1, "counters": 0}
    assert db.session.scalar(select(func.count()).select_from(LoginEvent)) == 1
