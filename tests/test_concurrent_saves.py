"""Simultaneous saves through the web, really concurrent (threads + a barrier, file SQLite).

Issue 12, item 2: two administrators saving one expert at the same instant gave the loser a 500
(`StaleDataError`) and a crashing error page; eight simultaneous registrations of one username
gave 4 × 500 (`IntegrityError`). Now: one 409 page with a reload link, and clean form errors.
`tests/test_concurrent_saves_postgres.py` runs the same races on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts.models import Expert
from tests.conftest import PASSWORD
from tests.racing import client_of, of_type, race, server_errors

RACERS = 8
# Registration never says whether the name or the e-mail is taken (no account enumeration).
NEUTRAL = "该用户名或电子邮箱不能用于注册新账户。"


def _register(client: Any, username: str, email: str) -> Any:
    return lambda: client.post(
        "/register",
        data={
            "kind": "trainee",
            "username": username,
            "name": "并发用户",
            "email": email,
            "audience": "technician",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )


def _accounts(**where: str) -> int:
    stmt = select(func.count()).select_from(User).filter_by(**where)
    return db.session.scalar(stmt)


def _assert_one_account_and_clean_refusals(outcomes: list[Any], message: str) -> None:
    assert not server_errors(outcomes), outcomes
    assert sorted(o.status for o in outcomes) == [200] * (RACERS - 1) + [302]
    refused = [o for o in outcomes if o.status == 200]
    assert all(message in o.body and "is-invalid" in o.body for o in refused)


def test_registration_race_on_one_username_gives_one_account(app):
    clients = [client_of(app) for _ in range(RACERS)]
    requests = [_register(c, "racer", f"racer{n}@example.cn") for n, c in enumerate(clients)]
    outcomes = race(app, requests, lambda s: of_type(s, User, new=True))
    _assert_one_account_and_clean_refusals(outcomes, NEUTRAL)
    assert _accounts(username="racer") == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_registration_race_on_one_email_gives_one_account(app):
    clients = [client_of(app) for _ in range(RACERS)]
    requests = [_register(c, f"racer{n}", "same@example.cn") for n, c in enumerate(clients)]
    outcomes = race(app, requests, lambda s: of_type(s, User, new=True))
    _assert_one_account_and_clean_refusals(outcomes, NEUTRAL)
    assert _accounts(email="same@example.cn") == 1


def save_profile(client: Any, expert: Expert, version: int, department: str) -> Any:
    url, edit = f"/experts/{expert.id}/profile", f"http://localhost/experts/{expert.id}/edit"
    data = {
        "name": expert.name,
        "email": expert.email,
        "department": department,
        "version": version,
    }
    return lambda: client.post(url, data=data, headers={"Referer": edit})


def test_two_admins_saving_one_expert_at_once_one_gets_a_409(app, admin, make_user, make_expert):
    make_user(Role.ADMIN, username="admin2")
    expert = make_expert(department="原部门")
    version = expert.version
    saves = [
        save_profile(client_of(app, "admin"), expert, version, "甲的修改"),
        save_profile(client_of(app, "admin2"), expert, version, "乙的修改"),
    ]
    outcomes = race(app, saves, lambda s: of_type(s, Expert))
    assert not server_errors(outcomes), outcomes
    assert sorted(o.status for o in outcomes) == [302, 409]
    lost = next(o for o in outcomes if o.status == 409)
    assert f'href="/experts/{expert.id}/edit" data-reload' in lost.body
    assert "重新加载" in lost.body or "刷新" in lost.body
    won = outcomes.index(next(o for o in outcomes if o.status == 302))
    db.session.expire_all()
    stored = db.session.get(Expert, expert.id)
    assert stored.department == ("甲的修改", "乙的修改")[won]
    assert stored.version == version + 1  # one save, the other rolled back whole
