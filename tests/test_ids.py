"""Ids in URLs: every route that takes one answers 404, not 500, for a missing row and for a
number past the databases' 64-bit integer range (`core.requests.get_or_404`)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from courses import operations as courses_ops
from expertpool.core.access import Role
from expertpool.core.requests import SQL_INT_MAX, get_or_404, is_sql_int
from expertpool.db import db
from expertpool.experts.models import Expert
from tests.conftest import PASSWORD

MISSING = 424242
TOO_LARGE = 9223372036854775808  # 2**63: SQLite's driver raises OverflowError for it
SAMPLE_VALUES = {"fmt": "csv", "kind": "publication", "slug": "ids"}


def _id_rules(app: Flask) -> list[Rule]:
    return [
        r
        for r in app.url_map.iter_rules()
        if any(isinstance(r._converters[a], IntegerConverter) for a in r.arguments)
    ]


def _url(rule: Rule, ident: int) -> str:
    values = {
        a: ident if isinstance(rule._converters[a], IntegerConverter) else SAMPLE_VALUES[a]
        for a in rule.arguments
    }
    return rule.build(values)[1]


@pytest.fixture
def everyone(client: Any, make_user: Any, make_expert: Any, admin: Any) -> Any:
    """Signed in with every role, owning an expert file; a course `ids` (a draft: admins see it)."""
    user = make_user(Role.ADMIN, Role.EXPERT, Role.TRAINEE, username="everyone")
    make_expert(user_id=user.id)
    courses_ops.create_course(
        db.session,
        admin,
        {
            "slug": "ids",
            "title": "均匀性检验",
            "language": "zh",
            "topic": "homogeneity_stability",
            "audience": ["technician"],
            "level": "intermediate",
            "hours": 6,
            "instructor": "王建平",
        },
    )
    db.session.commit()
    client.post("/login", data={"username": "everyone", "password": PASSWORD})
    return client


@pytest.fixture
def duty_clients(app: Flask, make_user: Any) -> list[Any]:
    """A signed-in client per duty role (三员分立: each held alone, so not in `everyone`)."""
    clients = []
    for role in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR):
        make_user(role, username=str(role))
        client = app.test_client()
        client.post("/login", data={"username": str(role), "password": PASSWORD})
        clients.append(client)
    return clients


@pytest.mark.parametrize("ident", [MISSING, TOO_LARGE], ids=["missing", "past-64-bit"])
def test_every_id_route_answers_404(
    app: Flask, everyone: Any, duty_clients: list[Any], ident: int
) -> None:
    """Whoever may use the route gets 404 (the others 403, never a 500)."""
    rules = _id_rules(app)
    assert len(rules) > 50  # every feature's: experts, submissions, reviews, matching, courses, …
    wrong = []
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule, ident)
            statuses = [c.open(url, method=method).status_code for c in [everyone, *duty_clients]]
            if 404 not in statuses or not set(statuses) <= {403, 404}:
                wrong.append(f"{rule.endpoint} {method} {url}: {statuses}")
    assert not wrong, "\n".join(wrong)


def test_get_or_404_checks_the_parent(app: Flask, make_expert: Any) -> None:
    from werkzeug.exceptions import NotFound

    expert = make_expert()
    assert get_or_404(db.session, Expert, expert.id, status=expert.status) is expert
    with pytest.raises(NotFound):
        get_or_404(db.session, Expert, expert.id, status="nonsense")
    with pytest.raises(NotFound):
        get_or_404(db.session, Expert, SQL_INT_MAX + 1)


def test_is_sql_int() -> None:
    assert is_sql_int(SQL_INT_MAX) and is_sql_int(-(2**63))
    assert not is_sql_int(SQL_INT_MAX + 1) and not is_sql_int(-(2**63) - 1)
    assert not is_sql_int("1") and not is_sql_int(None)


def test_assignment_export_with_a_round_past_64_bit(client: Any, auth: Any, admin: Any) -> None:
    auth.login()
    response = client.get(f"/assignments.csv?round={TOO_LARGE}")
    assert response.status_code == 200
    assert response.data.decode("utf-8-sig").splitlines() == [
        "submission_id,submission_title,expert_id,expert_name,role,rank,affinity,status,"
        "due_date,round_id"
    ]


def test_assignment_import_row_past_64_bit(app: Flask, make_expert: Any) -> None:
    import io

    from expertpool.matching.assignments_csv import parse

    expert = make_expert()
    stream = io.StringIO(f"submission_id,expert_id,role\n{TOO_LARGE},{expert.id},member\n")
    plan, errors = parse(db.session, stream)
    assert plan == {} and errors == [f"row 2: no submission {TOO_LARGE}"]


def test_the_int_converter_stops_ids_past_64_bit_before_any_view(app: Flask, client: Any) -> None:
    """A route that reads its id with `session.get` (no get_or_404) answered 500 with an
    OverflowError; the app-wide `int` converter (`core.requests.IdConverter`) makes it a 404."""
    from expertpool.core.access import public

    @public
    def probe(ident: int) -> str:
        return repr(db.session.get(Expert, ident))

    app.add_url_rule("/probe/<int:ident>", "probe", probe)
    assert client.get(f"/probe/{SQL_INT_MAX}").get_data(as_text=True) == "None"
    for ident in (str(TOO_LARGE), "9" * 5000, "١٢", "-1"):
        assert client.get(f"/probe/{ident}").status_code == 404, ident


@pytest.mark.parametrize(
    "url",
    [
        "/experts/?category=%C2%B2",  # "²".isdigit() is True, int("²") a ValueError
        f"/experts/?category={TOO_LARGE}",
        "/api/v1/experts?category=%C2%B2",
        "/submissions/?category=%C2%B2",
        f"/submissions/?category={'9' * 5000}",
        f"/experts/audit?entity_id={TOO_LARGE}",  # OverflowError in the driver
        "/experts/audit?entity_id=%C2%B2",
        f"/experts/audit?actor={TOO_LARGE}",
        "/experts/audit?date_to=9999-12-31",  # the day after it: OverflowError
    ],
)
def test_numbers_in_query_strings(client: Any, auth: Any, admin: Any, url: str) -> None:
    auth.login()
    assert client.get(url).status_code == 200


def test_category_names_with_odd_digits() -> None:
    from expertpool.experts.constants import category_by_name

    assert category_by_name("08 环境化学") == 8
    assert category_by_name("²") is None and category_by_name("9" * 5000) is None


def test_whole_number() -> None:
    from expertpool.core.requests import whole_number

    assert whole_number("12") == 12 and whole_number(" 7 ") == 7
    assert whole_number(str(SQL_INT_MAX)) == SQL_INT_MAX
    for text in ("", "-1", "²", "١٢", "1e3", str(TOO_LARGE), "9" * 5000, None):
        assert whole_number(text) is None, text
    assert whole_number("11", maximum=10) is None
