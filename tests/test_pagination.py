"""Every paginated list reads its page number by one rule (`core.pagination.page_arg`): a page
past the end, not a number, negative or beyond 64 bits shows a page, never a 500."""

from __future__ import annotations

import re
from typing import Any

import pytest

from expertpool.core.access import Role
from tests.conftest import PASSWORD

LISTS = [
    "/experts/",
    "/experts/audit",
    "/submissions/",
    "/reviews/board",
    "/inbox",
    "/courses/",
    "/courses/search?q=均匀性",
    "/admin/training/certificates",
]
PAGES = ["10000000000000000000", "abc", "-1", "0", "99999"]


@pytest.fixture
def everyone(client: Any, make_user: Any) -> Any:
    make_user(Role.ADMIN, Role.EXPERT, Role.TRAINEE, username="everyone")
    client.post("/login", data={"username": "everyone", "password": PASSWORD})
    return client


def _with_page(url: str, page: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}page={page}"


def test_every_list_survives_any_page_number(everyone: Any) -> None:
    wrong = []
    for url in LISTS:
        assert everyone.get(url).status_code == 200, url
        for page in PAGES:
            status = everyone.get(_with_page(url, page)).status_code
            if status != 200:
                wrong.append(f"{_with_page(url, page)}: {status}")
    assert not wrong, "\n".join(wrong)


# The duty accounts' lists (each role holds no other, so each signs in on its own).
DUTY_LISTS = {
    Role.SYSADMIN: ["/admin/users", "/admin/jobs"],
    Role.SECADMIN: ["/security/roles", "/security/roles?role=admin"],
    Role.AUDITOR: ["/audit", "/audit?actor=x&date_from=2026-01-01"],
}


@pytest.mark.parametrize("role", list(DUTY_LISTS))
def test_every_duty_list_survives_any_page_number(client: Any, make_user: Any, role: Role) -> None:
    make_user(role, username="duty")
    client.post("/login", data={"username": "duty", "password": PASSWORD})
    wrong = []
    for url in DUTY_LISTS[role]:
        for page in ["1", *PAGES]:
            status = client.get(_with_page(url, page)).status_code
            if status != 200:
                wrong.append(f"{_with_page(url, page)}: {status}")
    assert not wrong, "\n".join(wrong)


def test_users_list_is_paginated(app: Any, client: Any, make_user: Any) -> None:
    app.config["PER_PAGE"] = 2
    make_user(Role.SYSADMIN, username="ops")
    for n in range(4):
        make_user(Role.TRAINEE, username=f"学员{n}")  # not a string a CSRF token can contain
    client.post("/login", data={"username": "ops", "password": PASSWORD})
    first = client.get("/admin/users").get_data(as_text=True)
    assert "(5)" in first and "ops" in first and "学员3" not in first
    last = client.get("/admin/users?page=10000000000000000000").get_data(as_text=True)
    assert "学员3" in last and "学员0" not in last
    assert re.search(r'href="/admin/users\?page=3"', first)


def test_api_pages_are_bounded(app: Any, everyone: Any, make_expert: Any) -> None:
    for _ in range(3):
        make_expert()
    body = everyone.get("/api/v1/experts?per_page=2&page=10000000000000000000").get_json()
    assert (body["page"], body["pages"], body["per_page"], body["total"]) == (2, 2, 2, 3)
    assert len(body["items"]) == 1
    body = everyone.get("/api/v1/experts?per_page=abc&page=-4").get_json()
    assert (body["page"], body["per_page"]) == (1, app.config["PER_PAGE"])
    assert everyone.get("/api/v1/experts?per_page=100000").get_json()["per_page"] == 200
