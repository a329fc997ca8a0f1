"""No 500 on any path or query: every route of the app, as every role allowed to use it.

The routes come from `app.url_map`, so a new route is fuzzed without editing this file, and
`test_every_route_has_a_strategy` fails for a route the suite cannot fuzz (a new converter, or a
POST route no page has a form for and that is not listed in SCRIPTED_POSTS).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.site import ANONYMOUS, Site, collection_app, methods_of, rules_of

_APP = collection_app()
ROUTES = [
    (rule.endpoint, method, rule.rule) for rule in rules_of(_APP) for method in methods_of(rule)
]
_ARG = re.compile(r"<(?:([^:>(]+)(?:\([^)]*\))?:)?([^>]+)>")


def _known_values(site: Site, endpoint: str, arg: str) -> list[Any]:
    """Values of `arg` seen by the crawl: this endpoint's first, then any endpoint's."""
    own = [s[arg] for s in site.samples[endpoint] if arg in s]
    other = [s[arg] for samples in site.samples.values() for s in samples if arg in s]
    values = list(dict.fromkeys(own + other))
    if arg == "user_id":  # never edit the suite's own accounts (it would sign itself out)
        values = [v for v in values if v not in site.actor_ids]
    return values[:20]


def build_url(rule: str, values: dict[str, str]) -> str:
    def segment(m: re.Match[str]) -> str:
        converter, name = m.group(1), m.group(2)
        return quote(values[name], safe="/" if converter == "path" else "")

    return _ARG.sub(segment, rule)


def _rule(site: Site, endpoint: str, rule_text: str) -> Any:
    return next(r for r in rules_of(site.app) if r.endpoint == endpoint and r.rule == rule_text)


def test_every_route_has_a_strategy(site: Site) -> None:
    missing = []
    for rule in rules_of(site.app):
        for arg in rule.arguments:
            if type(rule._converters[arg]).__name__ not in fz.PATH_VALUES:
                missing.append(f"{rule.rule}: no strategy for the converter of {arg}")
        if "POST" in rule.methods and site.post_forms(rule.endpoint) is None:
            missing.append(
                f"{rule.endpoint}: POST, but the suite knows no form for it (no page shows one, "
                "the view builds no FlaskForm): add its fields to site.SCRIPTED_POSTS"
            )
    assert not missing, "\n".join(missing)
    # Count what the suite covers (the report quotes it): every route, every method.
    assert len(ROUTES) == sum(len(methods_of(r)) for r in rules_of(site.app))


@pytest.mark.parametrize(
    ("endpoint", "method", "rule_text"), ROUTES, ids=[f"{m} {r}" for _, m, r in ROUTES]
)
def test_path_and_query(
    site: Site, fuzz_settings: settings, endpoint: str, method: str, rule_text: str
) -> None:
    rule = _rule(site, endpoint, rule_text)
    roles = site.roles_for(endpoint)
    segments = {arg: fz.path_segment(_known_values(site, endpoint, arg)) for arg in rule.arguments}
    names = site.query_names[endpoint]

    first = {a: str((_known_values(site, endpoint, a) or ["1"])[0]) for a in rule.arguments}
    for value in fz.SWEEP:
        url = (
            build_url(rule_text, first)
            + "?"
            + urlencode(dict.fromkeys(fz.query_names(names), value))
        )
        data = (
            {"csrf_token": site.tokens[roles[-1]]}
            if method == "POST" and roles[-1] != ANONYMOUS
            else None
        )
        site.request(roles[-1], method, url, endpoint, data=data)

    @settings(fuzz_settings)
    @given(
        role=st.sampled_from(roles),
        values=st.fixed_dictionaries(segments),
        params=fz.query(names),
    )
    def run(role: str, values: dict[str, str], params: dict[str, str]) -> None:
        url = build_url(rule_text, values)
        if params:
            url += "?" + urlencode(params)
        data = {"csrf_token": site.tokens[role]} if method == "POST" and role != ANONYMOUS else None
        site.request(role, method, url, endpoint, data=data)

    run()
