"""The JSON API's OpenAPI description (`/api/v1/openapi.json`) matches the real routes."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

API_PREFIX = "/api/v1"


def _spec(client: Any, auth: Any) -> dict[str, Any]:
    auth.login()
    response = client.get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def _api_routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every API route: `<int:expert_id>` becomes `{expert_id}`."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)[len(API_PREFIX) :]
            out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_every_api_route_is_described_and_nothing_else(
    app: Flask, client: Any, auth: Any, admin: Any
) -> None:
    spec = _spec(client, auth)
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert described == _api_routes(app)
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": API_PREFIX}]


def test_path_parameters_match_the_rules(client: Any, auth: Any, admin: Any) -> None:
    for path, item in _spec(client, auth)["paths"].items():
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_the_list_answers_with_the_described_fields(
    client: Any, auth: Any, admin: Any, make_expert: Any
) -> None:
    make_expert()
    spec = _spec(client, auth)
    page = client.get(f"{API_PREFIX}/experts?per_page=1").get_json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["ExpertPage"]["required"]) <= set(page)
    assert set(page["items"][0]) == set(schemas["ExpertSummary"]["properties"])
    one = client.get(page["items"][0]["url"]).get_json()
    assert set(schemas["Expert"]["allOf"][1]["properties"]) <= set(one)


def test_only_administrators_read_it(client: Any, make_user: Any) -> None:
    from expertpool.core.access import Role
    from tests.conftest import PASSWORD

    assert client.get(f"{API_PREFIX}/openapi.json").status_code == 302
    make_user(Role.EXPERT, username="reader")
    client.post("/login", data={"username": "reader", "password": PASSWORD})
    assert client.get(f"{API_PREFIX}/openapi.json").status_code == 403
