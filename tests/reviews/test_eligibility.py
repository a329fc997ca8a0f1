"""The seam from database models to the matching core's records, and exclusion reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from expertpool.core.assignment.records import Rules
from expertpool.db import db, utcnow
from expertpool.experts import institutions
from expertpool.experts.models import (
    ConflictOfInterest,
    DevelopedRM,
    Employment,
    UnavailablePeriod,
)
from expertpool.reviews import eligibility
from expertpool.reviews.models import Assignment

TODAY = dt.date(2025, 6, 15)


def _assign(submission: Any, expert: Any, status: str, invited: dt.datetime | None) -> None:
    db.session.add(
        Assignment(
            submission_id=submission.id,
            expert_id=expert.id,
            status=status,
            invited_at=invited,
            role="member",
            rank=1,
        )
    )


def test_expert_record_reads_the_whole_file(
    app: Any, make_expert: Any, make_submission: Any
) -> None:
    expert = make_expert(
        institution="中国计量科学研究院",
        province="北京",
        categories=[8, 10],
        metrology_competent=True,
        term_start=dt.date(2024, 1, 1),
        term_end=dt.date(2028, 12, 31),
    )
    rival = institutions.get_or_create(db.session, "广东省计量科学研究院")
    former = institutions.get_or_create(db.session, "北京化工大学")
    db.session.add_all(
        [
            UnavailablePeriod(
                expert_id=expert.id, start=dt.date(2025, 7, 1), end=dt.date(2025, 7, 31)
            ),
            ConflictOfInterest(expert_id=expert.id, kind="institution", institution_id=rival.id),
            ConflictOfInterest(expert_id=expert.id, kind="person", person_name=" 王 强 "),
            DevelopedRM(expert_id=expert.id, gbw_number="GBW（E） 080123"),
            Employment(expert_id=expert.id, institution_id=former.id, end=dt.date(2023, 5, 1)),
        ]
    )
    this_year = dt.datetime(2025, 2, 1)
    statuses = ["invited", "accepted", "completed", "declined", "withdrawn", "proposed"]
    for status in statuses:
        _assign(
            make_submission(title=status),
            expert,
            status,
            None if status == "proposed" else this_year,
        )
    _assign(make_submission(title="last year"), expert, "completed", dt.datetime(2024, 12, 30))
    db.session.commit()
    record = eligibility.expert_record(db.session, expert, TODAY)
    assert record.id == expert.id and record.status == "active"
    assert (
        record.institution_id == expert.institution_id and record.province == "北京市"
    )  # entered as 北京
    assert (record.term_start, record.term_end) == (dt.date(2024, 1, 1), dt.date(2028, 12, 31))
    assert record.unavailable == ((dt.date(2025, 7, 1), dt.date(2025, 7, 31)),)
    assert record.conflict_institution_ids == {rival.id}
    assert record.conflict_persons == {"王强"}
    assert record.developed_rms == {"GBW(E)080123"}
    assert record.past_employers == ((former.id, dt.date(2023, 5, 1)),)
    assert record.load_this_year == 3  # invited, accepted, completed in 2025 only
    assert record.metrology_competent and record.categories == {8, 10}
    assert record.training_ok is None
    assert eligibility.yearly_loads(db.session, 2024) == {expert.id: 1}
    assert eligibility.expert_record(db.session, expert, TODAY, load=7).load_this_year == 7


def test_submission_record(app: Any, make_submission: Any) -> None:
    submission = make_submission(
        review_type="reproduction",
        gbw_number="GBW 08301",
        applicant_people=["王 强", "LI Ming"],
        window_start=dt.date(2025, 7, 1),
        window_end=dt.date(2025, 8, 1),
    )
    record = eligibility.submission_record(submission)
    assert record.id == submission.id
    assert record.applicant_institution_id == submission.applicant_institution_id
    assert record.rm_numbers == {"GBW08301"} and record.category == 8
    assert record.related_people == {"王强", "liming"}
    assert record.window(TODAY) == (dt.date(2025, 7, 1), dt.date(2025, 8, 1))
    assert record.rm_name == submission.rm_name


def test_exclusion_reasons_cover_each_recusal(
    app: Any, make_expert: Any, make_submission: Any
) -> None:
    nim = institutions.get_or_create(db.session, "中国计量科学研究院")
    institutions.add_alias(db.session, nim, "中国计量院")
    db.session.commit()
    submission = make_submission(
        applicant_institution="中国计量院",
        review_type="reproduction",
        gbw_number="GBW 08301",
        applicant_people=["王强"],
        window_start=dt.date(2025, 7, 1),
        window_end=dt.date(2025, 7, 31),
    )
    colleague = make_expert(institution="中国计量科学研究院")
    friend = make_expert(institution="清华大学")
    developer = make_expert(institution="北京大学")
    alumnus = make_expert(institution="浙江大学")
    free = make_expert(institution="复旦大学")
    db.session.add_all(
        [
            ConflictOfInterest(expert_id=friend.id, kind="person", person_name="王强"),
            DevelopedRM(expert_id=developer.id, gbw_number="gbw08301"),
            Employment(expert_id=alumnus.id, institution_id=nim.id, end=dt.date(2023, 1, 1)),
        ]
    )
    db.session.commit()

    def codes(expert: Any, rules: Rules | None = None) -> list[str]:
        rules = rules or Rules()
        reasons = eligibility.exclusion_reasons(db.session, expert, submission, rules, TODAY)
        return [r.code for r in reasons]

    assert codes(colleague) == ["same_institution"]  # found through the alias
    assert codes(friend) == ["declared_conflict"]
    assert codes(developer) == ["developed_rm"]
    assert codes(alumnus) == ["recent_employment"]
    assert codes(alumnus, Rules(years_since_employment=2)) == []
    assert codes(free) == []
    other = make_submission(title="other")
    _assign(other, free, "accepted", utcnow().replace(year=TODAY.year))
    db.session.commit()
    assert codes(free, Rules(load_cap_per_year=1)) == ["load_cap"]
    stored = eligibility.exclusion_dicts(
        eligibility.exclusion_reasons(db.session, friend, submission, Rules(), TODAY)
    )
    assert stored == [
        {"code": "declared_conflict", "params": {"institution_ids": [], "persons": ["王强"]}}
    ]


def test_reasons_of_several_experts_equal_each_ones(
    app: Any, make_expert: Any, make_submission: Any
) -> None:
    """The batch (panel assignment) reads each file as stored now, like `exclusion_reasons`:
    also a conflict, an RM, a case or a review added by foreign key after the files were loaded,
    in this very transaction (not yet committed)."""
    submission = make_submission(
        applicant_institution="中国计量科学研究院",
        review_type="reproduction",
        gbw_number="GBW 08301",
        applicant_people=["王强"],
        window_start=dt.date(2025, 7, 1),
        window_end=dt.date(2025, 7, 31),
    )
    other = make_submission(title="other")
    experts = [make_expert(institution=f"大学{n}") for n in range(5)]
    for expert in experts:  # every part of every file loaded before the additions below
        _ = (expert.conflicts, expert.developed_rms, expert.employments, expert.publications)
    nim = institutions.get_or_create(db.session, "中国计量科学研究院")
    db.session.add_all(
        [
            ConflictOfInterest(expert_id=experts[0].id, kind="person", person_name="王强"),
            DevelopedRM(expert_id=experts[1].id, gbw_number="gbw08301"),
            Employment(expert_id=experts[2].id, institution_id=nim.id, end=dt.date(2025, 1, 1)),
            UnavailablePeriod(
                expert_id=experts[3].id, start=dt.date(2025, 7, 1), end=dt.date(2025, 7, 20)
            ),
        ]
    )
    _assign(other, experts[4], "accepted", utcnow().replace(year=TODAY.year))
    rules = Rules(load_cap_per_year=1)
    together = eligibility.exclusion_reasons_of(db.session, experts, submission, rules, TODAY)
    alone = {
        e.id: eligibility.exclusion_reasons(db.session, e, submission, rules, TODAY)
        for e in experts
    }
    assert together == alone
    assert [[r.code for r in together[e.id]] for e in experts] == [
        ["declared_conflict"],
        ["developed_rm"],
        ["recent_employment"],
        ["unavailable"],
        ["load_cap"],
    ]


def test_rules_from_config() -> None:
    rules = eligibility.rules_from_config(
        {"MATCH_PANEL_SIZE": 5, "MATCH_LOAD_CAP_PER_YEAR": 4, "OTHER": 1}
    )
    assert (rules.panel_size, rules.load_cap_per_year) == (5, 4)
    assert eligibility.rules_from_config({}) == Rules()


def test_coauthors_leave_out_the_expert_in_any_script() -> None:
    """张伟民's English paper signed "ZHANG Wei-Min" is the expert's own name (a possible match
    across scripts), not a co-author: a namesake of an applicant's person would otherwise make
    the expert "co-author" with them."""
    papers = [
        (["ZHANG Wei-Min", "Jianguo Ouyang"], "Lead isotopes", 2024),
        (["张伟民", "李红"], "铅同位素", 2023),
        (["W.M. Zhang", "Qiu Xiaoming"], "Cadmium", None),
    ]
    assert eligibility.coauthors("张伟民", papers) == (
        ("Jianguo Ouyang", "Lead isotopes", 2024),
        ("Qiu Xiaoming", "Cadmium", None),
        ("李红", "铅同位素", 2023),
    )
