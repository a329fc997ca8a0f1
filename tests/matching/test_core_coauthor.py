"""The co-authorship, shared e-mail domain and advisor/student recusal rules (pure core)."""

from __future__ import annotations

from datetime import date

from expertpool.core.assignment import (
    ExpertRecord,
    ExpertTable,
    Rules,
    SubmissionRecord,
    eligibility,
    exclusion_masks,
    possible_conflicts,
)
from expertpool.core.assignment.records import email_domain, is_free_mail, org_domains

TODAY = date(2025, 6, 1)
RULES = Rules()
SUB = SubmissionRecord(id=1, named_people=("欧阳 建国", "Jianguo Ouyang"))


def _found(expert, submission=SUB, rules=RULES):
    """Scalar exclusions, checked against the columnar form on the way."""
    found = {x.code: x.params for x in eligibility(expert, submission, rules, TODAY)}
    masks = exclusion_masks(ExpertTable.from_records([expert]), submission, rules, TODAY)
    assert {code for code, mask in masks.items() if mask[0]} == set(found)
    return found


def _paper(author, year, title="Lead in soil"):
    return ExpertRecord(id=7, coauthors=((author, title, year),))


def test_recent_coauthor_is_excluded_with_the_paper_as_evidence():
    found = _found(_paper("OUYANG Jianguo", 2022, "Cadmium in rice flour"))
    assert found["coauthor"] == {
        "person": "Jianguo Ouyang",
        "author": "OUYANG Jianguo",
        "title": "Cadmium in rice flour",
        "year": 2022,
        "papers": 1,
    }


def test_year_window_is_inclusive_and_configurable():
    assert "coauthor" in _found(_paper("欧阳建国", 2020))  # 2025 - 5
    assert "coauthor" not in _found(_paper("欧阳建国", 2019))
    assert "coauthor" in _found(_paper("欧阳建国", 2019), rules=Rules(coauthor_years=6))
    assert "coauthor" not in _found(_paper("欧阳建国", 2024), rules=Rules(coauthor_years=None))


def test_paper_without_a_year_counts():
    assert _found(_paper("欧阳建国", None))["coauthor"]["year"] is None


def test_the_latest_paper_is_the_evidence():
    expert = ExpertRecord(
        id=7, coauthors=(("欧阳建国", "Old", 2021), ("Jianguo Ouyang", "New", 2024))
    )
    evidence = _found(expert)["coauthor"]
    assert (evidence["title"], evidence["year"], evidence["papers"]) == ("New", 2024, 2)


def test_common_name_or_initials_only_warn():
    sub = SubmissionRecord(id=1, named_people=("张伟", "Ouyang Jianguo"))
    expert = ExpertRecord(
        id=7, coauthors=(("张 伟", "Paper A", 2023), ("J. Ouyang", "Paper B", 2022))
    )
    assert _found(expert, sub) == {}
    warnings = possible_conflicts(expert, sub, RULES, TODAY)
    assert [(w.code, w.params["title"], w.params["why"]) for w in warnings] == [
        ("possible_coauthor", "Paper B", "initials"),
        ("possible_coauthor", "Paper A", "common_name"),
    ]


def test_old_possible_coauthor_is_no_warning():
    sub = SubmissionRecord(id=1, named_people=("张伟",))
    assert possible_conflicts(_paper("张伟", 2001), sub, RULES, TODAY) == []


def test_shared_institutional_domain_is_excluded():
    sub = SubmissionRecord(id=1, contact_domains=frozenset({"mail.nim.ac.cn"}))
    found = _found(ExpertRecord(id=7, email_domains=frozenset({"NIM.ac.cn"})), sub)
    assert found["shared_email_domain"] == {"domain": "nim.ac.cn"}


def test_free_mail_and_shared_suffixes_are_ignored():
    sub = SubmissionRecord(id=1, contact_domains=frozenset({"qq.com", "cas.ac.cn"}))
    for domain in ("qq.com", "vip.qq.com", "nim.ac.cn", "ac.cn"):
        assert _found(ExpertRecord(id=7, email_domains=frozenset({domain})), sub) == {}
    # free-mail is a setting: without qq.com in it, qq.com is shared
    rules = Rules(free_mail_domains=("163.com",))
    found = _found(ExpertRecord(id=7, email_domains=frozenset({"qq.com"})), sub, rules)
    assert found["shared_email_domain"] == {"domain": "qq.com"}
    off = Rules(email_domain_recusal=False)
    assert _found(ExpertRecord(id=7, email_domains=frozenset({"cas.ac.cn"})), sub, off) == {}


def test_declared_advisor_or_student_is_excluded():
    expert = ExpertRecord(id=7, relations=(("Ouyang Jianguo", "advisor"),))
    assert _found(expert)["advisor_student"] == {
        "person": "Jianguo Ouyang",
        "declared": "Ouyang Jianguo",
        "relation": "advisor",
    }
    student = ExpertRecord(id=7, relations=(("Zhang W.", "student"),))
    sub = SubmissionRecord(id=1, named_people=("Zhang Wen",))
    assert _found(student, sub) == {}
    [warning] = possible_conflicts(student, sub, RULES, TODAY)
    assert warning.code == "possible_relation" and warning.params["relation"] == "student"


def test_domain_helpers():
    assert email_domain(" Li@Mail.NIM.ac.cn ") == "mail.nim.ac.cn"
    assert email_domain("not an address") == ""
    assert org_domains("mail.nim.ac.cn") == {"mail.nim.ac.cn", "nim.ac.cn"}
    assert org_domains("sinopec.com") == {"sinopec.com"}
    assert org_domains("cn") == frozenset()
    assert org_domains("nim.example.org") == {"nim.example.org"}  # RFC 2606: shared by all
    assert is_free_mail("vip.163.com", ("163.com",)) and not is_free_mail("x163.com", ("163.com",))


# --- a Chinese name and its pinyin: only ever a warning --------------------------------------


def test_pinyin_coauthor_is_a_possible_conflict_not_an_exclusion():
    sub = SubmissionRecord(id=1, named_people=("张伟民",))
    for author, why in (
        ("Weimin Zhang", "pinyin"),
        ("ZHANG Wei-Min", "pinyin"),
        ("W.M. Zhang", "pinyin_initials"),
    ):
        expert = _paper(author, 2023, "Lead isotopes in rice")
        assert _found(expert, sub) == {}  # neither the scalar rules nor the masks exclude
        [warning] = possible_conflicts(expert, sub, RULES, TODAY)
        assert warning.code == "possible_coauthor"
        assert warning.params == {
            "person": "张伟民",
            "author": author,
            "title": "Lead isotopes in rice",
            "year": 2023,
            "why": why,
        }


def test_pinyin_of_a_rare_name_still_only_warns():
    """欧阳建国 is no common name, and Jianguo Ouyang is its only reading: still a warning,
    since the applicant's Jianguo Ouyang may be 欧阳剑国."""
    sub = SubmissionRecord(id=1, named_people=("Jianguo Ouyang",))
    expert = ExpertRecord(
        id=7, coauthors=(("欧阳建国", "Paper", 2024),), relations=(("欧阳 建国", "advisor"),)
    )
    assert _found(expert, sub) == {}
    assert [(w.code, w.params["why"]) for w in possible_conflicts(expert, sub, RULES, TODAY)] == [
        ("possible_coauthor", "pinyin"),
        ("possible_relation", "pinyin"),
    ]


def test_a_certain_match_is_not_repeated_as_a_pinyin_warning():
    """SUB names 欧阳 建国 and Jianguo Ouyang: the co-author 欧阳建国 is excluded (characters
    match), and its pinyin match with the other spelling adds no warning."""
    expert = ExpertRecord(
        id=7, coauthors=(("欧阳建国", "Paper", 2024),), relations=(("欧阳建国", "student"),)
    )
    assert set(_found(expert)) == {"coauthor", "advisor_student"}
    assert possible_conflicts(expert, SUB, RULES, TODAY) == []


def test_different_pinyin_is_no_conflict():
    sub = SubmissionRecord(id=1, named_people=("单伟",))  # Shan Wei
    expert = _paper("Dan Wei", 2024)
    assert _found(expert, sub) == {}
    assert possible_conflicts(expert, sub, RULES, TODAY) == []
    assert possible_conflicts(_paper("Wei Shan", 2024), sub, RULES, TODAY)[0].params["why"] == (
        "pinyin"
    )
