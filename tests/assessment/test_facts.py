"""The pure core of the annual assessment: facts from plain records, the suggested grade, the
consequences, the chart's counts (no app, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from expertpool.assessment import facts as F
from expertpool.assessment.rules import (
    GradedRow,
    SuggestionRules,
    consequence_of,
    counts_by,
    grades_from,
    stacked_bars,
    suggest,
)

D, T = dt.date, dt.datetime
GRADES = grades_from(
    [
        ("优秀", "Excellent", 5),
        ("合格", "Satisfactory", 4),
        ("基本合格", "Basically satisfactory", 3),
        ("不合格", "Unsatisfactory", 1),
    ]
)
RULES = SuggestionRules()


def a(status: str, due: dt.date | None = None, **kw) -> F.AssignmentRecord:
    return F.AssignmentRecord(status, due, **kw)


ASSIGNMENTS = [
    a("completed", D(2025, 3, 1), submitted_at=T(2025, 2, 20, 9)),  # on time
    a("completed", D(2025, 5, 1), submitted_at=T(2025, 5, 10, 9)),  # late
    a("completed", None, submitted_at=T(2025, 7, 1, 9)),  # no due date: on time
    a("completed", D(2024, 12, 20), submitted_at=T(2025, 1, 5, 9)),  # last year's, late, in 2025
    a("completed", D(2024, 6, 30), submitted_at=T(2024, 6, 1, 9)),  # another year
    a("accepted", D(2025, 11, 1)),  # overdue at the year's end
    a("accepted", D(2026, 1, 15)),  # not due yet
    a("declined", responded_at=T(2025, 4, 1, 9), decline_reason="出差"),
    a("declined", responded_at=T(2024, 4, 1, 9), decline_reason="去年"),
    a("declined", responded_at=T(2025, 9, 9, 9)),
]
CERTS = [
    F.CertificateRecord(1, D(2025, 3, 1), 8.0, counts=True),
    F.CertificateRecord(2, D(2024, 5, 1), 4.0, counts=True),  # counts, but last year's hours
    F.CertificateRecord(3, D(2025, 6, 1), 2.0, revoked=True),
]
REQUIRED = [
    F.RequiredCourse(1, "ISO 17034"),
    F.RequiredCourse(2, "不确定度"),
    F.RequiredCourse(9, "审评规则"),
]


def known() -> F.Facts:
    return F.gather(
        2025,
        assignments=ASSIGNMENTS,
        ratings=[4, 5, 3],
        certificates=CERTS,
        required=REQUIRED,
        file_updated=D(2025, 2, 1),
        contributed={"violations": [{"date": "2025-06-01", "kind": "leak"}], "praise": 1},
    )


def test_reviews_on_time_late_and_overdue_are_counted_in_the_year_submitted():
    f = known()
    assert (f.reviews_done, f.on_time, f.late, f.overdue_open) == (4, 2, 2, 1)
    assert f.late_share == 0.6  # (2 late + 1 overdue) / (4 done + 1 overdue)


def test_declines_of_the_year_with_their_reasons():
    f = known()
    assert f.declined == 2
    assert f.decline_reasons == ["出差"]


def test_ratings_training_file_and_contributed_facts():
    f = known()
    assert (f.ratings_count, f.rating_average) == (3, 4.0)
    assert f.training_hours == 8.0  # the revoked and last year's certificates do not count
    assert (f.required_total, f.required_done, f.required_missing) == (3, 2, ["审评规则"])
    assert not f.required_complete
    assert f.file_up_to_date
    assert f.violations == [{"date": "2025-06-01", "kind": "leak"}]
    assert f.contributed == {"praise": 1}
    assert f.as_dict()["required_complete"] is False


def test_an_earlier_day_judges_fewer_reviews_overdue_and_the_file_by_that_day():
    f = F.gather(2025, assignments=ASSIGNMENTS, as_of=D(2025, 10, 1), file_updated=D(2024, 9, 30))
    assert f.overdue_open == 0
    assert not f.file_up_to_date
    assert F.gather(2025, file_updated=D(2024, 10, 2), as_of=D(2025, 10, 1)).file_up_to_date


def test_nothing_happened_gives_empty_facts():
    f = F.gather(2025)
    assert (f.reviews_done, f.late_share, f.rating_average, f.training_hours) == (0, None, None, 0)
    assert f.required_complete  # nothing is required
    assert not f.file_up_to_date  # no date known


def test_months_before_keeps_to_the_months_last_day():
    assert F.months_before(D(2025, 3, 31), 1) == D(2025, 2, 28)
    assert F.months_before(D(2025, 12, 31), 12) == D(2024, 12, 31)
    assert F.months_before(D(2024, 2, 29), 12) == D(2023, 2, 28)


def test_suggestions_from_the_rules():
    base = {
        "reviews_done": 3,
        "late": 0,
        "overdue_open": 0,
        "late_share": 0.0,
        "rating_average": 4.8,
        "required_complete": True,
        "file_up_to_date": True,
    }
    assert suggest(base, GRADES, RULES).grade == "优秀"
    assert suggest({**base, "rating_average": 4.0}, GRADES, RULES).grade == "合格"
    weak = suggest({**base, "required_complete": False, "required_missing": ["x"]}, GRADES, RULES)
    assert weak.grade == "基本合格" and weak.reasons == (("training_missing", 1),)
    late = suggest(known().as_dict(), GRADES, RULES)
    assert late.grade == "不合格"
    assert dict(late.reasons) == {"violations": 1, "late_share": 0.6}
    assert suggest({**base, "rating_average": 1.5}, GRADES, RULES).grade == "不合格"


def test_thresholds_and_grade_names_come_from_the_settings():
    rules = SuggestionRules.from_config({"basic_late_share": 0.05, "unknown": 1})
    facts = {"late_share": 0.1, "required_complete": True, "file_up_to_date": True}
    assert suggest(facts, GRADES, rules).grade == "基本合格"
    three = grades_from([("好", "Good", 5), ("中", "Fair", 3), ("差", "Poor", 1)])
    assert suggest({**facts, "late_share": 0.9}, three, rules).grade == "差"
    assert suggest({**facts, "late_share": 0.1}, three, rules).grade == "中"
    with pytest.raises(ValueError):
        grades_from([("好", "Good", 5)])
    with pytest.raises(ValueError):
        grades_from([("好", "Good", 5), ("差", "Poor", 0)])


def test_consequences():
    rules = {"不合格": "suspend", "基本合格": "nap"}
    assert consequence_of("不合格", rules) == "suspend"
    assert consequence_of("合格", rules) is None
    with pytest.raises(ValueError):
        consequence_of("基本合格", rules)


def test_chart_counts_by_category_and_province():
    rows = [
        GradedRow("合格", (8, 10), "北京市"),
        GradedRow("不合格", (8,), "上海市"),
        GradedRow("合格", (10,), "北京市"),
        GradedRow(None, (8,), "北京市"),  # not graded yet: left out
    ]
    assert counts_by(rows, "category") == {8: {"合格": 1, "不合格": 1}, 10: {"合格": 2}}
    assert counts_by(rows, "province") == {"上海市": {"不合格": 1}, "北京市": {"合格": 2}}
    bars = stacked_bars(counts_by(rows, "category"), ["优秀", "合格", "基本合格", "不合格"])
    assert [b["total"] for b in bars] == [2, 2]
    first = bars[0]["segments"]
    assert [(s["grade"], s["x"], s["w"]) for s in first] == [
        ("合格", 0.0, 50.0),
        ("不合格", 50.0, 50.0),
    ]
