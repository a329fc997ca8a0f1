"""Quiz operations: start an attempt (random draw, deadline), submit it (automatic grading).

Late submissions: an answer sheet that arrives after the deadline plus a short grace period
(network delay, default 30 s) is not graded; the attempt is closed as *expired* with score 0 and
counts towards the attempt limit. An open attempt whose time has run out is closed the same way
when the learner next looks at the quiz.

Draws prefer questions the learner has not seen in earlier attempts at the course's quiz, then
the least recently seen (`grading.draw`). A quiz with `lessons_first` (the default) opens only
once every lesson of the course is done. The review of a finished attempt always says which
answers were right; the right answers and explanations are revealed only as the quiz's
`review_policy` allows (`reveals_answers`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.db import utcnow

from .. import grading
from ..constants import (
    EXPIRED,
    OPEN,
    REVIEW_AFTER_LAST,
    REVIEW_AFTER_PASS,
    REVIEW_AFTER_PASS_OR_LAST,
    SUBMITTED,
)
from ..errors import AttemptLimitReached, CourseError, LessonsPending
from ..models import Certificate, Enrollment, Lesson, Question, Quiz, QuizAttempt
from . import learning

DEFAULT_GRACE = dt.timedelta(seconds=30)


def attempts_of(session: Session, enrollment: Enrollment) -> list[QuizAttempt]:
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(QuizAttempt.enrollment_id == enrollment.id)
            .order_by(QuizAttempt.number)
        )
    )


def is_late(attempt: QuizAttempt, now: dt.datetime, grace: dt.timedelta = DEFAULT_GRACE) -> bool:
    return attempt.deadline is not None and now > attempt.deadline + grace


def expire_overdue(
    session: Session,
    enrollment: Enrollment,
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> list[QuizAttempt]:
    """Close open attempts whose time ran out (they count as used, score 0)."""
    now = now or utcnow()
    closed = []
    for attempt in attempts_of(session, enrollment):
        if attempt.status == OPEN and is_late(attempt, now, grace):
            _close_expired(attempt, now)
            closed.append(attempt)
    session.flush()
    return closed


def _close_expired(attempt: QuizAttempt, now: dt.datetime) -> None:
    attempt.status, attempt.submitted_at = EXPIRED, now
    attempt.correct, attempt.score, attempt.passed = 0, 0.0, False
    attempt.results = {}


def remaining_attempts(session: Session, enrollment: Enrollment) -> int | None:
    """Attempts still allowed (None: no limit)."""
    quiz = enrollment.course.quiz
    if quiz is None or quiz.attempt_limit is None:
        return None
    return max(0, quiz.attempt_limit - len(attempts_of(session, enrollment)))


def lessons_pending(enrollment: Enrollment) -> list[Lesson]:
    """The lessons still to do before the quiz opens (none when the quiz doesn't wait for them)."""
    quiz = enrollment.course.quiz
    if quiz is None or not quiz.lessons_first:
        return []
    done = enrollment.done_lesson_ids
    return [lesson for lesson in enrollment.course.lessons if lesson.id not in done]


def require_lessons(enrollment: Enrollment) -> None:
    pending = lessons_pending(enrollment)
    if pending:
        raise LessonsPending(
            str(
                _l(
                    "The final quiz opens when every lesson is done: %(n)s still to do.",
                    n=len(pending),
                )
            ),
            [lesson.id for lesson in pending],
        )


def last_seen(session: Session, enrollment: Enrollment) -> dict[int, int]:
    """Question id -> how recently the learner was shown it (1: their first attempt at the
    course's quiz, counted over every enrolment cycle); unseen questions are absent."""
    rows = session.execute(
        select(QuizAttempt.question_ids)
        .join(Enrollment, QuizAttempt.enrollment_id == Enrollment.id)
        .where(
            Enrollment.user_id == enrollment.user_id,
            Enrollment.course_id == enrollment.course_id,
        )
        .order_by(Enrollment.cycle, QuizAttempt.number)
    )
    seen: dict[int, int] = {}
    for order, (ids,) in enumerate(rows, start=1):
        for question_id in ids or []:
            seen[question_id] = order
    return seen


def open_attempt(session: Session, enrollment: Enrollment) -> QuizAttempt | None:
    return next((a for a in attempts_of(session, enrollment) if a.status == OPEN), None)


def start_attempt(
    session: Session,
    enrollment: Enrollment,
    *,
    now: dt.datetime | None = None,
    seed: int | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> QuizAttempt:
    """A new attempt with its own random draw, or the attempt still open (same deadline)."""
    course = enrollment.course
    quiz = course.quiz
    if quiz is None or not course.has_quiz:
        raise CourseError(str(_l("This course has no quiz.")))
    learning.require_prerequisites(session, enrollment.user, course)
    require_lessons(enrollment)
    if learning.quiz_passed(session, enrollment):
        raise CourseError(str(_l("You have already passed this quiz.")))
    now = now or utcnow()
    expire_overdue(session, enrollment, now=now, grace=grace)
    current = open_attempt(session, enrollment)
    if current is not None:
        return current
    used = len(attempts_of(session, enrollment))
    if quiz.attempt_limit is not None and used >= quiz.attempt_limit:
        raise AttemptLimitReached(
            str(_l("You have used all %(n)s attempts at this quiz.", n=quiz.attempt_limit))
        )
    seed = secrets.randbits(31) if seed is None else seed
    drawn = grading.draw(
        [q.id for q in course.active_questions],
        quiz.draw_size,
        seed,
        last_seen(session, enrollment),
    )
    deadline = (
        now + dt.timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None
    )
    attempt = QuizAttempt(
        enrollment_id=enrollment.id,
        number=used + 1,
        seed=seed,
        question_ids=drawn,
        started_at=now,
        deadline=deadline,
        status=OPEN,
        answers={},
        results={},
        pass_mark=quiz.pass_mark,
    )
    session.add(attempt)
    session.flush()
    return attempt


def questions_of(session: Session, attempt: QuizAttempt) -> list[Question]:
    """The attempt's questions in the order drawn."""
    rows = {
        q.id: q
        for q in session.scalars(select(Question).where(Question.id.in_(attempt.question_ids)))
    }
    return [rows[i] for i in attempt.question_ids if i in rows]


def sheet(questions: Sequence[Question]) -> list[dict[str, Any]]:
    """What the answer sheet shows: id, kind, text, options — never answers or explanations."""
    return [
        {"id": q.id, "kind": q.kind, "text": q.text, "options": list(q.options or [])}
        for q in questions
    ]


def field_name(question_id: int) -> str:
    return f"q{question_id}"


def submit_attempt(
    session: Session,
    attempt: QuizAttempt,
    form: Mapping[str, Sequence[str]],
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> tuple[QuizAttempt, Certificate | None]:
    """Grade an answer sheet (`form`: field name -> submitted values).

    Returns the attempt and the certificate if passing completed the course.
    """
    if attempt.status != OPEN:
        raise CourseError(str(_l("This attempt was already submitted.")))
    now = now or utcnow()
    questions = questions_of(session, attempt)
    responses = {
        q.id: grading.parse_response(
            q.kind, list(form.get(field_name(q.id), [])), len(q.options or [])
        )
        for q in questions
    }
    attempt.answers = {str(k): v for k, v in responses.items()}
    if is_late(attempt, now, grace):
        _close_expired(attempt, now)
        session.flush()
        return attempt, None
    keys = [grading.QuestionKey(q.id, q.kind, q.answer, len(q.options or [])) for q in questions]
    result = grading.grade(keys, responses, attempt.pass_mark)
    attempt.status, attempt.submitted_at = SUBMITTED, now
    attempt.correct, attempt.score, attempt.passed = result.correct, result.score, result.passed
    attempt.results = {str(k): v for k, v in result.results.items()}
    session.flush()
    certificate = (
        learning.check_completion(session, attempt.enrollment, now=now) if result.passed else None
    )
    return attempt, certificate


def reveals_answers(session: Session, attempt: QuizAttempt, quiz: Quiz | None = None) -> bool:
    """Whether the review of this finished attempt may show the right answers and explanations.

    never: not to the learner; after_pass: once the learner has passed the quiz (this
    enrolment); after_last_attempt: once every allowed attempt is used (never with unlimited
    attempts); after_pass_or_last (default): either. A failed attempt with attempts left
    never reveals them, so the next attempt is not a copy of the last review.
    """
    if attempt.status == OPEN:
        return False
    quiz = quiz or attempt.enrollment.course.quiz
    policy = quiz.review_policy if quiz is not None else REVIEW_AFTER_PASS_OR_LAST
    enrollment = attempt.enrollment
    passed = policy in (REVIEW_AFTER_PASS, REVIEW_AFTER_PASS_OR_LAST) and learning.quiz_passed(
        session, enrollment
    )
    if policy == REVIEW_AFTER_PASS:
        return passed
    if policy in (REVIEW_AFTER_LAST, REVIEW_AFTER_PASS_OR_LAST):
        if passed:
            return True
        return (
            remaining_attempts(session, enrollment) == 0
            and open_attempt(session, enrollment) is None
        )
    return False


def review(
    session: Session, attempt: QuizAttempt, *, reveal: bool | None = None
) -> list[dict[str, Any]]:
    """After submission only: each question with the response and whether it was right.

    The right answer and the explanation are included only when `reveal` (default: what the
    quiz's review policy allows, `reveals_answers`); otherwise they are None, so a page built
    from this cannot show them.
    """
    if attempt.status == OPEN:
        raise CourseError(str(_l("Answers are shown after the attempt is submitted.")))
    if reveal is None:
        reveal = reveals_answers(session, attempt)
    out = []
    for q in questions_of(session, attempt):
        out.append(
            {
                "id": q.id,
                "kind": q.kind,
                "text": q.text,
                "options": list(q.options or []),
                "response": (attempt.answers or {}).get(str(q.id)),
                "answer": q.answer if reveal else None,
                "explanation": q.explanation if reveal else None,
                "correct": bool((attempt.results or {}).get(str(q.id))),
            }
        )
    return out
