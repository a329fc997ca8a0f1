"""The candidates page: the excluded list is reachable from the top; explanations mark words,
not function characters."""

from __future__ import annotations

import re

from expertpool.core.search.highlight import markable

from .conftest import TERM


def test_excluded_experts_are_counted_and_linked_from_the_top(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    link = re.search(r'<a href="#excluded"[^>]*>(\d+) experts excluded</a>', html)
    assert link, "a link to the excluded list near the top"
    assert html.index('href="#excluded"') < html.index('name="members"')
    assert 'id="excluded"' in html
    listed = html[html.index('id="excluded"') :].split("<tbody>")[1].split("</tbody>")[0]
    assert int(link.group(1)) == listed.count("<tr>") > 0


def test_explanations_never_mark_a_function_character(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    marks = re.findall(r"<mark>(.*?)</mark>", html)
    assert marks, "explanations still mark the matching words"
    for word in marks:
        assert word not in ("中", "的", "和", "与", "及", "或", "在", "对", "了"), word
        if len(word) == 1:
            assert word in ("铅", "镉"), word  # the submission names these analytes on their own


def test_the_marking_rule():
    assert not markable("中") and not markable("的") and not markable("与")
    assert not markable("土") and not markable("壤")  # fragments of a word
    assert markable("铅", keep=["铅", "镉"])  # an analyte the query names by itself
    assert not markable("中", keep=["中"])  # a function character, whatever the query
    assert markable("土壤") and markable("重金属")
    assert not markable("of") and not markable("in") and not markable("the")
    assert not markable("pb") and markable("pb", keep=["Pb"])
    assert markable("icp") and markable("ms", keep=["ICP-MS"]) and markable("soil")


def _rows(html: str) -> dict[int, str]:
    """Each candidate row's HTML by expert id, in page order."""
    body = html[html.index('name="members"') - 400 : html.index('id="excluded"')]
    rows = re.findall(r'<tr class="[^"]*">(.*?)</tr>', body, re.S)
    return {int(re.search(r'name="members" value="(\d+)"', r).group(1)): r for r in rows}


def test_the_page_quotes_its_first_candidates_and_the_panel_and_links_the_rest(
    client, auth, pool, make_expert, make_submission, monkeypatch
):
    from expertpool.matching import controllers

    monkeypatch.setattr(controllers, "QUOTED_FIRST", 1)
    for n in range(4):  # more eligible candidates than the panel of 3 and its alternates
        make_expert(
            name=f"候补{n}",
            institution=f"候补单位{n}",
            province="江苏省",
            categories=[8],
            summary="土壤重金属铅镉分析方法研究",
            **TERM,
        )
    submission = make_submission()
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    rows = _rows(html)
    ticked = {
        int(i) for i in re.findall(r'name="(?:members|alternates)" value="(\d+)"[^>]*checked', html)
    }
    quoted = {i for i, row in rows.items() if "js-texts" not in row}
    assert quoted == {next(iter(rows))} | ticked  # the first row and the proposed panel
    assert len(rows) > len(quoted)
    for expert_id, row in rows.items():
        link = f"/submissions/{submission.id}/candidates/{expert_id}/texts"
        assert (link in row) == (expert_id not in quoted)
        # Every row still shows its score's parts and the fields that match.
        assert "progress-bar bg-primary" in row
    assert "<mark>" in "".join(rows[i] for i in quoted)
    assert "candidates.js" in html


def test_a_candidates_texts_are_those_of_the_page_explanation(
    app, client, auth, pool, make_submission
):
    from expertpool.db import db
    from expertpool.matching.service import rank
    from expertpool.reviews.eligibility import rules_from_config

    submission = make_submission()
    ranking = rank(db.session, submission, rules_from_config(app.config))
    candidate = ranking.candidates[-1]
    texts = candidate.explanation.texts
    assert texts and any("<mark>" in t["html"] for t in texts)
    auth.login()
    url = f"/submissions/{submission.id}/candidates/{candidate.expert.id}/texts"
    part = client.get(url + "?part=1").get_data(as_text=True)
    assert "<html" not in part and "<nav" not in part  # the fragment alone
    for t in texts:
        assert t["html"] in part
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and candidate.expert.name in page
    assert f'href="/submissions/{submission.id}/candidates"' in page  # the way back
    assert all(t["html"] in page for t in texts)


def test_an_excluded_experts_texts_are_not_shown(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    url = f"/submissions/{submission.id}/candidates/{pool['same_inst'].id}/texts"
    assert client.get(url).status_code == 404
    assert client.get(f"/submissions/{submission.id}/candidates/999999/texts").status_code == 404


def test_a_summary_is_the_explanation_without_its_texts(app, pool, make_submission):
    from expertpool.db import db
    from expertpool.matching.service import rank
    from expertpool.reviews.eligibility import rules_from_config

    submission = make_submission()
    rules = rules_from_config(app.config)
    first = rank(db.session, submission, rules)
    second = rank(db.session, submission, rules)
    second.quote([])  # nothing expected: each explanation reads its own texts
    for a, b in zip(first.candidates, second.candidates, strict=True):
        summary = b.summary  # before the explanation: built without quoting
        assert summary.texts == []
        full = a.explanation.as_dict()
        assert {**full, "texts": []} == summary.as_dict()
        assert b.explanation.as_dict() == full
        assert a.summary.as_dict() == summary.as_dict()  # from the explanation already built
