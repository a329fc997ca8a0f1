"""Quiz attempts as they stand: the attempts of an enrolment, the answer sheet, the review.

The review of a finished attempt always says which answers were right; the right answers and
explanations are revealed only as the quiz's `review_policy` allows (`reveals_answers`).
Starting, submitting and expiring attempts are `operations/quizzes.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..constants import OPEN, REVIEW_AFTER_LAST, REVIEW_AFTER_PASS, REVIEW_AFTER_PASS_OR_LAST
from ..errors import CourseError
from ..models import Enrollment, Lesson, Question, Quiz, QuizAttempt
from .learning import quiz_passed


def attempts_of(session: Session, enrollment: Enrollment) -> list[QuizAttempt]:
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(QuizAttempt.enrollment_id == enrollment.id)
            .order_by(QuizAttempt.number)
        )
    )


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


def questions_of(session: Session, attempt: QuizAttempt) -> list[Question]:
    """The attempt's questions in the order drawn."""
    rows = {
        q.id: q
        for q in session.scalars(select(Question).where(Question.id.in_(attempt.question_ids)))
    }
    return [rows[i] for i in attempt.question_ids if i in rows]


def answer_sheet(questions: Sequence[Question]) -> list[dict[str, Any]]:
    """What the answer sheet shows: id, kind, text, options — never answers or explanations."""
    return [
        {"id": q.id, "kind": q.kind, "text": q.text, "options": list(q.options or [])}
        for q in questions
    ]


def field_name(question_id: int) -> str:
    """The answer sheet's form field of a question (read back by `operations.submit_attempt`)."""
    return f"q{question_id}"


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
    passed = policy in (REVIEW_AFTER_PASS, REVIEW_AFTER_PASS_OR_LAST) and quiz_passed(
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


def attempt_review(
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
