"""Co-authorship, e-mail domain and advisor/student recusal on the candidates page: each
exclusion with its evidence, possible conflicts as warnings on eligible candidates."""

from __future__ import annotations

import re
from typing import Any

import pytest

from expertpool.db import db
from expertpool.experts import operations as ops
from expertpool.reviews.eligibility import expert_record, file_records
from tests.matching.conftest import TERM

APPLICANT = {
    "applicant_people": "欧阳建国;张伟",
    "contact_people": "Xiaoming Qiu",
    "contact_emails": "qiu@mail.igge.cn; someone@qq.com",
}


@pytest.fixture
def conflicted(make_expert, admin) -> dict[str, Any]:
    def expert(key: str, email: str, **part: Any) -> Any:
        e = make_expert(name=f"专家{key}", email=email, institution=f"单位{key}", **TERM)
        for kind, values in part.items():
            ops.add_part(db.session, admin, e, kind, values)
        db.session.commit()
        return e

    def paper(year: int, authors: str) -> dict[str, Any]:
        return {"title": f"土壤铅同位素 {year}", "language": "zh", "year": year, "authors": authors}

    return {
        "coauthor": expert("A", "a@nim.ac.cn", publication=paper(2023, "专家A;欧阳 建国")),
        "old_paper": expert("B", "b@cas.cn", publication=paper(2001, "专家B;欧阳建国")),
        "domain": expert("C", "c@igge.cn"),
        "free_mail": expert("D", "d@qq.com"),
        "advisor": expert(
            "E",
            "e@bnu.edu.cn",
            conflict={"kind": "person", "person_name": "Qiu Xiao-Ming", "relation": "advisor"},
        ),
        "common": expert("F", "f@pku.edu.cn", publication=paper(2024, "专家F; 张 伟")),
    }


def _row(html: str, name: str) -> str:
    return next(r for r in html.split("<tr") if f">{name}</a>" in r)


def test_candidates_page_shows_evidence_and_warnings(
    client, auth, conflicted, make_submission
) -> None:
    submission = make_submission(**APPLICANT)
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    excluded = html[html.index('id="excluded"') :]
    ranked = html[: html.index('id="excluded"')]

    row = _row(excluded, "专家A")
    assert 'data-code="coauthor"' in row
    assert "土壤铅同位素 2023" in row and "(2023)" in row and "欧阳 建国 = 欧阳建国" in row
    row = _row(excluded, "专家C")
    assert 'data-code="shared_email_domain"' in row and "igge.cn" in row
    row = _row(excluded, "专家E")
    assert 'data-code="advisor_student"' in row and "Qiu Xiao-Ming = Xiaoming Qiu" in row

    for name in ("专家B", "专家D", "专家F"):  # old paper, free mail, common name: not excluded
        assert f">{name}</a>" in ranked and f">{name}</a>" not in excluded
    warning = _row(ranked, "专家F")
    assert 'data-code="possible_coauthor"' in warning and "张 伟" in warning
    assert "common name" in warning
    assert re.search(r'id="possible-conflicts"[^>]*>\s*1 candidates', html)


def test_records_from_the_file_and_from_the_pool_agree(app, conflicted) -> None:
    import datetime as dt

    by_id = {r.id: r for r in file_records(db.session)}
    for expert in conflicted.values():
        db.session.refresh(expert)
        assert by_id[expert.id] == expert_record(db.session, expert, dt.date.today(), load=0)
    coauthor = by_id[conflicted["coauthor"].id]
    assert coauthor.coauthors == (("欧阳 建国", "土壤铅同位素 2023", 2023),)  # not the expert
    assert by_id[conflicted["advisor"].id].relations == (("Qiu Xiao-Ming", "advisor"),)
    assert by_id[conflicted["domain"].id].email_domains == {"igge.cn"}


def test_round_page_flags_members_with_a_possible_conflict(
    client, auth, admin, pool, make_submission
) -> None:
    from sqlalchemy import select

    from expertpool.matching.models import ReviewRound

    for expert in pool.values():  # every expert co-authored with a 张伟: only ever a warning
        paper = {"title": "合著论文", "language": "zh", "year": 2024, "authors": "张 伟"}
        ops.add_part(db.session, admin, expert, "publication", paper)
    db.session.commit()
    submission = make_submission(applicant_people="张伟")
    auth.login()
    client.post(
        "/rounds/new",
        data={"name": "第一轮", "submissions": [submission.id], "panel_size": 3},
    )
    round_ = db.session.scalar(select(ReviewRound))
    members = round_.proposal["panels"][0]["members"]
    assert len(members) == 3  # the possible conflicts excluded nobody
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert html.count('class="badge text-bg-warning possible-conflict"') == len(members)


def test_a_pinyin_coauthor_is_a_warning_with_its_evidence(
    client, auth, admin, make_expert, make_submission
) -> None:
    """The applicant names 张伟民; an expert's English paper lists "Weimin Zhang": a possible
    conflict shown with the paper and both spellings, not an exclusion."""
    expert = make_expert(name="专家G", email="g@pku.edu.cn", institution="单位G", **TERM)
    paper = {
        "title": "Lead isotopes in rice",
        "language": "en",
        "year": 2024,
        "authors": "Gao Zhuanjia; ZHANG Wei-Min",
    }
    ops.add_part(db.session, admin, expert, "publication", paper)
    db.session.commit()
    submission = make_submission(applicant_people="张伟民")
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    ranked = html[: html.index('id="excluded"')]
    assert ">专家G</a>" not in html[html.index('id="excluded"') :]
    row = _row(ranked, "专家G")
    assert 'data-code="possible_coauthor"' in row
    assert "ZHANG Wei-Min" in row and "张伟民" in row and "Lead isotopes in rice" in row
    assert "the pinyin of a Chinese name" in row
    assert re.search(r'id="possible-conflicts"[^>]*>\s*1 candidates', html)
