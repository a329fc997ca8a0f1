"""The candidates page: the excluded list is reachable from the top; explanations mark words,
not function characters."""

from __future__ import annotations

import re

from expertpool.core.search.highlight import markable


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
