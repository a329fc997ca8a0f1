"""Eligibility: every recusal rule, and the vectorised table agreeing with the scalar checks."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.core.assignment import (
    CODES,
    ExpertRecord,
    ExpertTable,
    Rules,
    SubmissionRecord,
    eligibility,
    eligible_mask,
    employment_cutoff,
    exclusion_masks,
    normalize_gbw,
    possible_conflicts,
    top_eligible,
)
from expertpool.core.assignment.names import CERTAIN, POSSIBLE, match

TODAY = date(2025, 6, 1)
RULES = Rules()


def _codes(expert, submission, rules=RULES, today=TODAY):
    return [x.code for x in eligibility(expert, submission, rules, today)]


def test_eligible_expert_has_no_exclusions():
    expert = ExpertRecord(
        id=1, institution_id=5, term_start=date(2021, 1, 1), term_end=date(2026, 1, 1)
    )
    assert (
        eligibility(expert, SubmissionRecord(id=1, applicant_institution_id=6), RULES, TODAY) == []
    )


@pytest.mark.parametrize(
    ("expert", "submission", "code", "params"),
    [
        (
            ExpertRecord(id=1, status="suspended"),
            SubmissionRecord(id=1),
            "not_active",
            {"status": "suspended"},
        ),
        (
            ExpertRecord(id=1, term_start=date(2025, 7, 1)),
            SubmissionRecord(id=1),
            "term_not_started",
            {"term_start": "2025-07-01"},
        ),
        (
            ExpertRecord(id=1, term_end=date(2025, 6, 10)),
            SubmissionRecord(id=1, window_start=date(2025, 6, 1), window_end=date(2025, 6, 30)),
            "term_ended",
            {"term_end": "2025-06-10"},
        ),
        (
            ExpertRecord(id=1, unavailable=((date(2025, 6, 20), date(2025, 8, 1)),)),
            SubmissionRecord(id=1, window_end=date(2025, 6, 20)),
            "unavailable",
            {"start": "2025-06-20", "end": "2025-08-01", "periods": 1},
        ),
        (
            ExpertRecord(id=1, institution_id=7),
            SubmissionRecord(id=1, applicant_institution_id=7),
            "same_institution",
            {"institution_id": 7},
        ),
        (
            ExpertRecord(id=1, institution_id=7),
            SubmissionRecord(
                id=1, applicant_institution_id=3, co_applicant_institution_ids=frozenset({7})
            ),
            "same_institution",
            {"institution_id": 7},
        ),
        (
            ExpertRecord(id=1, conflict_institution_ids=frozenset({3})),
            SubmissionRecord(id=1, applicant_institution_id=3),
            "declared_conflict",
            {"institution_ids": (3,), "persons": ()},
        ),
        (
            ExpertRecord(id=1, conflict_persons=frozenset({"p:9"})),
            SubmissionRecord(id=1, related_people=frozenset({"p:9", "p:2"})),
            "declared_conflict",
            {"institution_ids": (), "persons": ("p:9",)},
        ),
        (
            ExpertRecord(id=1, developed_rms=frozenset({"GBW（E） 080123"})),
            SubmissionRecord(id=1, rm_numbers=frozenset({"gbw(e)080123"})),
            "developed_rm",
            {"rm_numbers": ("GBW(E)080123",), "listed_as_developer": False},
        ),
        (
            ExpertRecord(id=1),
            SubmissionRecord(id=1, developer_expert_ids=frozenset({1})),
            "developed_rm",
            {"rm_numbers": (), "listed_as_developer": True},
        ),
        (
            ExpertRecord(id=1, past_employers=((3, date(2022, 6, 1)),)),
            SubmissionRecord(id=1, applicant_institution_id=3),
            "recent_employment",
            {"institution_id": 3, "until": "2022-06-01"},
        ),
        (
            ExpertRecord(id=1, past_employers=((3, date(2019, 1, 1)), (3, None))),
            SubmissionRecord(id=1, applicant_institution_id=3),
            "recent_employment",
            {"institution_id": 3, "until": "present"},
        ),
        (
            ExpertRecord(id=1, load_this_year=10),
            SubmissionRecord(id=1),
            "load_cap",
            {"load": 10, "cap": 10},
        ),
    ],
)
def test_each_exclusion(expert, submission, code, params):
    found = eligibility(expert, submission, RULES, TODAY)
    assert [x.code for x in found] == [code]
    assert found[0].params == params


def test_boundaries_are_inclusive():
    # Employment that ended exactly three years before the window start still counts.
    start = date(2025, 6, 1)
    sub = SubmissionRecord(id=1, applicant_institution_id=3, window_start=start)
    assert _codes(ExpertRecord(id=1, past_employers=((3, date(2022, 6, 1)),)), sub) == [
        "recent_employment"
    ]
    assert _codes(ExpertRecord(id=1, past_employers=((3, date(2022, 5, 31)),)), sub) == []
    # A term ending on the window's last day covers it; one ending the day before does not.
    window = SubmissionRecord(id=1, window_start=start, window_end=start + timedelta(days=9))
    assert _codes(ExpertRecord(id=1, term_end=start + timedelta(days=9)), window) == []
    assert _codes(ExpertRecord(id=1, term_end=start + timedelta(days=8)), window) == ["term_ended"]
    assert _codes(ExpertRecord(id=1, load_this_year=9), sub) == []


def test_training_and_category_rules_are_opt_in():
    expert = ExpertRecord(id=1, training_ok=None, categories=frozenset({8}))
    sub = SubmissionRecord(id=1, category=9)
    assert _codes(expert, sub) == []
    strict = Rules(require_training=True, require_category=True)
    found = eligibility(expert, sub, strict, TODAY)
    assert [(x.code, x.params) for x in found] == [
        ("training_missing", {"training": "unknown"}),
        ("category_mismatch", {"category": 9}),
    ]
    assert (
        _codes(ExpertRecord(id=1, training_ok=True, categories=frozenset({9})), sub, strict) == []
    )


def test_all_reasons_are_reported_in_code_order():
    expert = ExpertRecord(
        id=1, institution_id=3, status="retired", load_this_year=12, past_employers=((3, None),)
    )
    found = _codes(expert, SubmissionRecord(id=1, applicant_institution_id=3))
    assert found == ["not_active", "same_institution", "recent_employment", "load_cap"]
    assert found == [c for c in CODES if c in found]


def test_employment_cutoff_on_leap_day():
    assert employment_cutoff(date(2024, 2, 29), 3) == date(2021, 2, 28)
    assert normalize_gbw(" gbw（e） 08 0123 ") == "GBW(E)080123"


# --- the vectorised form agrees with the scalar one -----------------------------------------------

# Coarse dates so that boundaries (cutoff day, term end = window end...) are hit often.
DAYS = st.builds(
    date, st.integers(2020, 2026), st.sampled_from([1, 6]), st.sampled_from([1, 2, 28])
)
OPT_DAY = st.one_of(st.none(), DAYS)
INST = st.integers(0, 4)
PERSONS = st.frozensets(st.sampled_from(["a", "b", "c"]), max_size=2)
RMS = st.frozensets(st.sampled_from(["GBW 01001", "GBW(E)080001", "gbw 02002"]), max_size=2)
# Spellings that match certainly, possibly (common name, initials, a Chinese name and its
# pinyin: 张伟民 ~ Weimin Zhang, 单伟 ~ Shan Wei) or not at all (单伟 / Dan Wei).
NAMES = st.sampled_from(
    ["欧阳建国", "欧阳 建国", "张伟", "Jianguo Ouyang", "J. Ouyang", "Qiu Xiao-Ming", "Qiu Xiaoming",
     "Zhang Wei", "W. Zhang", "Li Hong", "张伟民", "张 伟民", "Weimin Zhang", "ZHANG Wei-Min",
     "W.M. Zhang", "单伟", "Shan Wei", "Dan Wei", "邱晓明"]
)  # fmt: skip
PAPERS = st.lists(
    st.tuples(NAMES, st.sampled_from(["P1", "P2"]), st.one_of(st.none(), st.integers(2012, 2027))),
    max_size=3,
).map(tuple)
DOMAINS = st.frozensets(
    st.sampled_from(["nim.ac.cn", "mail.nim.ac.cn", "ac.cn", "qq.com", "vip.qq.com", "cas.cn",
                     "163.com", "b.cas.cn"]),
    max_size=2,
)  # fmt: skip
RELATIONS = st.lists(st.tuples(NAMES, st.sampled_from(["advisor", "student"])), max_size=2).map(
    tuple
)


@st.composite
def periods(draw):
    start = draw(DAYS)
    return start, start + timedelta(days=draw(st.sampled_from([0, 1, 30, 400])))


experts_strategy = st.builds(
    ExpertRecord,
    id=st.just(0),
    institution_id=st.one_of(st.none(), INST),
    province=st.sampled_from([None, "BJ", "SH"]),
    status=st.sampled_from(["active", "active", "suspended"]),
    term_start=OPT_DAY,
    term_end=OPT_DAY,
    unavailable=st.lists(periods(), max_size=2).map(tuple),
    conflict_institution_ids=st.frozensets(INST, max_size=2),
    conflict_persons=PERSONS,
    developed_rms=RMS,
    past_employers=st.lists(st.tuples(INST, OPT_DAY), max_size=2).map(tuple),
    load_this_year=st.integers(0, 12),
    metrology_competent=st.booleans(),
    training_ok=st.sampled_from([None, True, False]),
    training_lapsed=st.booleans(),
    categories=st.frozensets(st.integers(1, 13), max_size=3),
    under_investigation=st.booleans(),
    coauthors=PAPERS,
    email_domains=DOMAINS,
    relations=RELATIONS,
)


@st.composite
def submissions(draw):
    start = draw(OPT_DAY)
    end = draw(OPT_DAY)
    if start and end and end < start:
        start, end = end, start
    return SubmissionRecord(
        id=1,
        applicant_institution_id=draw(st.one_of(st.none(), INST)),
        co_applicant_institution_ids=draw(st.frozensets(INST, max_size=1)),
        rm_numbers=draw(RMS),
        window_start=start,
        window_end=end,
        category=draw(st.one_of(st.none(), st.integers(1, 13))),
        related_people=draw(PERSONS),
        developer_expert_ids=draw(st.frozensets(st.integers(0, 30), max_size=2)),
        named_people=tuple(draw(st.lists(NAMES, max_size=2))),
        contact_domains=draw(DOMAINS),
    )


rules_strategy = st.builds(
    Rules,
    years_since_employment=st.integers(0, 4),
    load_cap_per_year=st.integers(0, 12),
    require_training=st.booleans(),
    training_lapsed_blocks=st.booleans(),
    require_category=st.booleans(),
    exclude_under_investigation=st.booleans(),
    coauthor_years=st.sampled_from([None, 0, 3, 5]),
    email_domain_recusal=st.booleans(),
    free_mail_domains=st.sampled_from([("qq.com", "163.com"), ("qq.com",), ()]),
)


@settings(database=None, max_examples=400, deadline=None)
@given(
    st.lists(experts_strategy, min_size=1, max_size=25),
    st.lists(submissions(), min_size=1, max_size=3),
    rules_strategy,
    DAYS,
)
def test_table_agrees_with_scalar_code_by_code(experts, subs, rules, today):
    experts = [ExpertRecord(**{**_fields(e), "id": i}) for i, e in enumerate(experts)]
    table = ExpertTable.from_records(experts)
    for sub in subs:
        masks = exclusion_masks(table, sub, rules, today)
        assert set(masks) == set(CODES)
        for row, expert in enumerate(experts):
            scalar = {x.code for x in eligibility(expert, sub, rules, today)}
            vector = {code for code, mask in masks.items() if mask[row]}
            assert scalar == vector, (expert, sub)
        expected = [not eligibility(e, sub, rules, today) for e in experts]
        assert eligible_mask(table, sub, rules, today).tolist() == expected


@settings(database=None, max_examples=300, deadline=None)
@given(experts_strategy, submissions(), rules_strategy, DAYS)
def test_possible_matches_never_exclude(expert, sub, rules, today):
    """Only a CERTAIN name match excludes, and it is always within one script: dropping every
    co-author and declared person who matches the applicant's people only POSSIBLY (a common
    name, initials, a Chinese name and its pinyin) changes no exclusion and no evidence; each
    warning pairs two names that match POSSIBLY."""
    people = sub.named_people

    def certain(name: str) -> bool:
        return any(match(name, person) == CERTAIN for person in people)

    for name in [a for a, _t, _y in expert.coauthors] + [n for n, _r in expert.relations]:
        for person in people:
            if match(name, person) == CERTAIN:
                assert _has_han(name) == _has_han(person), (name, person)
    kept = ExpertRecord(
        **{
            **_fields(expert),
            "coauthors": tuple(c for c in expert.coauthors if certain(c[0])),
            "relations": tuple(r for r in expert.relations if certain(r[0])),
        }
    )
    assert eligibility(kept, sub, rules, today) == eligibility(expert, sub, rules, today)
    for warning in possible_conflicts(expert, sub, rules, today):
        name = warning.params.get("author") or warning.params["declared"]
        assert match(name, warning.params["person"]) == POSSIBLE


def _has_han(name: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in name)


def _fields(expert: ExpertRecord) -> dict:
    return {name: getattr(expert, name) for name in ExpertRecord.__slots__}


def test_top_eligible_skips_excluded_and_breaks_ties_by_row():
    experts = [ExpertRecord(id=10 + i, institution_id=i) for i in range(6)]
    table = ExpertTable.from_records(experts)
    sub = SubmissionRecord(id=1, applicant_institution_id=0)  # row 0 is excluded
    scores = np.array([9.0, 0.5, 0.7, 0.7, np.nan, 0.1])
    rows = top_eligible(table, scores, sub, RULES, TODAY, k=3)
    assert rows.tolist() == [2, 3, 1]
    assert table.ids[rows].tolist() == [12, 13, 11]
    assert table.round_capacity(Rules(load_cap_per_round=2)).tolist() == [2] * 6
