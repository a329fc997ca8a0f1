"""build_panel: exact against brute force, never breaks a rule, sensible alternates."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertpool.core.assignment import (
    ExpertRecord,
    Rules,
    SubmissionRecord,
    build_panel,
    eligibility,
)

TODAY = date(2025, 6, 1)


def _expert(i: int, inst: int | None, prov: str | None, met: bool, **kw) -> ExpertRecord:
    return ExpertRecord(id=i, institution_id=inst, province=prov, metrology_competent=met, **kw)


def _valid(panel: list[ExpertRecord], rules: Rules) -> bool:
    insts = [e.institution_id for e in panel if e.institution_id is not None]
    if rules.one_per_institution and len(set(insts)) < len(insts):
        return False
    provinces = Counter(e.province for e in panel if e.province is not None)
    cap = rules.max_per_province
    return cap is None or all(v <= cap for v in provinces.values())


def _brute_force(experts: list[ExpertRecord], scores: dict[int, float], rules: Rules):
    """Best key (seats, metrology capped at the minimum, total score) over all valid subsets."""
    best = (0, 0, 0.0)
    for r in range(1, rules.panel_size + 1):
        for combo in itertools.combinations(experts, r):
            if _valid(list(combo), rules):
                met = min(sum(e.metrology_competent for e in combo), rules.min_metrology)
                key = (r, met, math.fsum(scores[e.id] for e in combo))
                best = max(best, key)
    return best


def _key(panel, rules: Rules):
    met = min(sum(m.metrology_competent for m in panel.members), rules.min_metrology)
    return len(panel.members), met, panel.total_score


pool_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 4)),  # institution
        st.one_of(st.none(), st.sampled_from(["BJ", "SH", "GD", "JS", "ZJ", "SC"])),  # province
        st.booleans(),  # metrology
        st.one_of(st.integers(-3, 10).map(float), st.floats(-1, 1, allow_nan=False)),  # score
    ),
    min_size=0,
    max_size=12,
)
rules_strategy = st.builds(
    Rules,
    panel_size=st.integers(3, 4),
    min_metrology=st.integers(0, 2),
    max_per_province=st.one_of(st.none(), st.integers(1, 2)),
    one_per_institution=st.booleans(),
)


@settings(
    database=None, max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(pool_strategy, rules_strategy)
def test_build_panel_matches_brute_force(rows, rules):
    experts = [_expert(i, inst, prov, met) for i, (inst, prov, met, _) in enumerate(rows)]
    scores = {i: s for i, (*_, s) in enumerate(rows)}
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    panel = build_panel(ranked, {e.id: e for e in experts}, rules)
    members = [experts[m.expert_id] for m in panel.members]
    assert panel.optimal
    assert len(members) <= rules.panel_size
    assert len({e.id for e in members}) == len(members)
    assert _valid(members, rules)
    seats, met, total = _key(panel, rules)
    best = _brute_force(experts, scores, rules)
    assert (seats, met) == best[:2]
    assert math.isclose(total, best[2], abs_tol=1e-9)
    assert ("panel_size" in panel.unmet) == (seats < rules.panel_size)
    assert ("min_metrology" in panel.unmet) == (met < rules.min_metrology)


@settings(database=None, max_examples=300, deadline=None)
@given(pool_strategy, rules_strategy)
def test_alternates_can_really_replace(rows, rules):
    experts = {i: _expert(i, inst, prov, met) for i, (inst, prov, met, _) in enumerate(rows)}
    ranked = sorted(((i, s) for i, (*_, s) in enumerate(rows)), key=lambda kv: -kv[1])
    panel = build_panel(ranked, experts, rules, max_alternates=None)
    members = [experts[i] for i in panel.member_ids]
    met_now = sum(e.metrology_competent for e in members)
    scores = [a.score for a in panel.alternates]
    assert scores == sorted(scores, reverse=True)
    alternates = {a.expert_id for a in panel.alternates}
    for candidate in set(experts) - set(panel.member_ids):
        swaps = [
            out
            for out in panel.member_ids
            if _valid([e for e in members if e.id != out] + [experts[candidate]], rules)
            and sum(e.metrology_competent for e in members if e.id != out)
            + experts[candidate].metrology_competent
            >= min(rules.min_metrology, met_now)
        ]
        assert (candidate in alternates) == bool(swaps)
        for alt in panel.alternates:
            if alt.expert_id == candidate:
                assert set(alt.replaces) == set(swaps)


def test_prefers_metrology_over_a_higher_total():
    rules = Rules(panel_size=3, min_metrology=1)
    experts = {i: _expert(i, i, None, met=(i == 4)) for i in range(5)}
    panel = build_panel([(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6), (4, 0.1)], experts, rules)
    assert panel.member_ids == (0, 1, 4)
    assert panel.unmet == []
    assert [a.expert_id for a in panel.alternates] == [2, 3]
    assert all(a.replaces == (0, 1) for a in panel.alternates)  # never the only metrologist


def test_same_institution_and_province_cap():
    rules = Rules(panel_size=3, min_metrology=0, max_per_province=2)
    experts = {
        1: _expert(1, 10, "BJ", False),
        2: _expert(2, 10, "BJ", False),
        3: _expert(3, 11, "BJ", False),
        4: _expert(4, 12, "BJ", False),
        5: _expert(5, 13, "SH", False),
    }
    panel = build_panel([(1, 5), (2, 4), (3, 3), (4, 2), (5, 1)], experts, rules)
    assert panel.member_ids == (1, 3, 5)
    assert panel.total_score == 9


def test_reports_unmet_when_no_valid_panel():
    rules = Rules(panel_size=3, min_metrology=1)
    experts = {
        1: _expert(1, 7, None, False),
        2: _expert(2, 7, None, False),
        3: _expert(3, 8, None, False),
    }
    panel = build_panel([(1, 0.5), (2, 0.4), (3, 0.3)], experts, rules)
    assert panel.member_ids == (1, 3)
    assert panel.unmet == ["panel_size", "min_metrology"]


def test_filters_ineligible_candidates_when_given_the_submission():
    rules = Rules(panel_size=3, min_metrology=0)
    experts = {i: _expert(i, i, None, False) for i in range(5)}
    experts[0] = _expert(0, 99, None, False)  # applicant's own institution
    experts[1] = _expert(1, 1, None, False, status="suspended")
    submission = SubmissionRecord(id=1, applicant_institution_id=99)
    ranked = [(i, 1.0 - i / 10) for i in range(5)]
    panel = build_panel(ranked, experts, rules, submission=submission, today=TODAY)
    assert panel.member_ids == (2, 3, 4)
    assert all(not eligibility(experts[i], submission, rules, TODAY) for i in panel.member_ids)
    assert [m.expert_id for m in build_panel(ranked, experts, rules).members] == [0, 1, 2]


def test_large_candidate_list_is_fast_and_exact_on_structure():
    # 60 candidates, many shared institutions and few metrologists: must stay exact and quick.
    rules = Rules(panel_size=7, min_metrology=3, max_per_province=2)
    provinces = ["BJ", "SH", "GD", "JS"]
    experts = {i: _expert(i, i % 9, provinces[i % 4], met=(i % 11 == 0)) for i in range(60)}
    ranked = [(i, 1.0 - i / 100) for i in range(60)]
    panel = build_panel(ranked, experts, rules)
    members = [experts[i] for i in panel.member_ids]
    assert panel.optimal
    assert len(members) == 7
    assert sum(e.metrology_competent for e in members) == 3
    assert _valid(members, rules)


record_strategy = st.builds(
    ExpertRecord,
    id=st.just(0),
    institution_id=st.one_of(st.none(), st.integers(0, 5)),
    province=st.sampled_from([None, "BJ", "SH", "GD"]),
    status=st.sampled_from(["active", "active", "active", "retired"]),
    conflict_institution_ids=st.frozensets(st.integers(0, 5), max_size=1),
    developed_rms=st.sampled_from([frozenset(), frozenset({"GBW 01001"})]),
    past_employers=st.lists(st.tuples(st.integers(0, 5), st.none()), max_size=1).map(tuple),
    load_this_year=st.integers(8, 10),
    metrology_competent=st.booleans(),
)


@settings(
    database=None, max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(st.tuples(record_strategy, st.floats(0, 1, allow_nan=False)), max_size=14),
    st.builds(
        SubmissionRecord,
        id=st.just(1),
        applicant_institution_id=st.integers(0, 5),
        rm_numbers=st.sampled_from([frozenset(), frozenset({"GBW01001"})]),
    ),
    rules_strategy,
)
def test_build_panel_never_breaks_a_rule(rows, submission, rules):
    experts = {
        i: ExpertRecord(**{**{k: getattr(r, k) for k in ExpertRecord.__slots__}, "id": i})
        for i, (r, _) in enumerate(rows)
    }
    ranked = [(i, score) for i, (_, score) in enumerate(rows)]
    panel = build_panel(ranked, experts, rules, submission=submission, today=TODAY)
    members = [experts[i] for i in panel.member_ids]
    assert len(members) <= rules.panel_size
    assert _valid(members, rules)
    assert all(eligibility(e, submission, rules, TODAY) == [] for e in members)
    met = sum(e.metrology_competent for e in members)
    assert ("min_metrology" in panel.unmet) == (met < rules.min_metrology)
    eligible = [e for e in experts.values() if not eligibility(e, submission, rules, TODAY)]
    if met < rules.min_metrology:  # then no eligible metrologist could have been fitted in
        spare = [e for e in eligible if e.metrology_competent and e.id not in panel.member_ids]
        options = []
        for e in spare:
            if len(members) < rules.panel_size:
                options.append([*members, e])
            options += [
                [m for m in members if m.id != out.id] + [e]
                for out in members
                if not out.metrology_competent
            ]
        assert not any(_valid(option, rules) for option in options)
    for alt in panel.alternates:
        assert eligibility(experts[alt.expert_id], submission, rules, TODAY) == []
