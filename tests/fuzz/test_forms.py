"""No 500 on any form or upload: every POST route, with the right CSRF token, as each role
allowed to use it, with field values and files from tests/fuzz/strategies.py.

The fields come from the forms the crawl found on the pages (names, defaults, choices), else
from the FlaskForm the view builds, else from site.SCRIPTED_POSTS; test_routes.py's
`test_every_route_has_a_strategy` fails for a POST route with none of the three.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.site import ANONYMOUS, Site, collection_app, rules_of
from tests.fuzz.test_routes import _known_values, build_url

POSTS = sorted({(r.endpoint, r.rule) for r in rules_of(collection_app()) if "POST" in r.methods})


@pytest.mark.parametrize(("endpoint", "rule_text"), POSTS, ids=[e for e, _ in POSTS])
def test_form(site: Site, fuzz_settings: settings, endpoint: str, rule_text: str) -> None:
    rule = next(r for r in rules_of(site.app) if r.endpoint == endpoint and r.rule == rule_text)
    forms = site.post_forms(endpoint)
    assert forms is not None, "no form known: see test_every_route_has_a_strategy"
    roles = site.roles_for(endpoint)
    known = {arg: _known_values(site, endpoint, arg) for arg in rule.arguments}
    # Where the form posts: an action a page rendered, or the rule with values that exist.
    targets = [f.action for f in forms if f.action]
    if not targets or rule.arguments:
        segments = {
            a: st.sampled_from([str(v) for v in known[a]]) if known[a] else fz.path_segment([])
            for a in rule.arguments
        }
        built = st.fixed_dictionaries(segments).map(lambda v: build_url(rule_text, v))
        targets_st = st.sampled_from(targets) | built if targets else built
    else:
        targets_st = st.sampled_from(targets)

    # The fixed sweep: each form as rendered with every typed field set to each SWEEP value,
    # then with each UPLOAD_SWEEP file in each file field.
    first = [f for f in forms if f.action] or forms
    url0 = first[0].action or build_url(
        rule_text, {a: str((known[a] or ["1"])[0]) for a in rule.arguments}
    )
    role0 = roles[-1]
    for form in first[:2]:
        token = site.tokens.get(role0, "") if role0 != ANONYMOUS else site.anonymous_token()
        for value in fz.SWEEP:
            data = fz.rendered(vars(form), token, value)
            site.request(
                role0, "POST", url0, endpoint, data=data, content_type="multipart/form-data"
            )
        for name, make in fz.UPLOAD_SWEEP:
            files = {
                f["name"]: (io.BytesIO(make()), name) for f in form.fields if f["kind"] == "file"
            }
            if files:
                data = {**fz.rendered(vars(form), token), **files}
                site.request(
                    role0, "POST", url0, endpoint, data=data, content_type="multipart/form-data"
                )

    @settings(fuzz_settings)
    @given(data=st.data(), role=st.sampled_from(roles), url=targets_st)
    def run(data: Any, role: str, url: str) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        token = site.tokens.get(role, "") if role != ANONYMOUS else site.anonymous_token()
        fields = data.draw(fz.form_data(vars(form), token), label="fields")
        site.request(role, "POST", url, endpoint, data=fields, content_type="multipart/form-data")

    run()
