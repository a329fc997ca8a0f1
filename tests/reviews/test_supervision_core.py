"""The supervision figures on a constructed data set whose answers were worked out by hand.

Three submissions (D = 2026-01-01; lateness = submitted - due):
  S1 (category 8, round 1): e1 approve, -2 days, rated 4, 300 chars; e2 approve, +5, rated 2,
      100 chars; e3 reject, 0, rated 5, 500 chars. Majority: approve (2 of 3), e3 against.
  S2 (category 8, round 1): e1 revise, +5, rated 4, 200 chars; e2 revise, +10, rated 1, 50 chars;
      e4 approve, -1, not rated, 250 chars. Majority: revise, e4 against.
  S3 (category 10, round 2): e1 approve, 0, rated 5, 400; e3 reject, -1, rated 3, 400; e4
      declined after 3 days. A 1-1 tie: no majority, nobody comparable.
"""

from __future__ import annotations

import datetime as dt

import pytest

from expertpool.reviews import supervision as sv

D = dt.date(2026, 1, 1)


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def rec(aid, expert, sub, cat, rnd, inv, ans, due, sent, recm, rating, length):
    return sv.ReviewRecord(
        assignment_id=aid,
        expert_id=expert,
        submission_id=sub,
        category=cat,
        round_id=rnd,
        invited_on=day(inv),
        answered_on=day(ans),
        due_on=day(due),
        review_id=aid if sent is not None else None,
        submitted_on=day(sent) if sent is not None else None,
        recommendation=recm,
        rating=rating,
        length=length,
    )


RECORDS = [
    rec(1, 1, 1, 8, 1, 0, 2, 30, 28, "approve", 4, 300),
    rec(2, 2, 1, 8, 1, 0, 4, 30, 35, "approve", 2, 100),
    rec(3, 3, 1, 8, 1, 0, 1, 30, 30, "reject", 5, 500),
    rec(4, 1, 2, 8, 1, 10, 11, 40, 45, "revise", 4, 200),
    rec(5, 2, 2, 8, 1, 10, 16, 40, 50, "revise", 1, 50),
    rec(6, 4, 2, 8, 1, 10, 12, 40, 39, "approve", None, 250),
    rec(7, 1, 3, 10, 2, 20, 21, 50, 50, "approve", 5, 400),
    rec(8, 3, 3, 10, 2, 20, 20, 50, 49, "reject", 3, 400),
    rec(9, 4, 3, 10, 2, 20, 23, 50, None, None, None, 0),
]


def rows_by_expert(report: sv.Report) -> dict[int, sv.ExpertRow]:
    return {row.expert_id: row for row in report.experts}


def test_per_review_facts_majority_and_length_against_peers() -> None:
    facts = {f.record.assignment_id: f for f in sv.review_facts(RECORDS)}
    assert facts[3].majority == "approve" and facts[3].against is True
    assert facts[1].against is False
    assert facts[6].against is True
    assert facts[7].majority is None and facts[7].against is None  # the S3 tie
    assert facts[9].against is None and facts[9].lateness is None and facts[9].answer_days == 3
    # ratio to the median of the other reviews of the same submission
    assert facts[1].length_ratio == pytest.approx(300 / 300)
    assert facts[2].length_ratio == pytest.approx(100 / 400)
    assert facts[3].length_ratio == pytest.approx(500 / 200)
    assert facts[5].length_ratio == pytest.approx(50 / 225)
    assert facts[2].lateness == 5 and facts[1].lateness == -2 and facts[3].lateness == 0


def test_expert_figures_by_hand() -> None:
    rows = rows_by_expert(sv.report(RECORDS, sv.Filters(min_reviews=1)))
    e1, e2, e3, e4 = rows[1].figures, rows[2].figures, rows[3].figures, rows[4].figures
    assert (e1.invitations, e1.reviews) == (3, 3)
    assert e1.answer_days_mean == pytest.approx(4 / 3) and e1.answer_days_median == 1
    assert (e1.with_due, e1.late, e1.late_share, e1.mean_days_late) == (3, 1, 1 / 3, 5)
    assert e1.ratings == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1} and e1.mean_rating == pytest.approx(13 / 3)
    assert (e1.comparable, e1.against, e1.against_share) == (2, 0, 0)
    assert e1.length_ratio == pytest.approx(1.0)
    assert (e2.late_share, e2.mean_days_late, e2.mean_rating) == (1.0, 7.5, 1.5)
    assert e2.length_ratio == pytest.approx((0.25 + 50 / 225) / 2)
    assert e2.answer_days_median == 5
    assert (e3.late, e3.mean_days_late, e3.against_share) == (0, None, 1.0)
    assert e3.length_ratio == pytest.approx(1.75)
    assert (e4.invitations, e4.reviews, e4.rated, e4.mean_rating) == (2, 1, 0, None)
    assert e4.answer_days_mean == 2.5 and e4.against_share == 1.0


def test_overall_figures_and_histograms_by_hand() -> None:
    report = sv.report(RECORDS, sv.Filters())
    o = report.overall
    assert (o.invitations, o.reviews, o.with_due, o.late) == (9, 8, 8, 3)
    assert o.late_share == pytest.approx(3 / 8)
    assert o.mean_days_late == pytest.approx(20 / 3)
    assert o.rated == 7 and o.mean_rating == pytest.approx(24 / 7)
    assert o.ratings == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}
    assert (o.comparable, o.against) == (6, 2)
    assert dict(report.lateness_histogram) == {
        "early_15": 0,
        "early_1_14": 3,
        "on_day": 2,
        "late_1_7": 2,
        "late_8_30": 1,
        "late_31": 0,
    }
    assert list(report.categories) == [8, 10]
    assert report.categories[8].reviews == 6 and report.categories[8].late_share == 0.5
    assert report.categories[10].reviews == 2 and report.categories[10].invitations == 3
    assert report.categories[10].late_share == 0


def test_outliers_with_the_default_rules() -> None:
    report = sv.report(RECORDS, sv.Filters(min_reviews=2))
    assert [row.expert_id for row in report.experts] == [2, 3, 1]  # flagged first; e4 too few
    flags = {row.expert_id: {f.code: f for f in row.flags} for row in report.experts}
    assert set(flags[2]) == {"late", "slow_answer", "low_rating", "short"}
    assert flags[2]["late"].rule == "limit" and flags[2]["late"].limit == 0.5
    # slow answers have no absolute limit: median answer days 1, 5, 0.5 -> median 1, MAD 0.5
    slow = flags[2]["slow_answer"]
    assert slow.rule == "robust" and slow.median == 1
    assert slow.z == pytest.approx(4 / (1.4826 * 0.5))
    assert set(flags[3]) == {"against"} and flags[1] == {}


def test_thresholds_are_configurable() -> None:
    strict = sv.Thresholds(late_share=0.3, against_share=1.01, z=100)
    flags = {
        row.expert_id: {f.code for f in row.flags}
        for row in sv.report(RECORDS, sv.Filters(min_reviews=2), strict).experts
    }
    assert flags[1] == {"late"}  # 1 of 3 late passes 0.3
    assert "against" not in flags[3] and "slow_answer" not in flags[2]


def test_robust_z_uses_mad_and_falls_back_to_mean_deviation() -> None:
    med, z = sv.robust_z([1, 2, 3, 4, 100])
    assert med == 3 and z(100) == pytest.approx(97 / 1.4826)
    med, z = sv.robust_z([0, 0, 0, 0, 1])  # MAD 0: mean absolute deviation 0.2 stands in
    assert med == 0 and z(1) == pytest.approx(1 / (1.2533 * 0.2))
    rows = [
        sv.ExpertRow(i, sv.Figures(answer_days_median=v)) for i, v in enumerate([0, 0, 0, 0, 1])
    ]
    sv.flag_outliers(rows, sv.Thresholds())
    assert [bool(r.flags) for r in rows] == [False, False, False, False, True]
    _med, flat = sv.robust_z([2, 2, 2])
    assert flat(2) == 0


@pytest.mark.parametrize(
    ("filters", "assignments"),
    [
        (sv.Filters(category=10), {7, 8, 9}),
        (sv.Filters(round_id=1), {1, 2, 3, 4, 5, 6}),
        (sv.Filters(date_from=day(10)), {4, 5, 6, 7, 8, 9}),
        (sv.Filters(date_to=day(10)), {1, 2, 3, 4, 5, 6}),
        (sv.Filters(date_from=day(5), date_to=day(15), category=8), {4, 5, 6}),
    ],
)
def test_filters(filters: sv.Filters, assignments: set[int]) -> None:
    report = sv.report(RECORDS, filters)
    assert {f.record.assignment_id for f in report.facts} == assignments


def test_filters_keep_the_whole_panel_for_majority_and_peers() -> None:
    """A period that cuts a panel still judges each kept review against its whole panel."""
    cut = [r for r in RECORDS if r.assignment_id != 2] + [
        sv.ReviewRecord(**{**RECORDS[1].__dict__, "invited_on": day(-30)})
    ]
    facts = {f.record.assignment_id: f for f in sv.report(cut, sv.Filters(date_from=day(0))).facts}
    assert 2 not in facts
    assert facts[3].against is True and facts[3].length_ratio == pytest.approx(2.5)


def test_min_reviews_filters_the_table_not_the_totals() -> None:
    report = sv.report(RECORDS, sv.Filters(min_reviews=3))
    assert [row.expert_id for row in report.experts] == [1]
    assert report.overall.reviews == 8


def test_majority_needs_more_than_half() -> None:
    assert sv.majority(["a", "a", "b"]) == "a"
    assert sv.majority(["a", "b"]) is None
    assert sv.majority(["a", None, None]) is None
    assert sv.majority([]) is None


def test_spot_check_rules() -> None:
    assert sv.disagree(5, 3, gap=2) and not sv.disagree(2, 1, gap=2)
    assert sv.disagree(3, 2, gap=2)  # close, but "acceptable" against "poor"
    assert not sv.disagree(5, 4, gap=2) and not sv.disagree(None, 3, gap=1)
    assert sv.disagree(5, 4, gap=1)
    first = sv.sample(range(1, 21), 5, seed=42)
    assert first == sv.sample(reversed(range(1, 21)), 5, seed=42) and len(first) == 5
    assert sv.sample([1, 2], 5, seed=1) == [1, 2] and sv.sample([1, 2], 0, seed=1) == []
