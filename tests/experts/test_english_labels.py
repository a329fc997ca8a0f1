"""In English, enumerations stored in Chinese (titles, grades, education, statuses, categories)
read in English: no CJK character in their labels."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3400-\u9fff]")


def _english(client, auth):
    auth.login()
    client.post("/language", data={"locale": "en"})


def _dd_after(html: str, label: str) -> str:
    match = re.search(rf"<dt[^>]*>{re.escape(label)}</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    assert match, label
    return match.group(1)


def test_expert_file_shows_enumerations_in_english(client, auth, make_expert):
    expert = make_expert(
        title="副研究员", title_grade="副高级", education="博士研究生", categories=[8, 10]
    )
    _english(client, auth)
    html = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    title = _dd_after(html, "Professional title")
    assert "Associate research professor" in title and "Senior (associate)" in title
    assert not CJK.search(title), title
    education = _dd_after(html, "Education")
    assert "Doctorate" in education and not CJK.search(education)
    assert "08 Environmental chemistry" in html


def test_expert_list_and_edit_form_in_english(client, auth, make_expert):
    make_expert(title="正高级工程师", title_grade="正高级", education="硕士研究生")
    _english(client, auth)
    listing = client.get("/experts/").get_data(as_text=True)
    assert "Professor-level senior engineer" in listing and "正高级工程师" not in listing
    expert = make_expert(title="教授", title_grade="正高级")
    form = client.get(f"/experts/{expert.id}/edit").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", form)
    labels = [o for o in options if o not in ("—", "中文")]  # a language's own name stays
    assert "Senior (full)" in labels and "Master's degree" in labels
    assert [o for o in labels if CJK.search(o)] == []
    # the stored value is still the Chinese one the regulator's forms use
    assert 'value="正高级" selected' in form or 'selected value="正高级"' in form


def test_change_history_in_english_has_no_chinese_enumerations(client, auth, admin, make_expert):
    from expertpool.core import audit
    from expertpool.db import db
    from expertpool.experts import operations as ops

    expert = make_expert(title_grade="副高级")
    audit.set_actor(db.session, admin)
    ops.update_ordinary(db.session, admin, expert, {"title_grade": "正高级"}, expert.version)
    db.session.commit()
    _english(client, auth)
    html = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    sentence = re.search(r"<li>([^<]*changed Title grade[^<]*)</li>", html)
    assert sentence and "from Senior (associate) to Senior (full)" in sentence.group(1)
    assert not CJK.search(sentence.group(1).replace(admin.name, ""))
