"""courses.search.ranking: how passage hits roll up to a course order, by known answers."""

from __future__ import annotations

import math

import pytest

from courses.search.ranking import course_of, course_order, rank_courses, roll_up


def test_course_of_reads_the_slug_of_a_passage_id() -> None:
    assert course_of("a-stability:44:1") == "a-stability"
    assert course_of("b-qc-pt:course:0") == "b-qc-pt"


def test_roll_up_known_answers() -> None:
    assert roll_up([0.2, 0.9, 0.5], "max") == 0.9
    assert roll_up([0.2, 0.9, 0.5], "top2") == pytest.approx(0.7)
    assert roll_up([0.9], "top2") == pytest.approx(0.45)  # a missing second passage counts 0
    # log-sum-exp: t * log(sum(exp(s / t)))
    assert roll_up([0.5, 0.5], "lme", temperature=0.1) == pytest.approx(0.5 + 0.1 * math.log(2))
    assert roll_up([0.5], "lme", temperature=0.1) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        roll_up([0.5], "mean")
    with pytest.raises(ValueError):
        roll_up([], "max")


def test_lme_stays_finite_for_large_scores_and_between_max_and_max_plus_t_log_n() -> None:
    scores = [1000.0, 999.0, 998.0]
    value = roll_up(scores, "lme", temperature=1.0)
    assert 1000.0 < value < 1000.0 + math.log(3)


def test_top2_prefers_two_good_passages_to_one_lucky_one() -> None:
    hits = [("lucky:1:0", 0.95), ("solid:1:0", 0.90), ("solid:2:0", 0.85), ("lucky:2:0", 0.1)]
    assert [c for c, _ in rank_courses(hits, "max")] == ["lucky", "solid"]
    assert [c for c, _ in rank_courses(hits, "top2")] == ["solid", "lucky"]
    scores = dict(rank_courses(hits, "top2"))
    assert scores["solid"] == pytest.approx(0.875) and scores["lucky"] == pytest.approx(0.525)


def test_lme_temperature_is_relative_to_the_best_score() -> None:
    """RRF's scores are ~1/60 and score fusion's 0..1: one temperature serves both."""
    hits = [("a:1:0", 1.0), ("b:1:0", 0.98), ("b:2:0", 0.97), ("a:2:0", 0.2)]
    small = [(d, s / 60) for d, s in hits]
    assert [c for c, _ in rank_courses(hits, "lme")] == [c for c, _ in rank_courses(small, "lme")]


def test_ties_keep_the_order_of_first_sight() -> None:
    hits = [("b:1:0", 0.5), ("a:1:0", 0.5)]
    assert [c for c, _ in rank_courses(hits, "max")] == ["b", "a"]


def test_course_order_regroups_items_and_keeps_their_order_within_a_course() -> None:
    items = [("x:1:0", 0.9), ("y:1:0", 0.8), ("y:2:0", 0.8), ("x:2:0", 0.1), ("z:1:0", 0.7)]
    by_max = course_order(items, lambda i: i[0], lambda i: i[1], "max")
    assert [d for d, _ in by_max] == ["x:1:0", "x:2:0", "y:1:0", "y:2:0", "z:1:0"]
    by_top2 = course_order(items, lambda i: i[0], lambda i: i[1], "top2")
    assert [d for d, _ in by_top2] == ["y:1:0", "y:2:0", "x:1:0", "x:2:0", "z:1:0"]
    assert course_order([], lambda i: i[0], lambda i: i[1], "top2") == []


def test_course_order_of_a_page_scores_courses_over_all_candidates() -> None:
    """Page 1 keeps its items; the course order comes from every candidate."""
    candidates = [("x:1:0", 0.9), ("y:1:0", 0.8), ("y:2:0", 0.8), ("x:2:0", 0.1)]
    page = candidates[:2]
    ordered = course_order(page, lambda i: i[0], lambda i: i[1], "top2", over=candidates)
    assert ordered == [("y:1:0", 0.8), ("x:1:0", 0.9)]
    # an item of a course missing from `over` goes last rather than failing
    odd = course_order([("z:1:0", 1.0), *page], lambda i: i[0], lambda i: i[1], over=page)
    assert [d for d, _ in odd] == ["x:1:0", "y:1:0", "z:1:0"]
