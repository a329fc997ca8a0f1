"""The JSON API against its own OpenAPI description (`/api/v1/openapi.json`).

For every described operation: parameters generated from their schemas (valid values, values
just outside them, hostile text), and every answer must be one the description declares, JSON
with the declared required fields when it is a 200. A small schemathesis, with no dependency.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.site import Site

ROLE = "admin"  # the API is for administrators (test_routes.py sends it as every other role)


def _spec(site: Site) -> dict[str, Any]:
    response = site.request(ROLE, "GET", "/api/v1/openapi.json", "api.openapi")
    assert response.status_code == 200
    return response.get_json()


def _value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """A parameter value: in the schema, at its edges, or not of its type at all."""
    pool: list[st.SearchStrategy[str]] = [fz.text(max_size=30), fz.numbers()]
    if "enum" in schema:
        pool.insert(0, st.sampled_from([str(v) for v in schema["enum"]]))
    if schema.get("type") == "integer":
        low, high = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63 - 1)
        pool.insert(0, st.integers(low, high).map(str))
        pool.insert(1, st.sampled_from([str(low - 1), str(high + 1)]))
    return st.one_of(*pool)


def _operation(spec: dict[str, Any], path: str) -> dict[str, Any]:
    return spec["paths"][path]["get"]


@pytest.fixture(scope="module")
def spec(site: Site) -> dict[str, Any]:
    return _spec(site)


def _paths(site_spec: dict[str, Any]) -> list[str]:
    return sorted(site_spec["paths"])


# The paths are read from the served description at run time; this list only names the tests.
DESCRIBED = ["/experts", "/experts/{expert_id}", "/openapi.json"]


def test_the_description_lists_the_paths_fuzzed_here(spec: dict[str, Any]) -> None:
    assert _paths(spec) == DESCRIBED


@pytest.mark.parametrize("path", DESCRIBED)
def test_operation(site: Site, spec: dict[str, Any], fuzz_settings: settings, path: str) -> None:
    operation = _operation(spec, path)
    params = operation.get("parameters", [])
    in_path = {p["name"]: _value(p["schema"]) for p in params if p["in"] == "path"}
    in_query = {p["name"]: _value(p["schema"]) for p in params if p["in"] == "query"}
    declared = set(operation["responses"])
    schemas = spec["components"]["schemas"]
    endpoint = f"api.{operation['operationId']}"

    @settings(fuzz_settings)
    @given(
        values=st.fixed_dictionaries(in_path),
        query=st.fixed_dictionaries({}, optional=in_query),
    )
    def run(values: dict[str, str], query: dict[str, str]) -> None:
        url = spec["servers"][0]["url"] + path
        for name, value in values.items():
            url = url.replace("{" + name + "}", quote(value, safe=""))
        if query:
            url += "?" + urlencode(query)
        response = site.request(ROLE, "GET", url, endpoint)
        assert str(response.status_code) in declared, f"{response.status_code} from {url}"
        if response.status_code == 200 and path != "/openapi.json":
            assert response.is_json
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[-1]]
            required = schema.get("required") or schemas["ExpertSummary"]["required"]
            assert set(required) <= set(response.get_json()), url

    run()
