"""Quiz operations: start an attempt (random draw, deadline), submit it (automatic grading).

Late submissions: an answer sheet that arrives after the deadline plus a short grace period
(network delay, default 30 s) is not graded; the attempt is closed as *expired* with score 0 and
counts towards the attempt limit. An open attempt whose time has run out is closed the same way
when the learner next looks at the quiz.

Draws prefer questions the learner has not seen in earlier attempts at the course's quiz, then
the least recently seen (`grading.draw`). A quiz with `lessons_first` (the default) opens only
once every lesson of the course is done. The attempts, the answer sheet and the review of a
finished attempt are read in `queries/quizzes.py`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from expertpool.db import utcnow

from .. import grading
from ..constants import EXPIRED, OPEN, SUBMITTED
from ..errors import AttemptLimitReached, CourseError, LessonsPending
from ..models import Certificate, Enrollment, QuizAttempt
from ..queries.learning import quiz_passed
from ..queries.quizzes import (
    attempts_of,
    field_name,
    last_seen,
    lessons_pending,
    open_attempt,
    questions_of,
)
from .learning import check_completion, require_prerequisites

DEFAULT_GRACE = dt.timedelta(seconds=30)


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
    require_prerequisites(session, enrollment.user, course)
    require_lessons(enrollment)
    if quiz_passed(session, enrollment):
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
    certificate = check_completion(session, attempt.enrollment, now=now) if result.passed else None
    return attempt, certificate
