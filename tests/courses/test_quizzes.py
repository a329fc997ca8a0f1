"""Quiz attempts: random draw per attempt, time limit, late answers, attempt limit, grading."""

from __future__ import annotations

import datetime as dt

import pytest

from courses import operations as ops
from courses import queries
from courses.demo import right_answers
from courses.errors import AttemptLimitReached, CourseError
from courses.grading import draw
from expertpool.db import db, utcnow
from tests.courses.conftest import T0


def _bank(n):
    return [
        {"kind": "truefalse", "text": f"陈述 {i}", "answer": True, "explanation": f"解释 {i}"}
        for i in range(n)
    ]


def test_each_attempt_draws_with_its_own_stored_seed(enrollment):
    e = enrollment(questions=_bank(12), quiz={"draw_size": 5, "attempt_limit": None})
    first = ops.start_attempt(db.session, e, now=T0, seed=11)
    assert len(first.question_ids) == 5 and first.seed == 11
    bank_ids = [q.id for q in e.course.active_questions]
    assert first.question_ids == draw(bank_ids, 5, 11)  # reproducible from the stored seed
    ops.submit_attempt(db.session, first, {}, now=T0)
    second = ops.start_attempt(db.session, e, now=T0, seed=12)
    assert second.number == 2 and second.question_ids != first.question_ids


def test_random_seed_when_none_given(enrollment):
    e = enrollment(questions=_bank(30), quiz={"draw_size": 10, "attempt_limit": None})
    seeds, draws = set(), set()
    for _ in range(4):
        attempt = ops.start_attempt(db.session, e, now=T0)
        seeds.add(attempt.seed)
        draws.add(tuple(attempt.question_ids))
        ops.submit_attempt(db.session, attempt, {}, now=T0)
    assert len(seeds) == 4 and len(draws) > 1


def test_deadline_is_start_plus_time_limit(enrollment):
    e = enrollment(quiz={"time_limit": 20})
    attempt = ops.start_attempt(db.session, e, now=T0)
    assert attempt.deadline == T0 + dt.timedelta(minutes=20)
    untimed = ops.start_attempt(db.session, enrollment(quiz={"time_limit": None}), now=T0)
    assert untimed.deadline is None


def test_starting_again_returns_the_open_attempt(enrollment):
    e = enrollment()
    first = ops.start_attempt(db.session, e, now=T0)
    assert ops.start_attempt(db.session, e, now=T0 + dt.timedelta(minutes=5)) is first


def test_grading_of_a_mixed_sheet(enrollment):
    e = enrollment()
    attempt = ops.start_attempt(db.session, e, now=T0)
    by_kind = {q.kind: q for q in queries.questions_of(db.session, attempt)}
    form = {
        queries.field_name(by_kind["single"].id): ["1"],
        queries.field_name(by_kind["multiple"].id): ["0", "1"],  # one right option missing
        queries.field_name(by_kind["truefalse"].id): ["false"],
        queries.field_name(by_kind["fill"].id): ["  gbw "],
    }
    attempt, certificate = ops.submit_attempt(
        db.session, attempt, form, now=T0 + dt.timedelta(minutes=3)
    )
    assert attempt.status == "submitted" and attempt.correct == 3 and attempt.score == 75.0
    assert attempt.passed and certificate is not None  # lessons done, quiz passed
    assert attempt.results == {
        str(by_kind["single"].id): True,
        str(by_kind["multiple"].id): False,
        str(by_kind["truefalse"].id): True,
        str(by_kind["fill"].id): True,
    }


def test_failing_score_does_not_pass(enrollment):
    attempt = ops.start_attempt(db.session, enrollment(), now=T0)
    attempt, _ = ops.submit_attempt(db.session, attempt, {}, now=T0)
    assert attempt.score == 0 and not attempt.passed


def test_answers_within_the_grace_period_are_graded(enrollment):
    attempt = ops.start_attempt(db.session, enrollment(quiz={"time_limit": 10}), now=T0)
    form = right_answers(queries.questions_of(db.session, attempt))
    late_but_in_grace = T0 + dt.timedelta(minutes=10, seconds=20)
    attempt, _ = ops.submit_attempt(db.session, attempt, form, now=late_but_in_grace)
    assert attempt.status == "submitted" and attempt.passed


def test_answers_after_the_deadline_are_not_graded(enrollment):
    attempt = ops.start_attempt(db.session, enrollment(quiz={"time_limit": 10}), now=T0)
    form = right_answers(queries.questions_of(db.session, attempt))
    attempt, certificate = ops.submit_attempt(
        db.session, attempt, form, now=T0 + dt.timedelta(minutes=11)
    )
    assert attempt.status == "expired" and attempt.score == 0 and not attempt.passed
    assert certificate is None
    with pytest.raises(CourseError):  # and it cannot be submitted again
        ops.submit_attempt(db.session, attempt, form, now=T0 + dt.timedelta(minutes=11))


def test_an_abandoned_attempt_expires_and_counts(enrollment):
    e = enrollment(quiz={"time_limit": 10, "attempt_limit": 2})
    first = ops.start_attempt(db.session, e, now=T0)
    later = T0 + dt.timedelta(hours=1)
    second = ops.start_attempt(db.session, e, now=later)
    assert first.status == "expired" and second is not first and second.number == 2
    ops.submit_attempt(db.session, second, {}, now=later)
    with pytest.raises(AttemptLimitReached):
        ops.start_attempt(db.session, e, now=later)
    assert queries.remaining_attempts(db.session, e) == 0


def test_attempt_limit(enrollment):
    e = enrollment(quiz={"attempt_limit": 3})
    for _ in range(3):
        attempt = ops.start_attempt(db.session, e, now=T0)
        ops.submit_attempt(db.session, attempt, {}, now=T0)
    with pytest.raises(AttemptLimitReached) as refused:
        ops.start_attempt(db.session, e, now=T0)
    assert "3" in str(refused.value)


def test_no_new_attempt_after_passing(enrollment):
    e = enrollment()
    attempt = ops.start_attempt(db.session, e, now=T0)
    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt)), now=T0
    )
    with pytest.raises(CourseError):
        ops.start_attempt(db.session, e, now=T0)


def test_review_only_after_submission(enrollment):
    attempt = ops.start_attempt(db.session, enrollment(), now=utcnow())
    with pytest.raises(CourseError):
        queries.attempt_review(db.session, attempt)
    ops.submit_attempt(db.session, attempt, {})
    review = queries.attempt_review(db.session, attempt, reveal=True)
    assert {r["kind"] for r in review} == {"single", "multiple", "truefalse", "fill"}
    assert all(r["explanation"].startswith("EXPLAIN-") for r in review)


def test_the_answer_sheet_has_no_answers(enrollment):
    attempt = ops.start_attempt(db.session, enrollment(), now=T0)
    sheet = queries.answer_sheet(queries.questions_of(db.session, attempt))
    assert all(set(item) == {"id", "kind", "text", "options"} for item in sheet)


def test_retired_questions_are_not_drawn(enrollment, admin):
    e = enrollment(questions=_bank(3), quiz={"attempt_limit": None})
    attempt = ops.start_attempt(db.session, e, now=T0)
    ops.submit_attempt(db.session, attempt, {}, now=T0)
    used = e.course.questions[0]
    assert ops.delete_question(db.session, used) is False  # used: retired, kept
    assert not used.active
    later = ops.start_attempt(db.session, e, now=T0)
    assert used.id not in later.question_ids and len(later.question_ids) == 2
    assert len(queries.attempt_review(db.session, attempt)) == 3  # the old attempt still reviews
