"""Learning as it stands: enrolments, prerequisites still missing, progress, where to resume."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User

from ..constants import COMPLETED, PASSED_STATUSES
from ..models import Course, Enrollment, Lesson, QuizAttempt

# --- enrolments -------------------------------------------------------------------------------


def latest_enrollment(session: Session, user_id: int, course_id: int) -> Enrollment | None:
    return session.scalar(
        select(Enrollment)
        .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
        .order_by(Enrollment.cycle.desc())
        .limit(1)
    )


def latest_by_course(enrollments: Iterable[Enrollment]) -> dict[int, Enrollment]:
    """Course id -> the latest cycle among `enrollments` in that course."""
    latest: dict[int, Enrollment] = {}
    for e in enrollments:
        if e.course_id not in latest or e.cycle > latest[e.course_id].cycle:
            latest[e.course_id] = e
    return latest


def enrollments_of(session: Session, user_id: int) -> list[Enrollment]:
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.user_id == user_id)
            .order_by(Enrollment.enrolled_at.desc())
        )
    )


def course_enrollments(session: Session, course: Course) -> list[Enrollment]:
    """Every enrolment in `course`, newest first (the administrators' list)."""
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.course_id == course.id)
            .order_by(Enrollment.enrolled_at.desc())
        )
    )


def users_by_login(session: Session, logins: Iterable[str]) -> tuple[list[User], list[str]]:
    """(users found by user name or e-mail, the logins that match nobody), in the given order."""
    found, unknown = [], []
    for login in logins:
        user = session.scalar(
            select(User).where(or_(User.username == login, func.lower(User.email) == login.lower()))
        )
        if user is None:
            unknown.append(login)
        else:
            found.append(user)
    return found, unknown


# --- prerequisites ----------------------------------------------------------------------------


def completed_course_ids(session: Session, user_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Enrollment.course_id).where(
                Enrollment.user_id == user_id, Enrollment.status == COMPLETED
            )
        )
    )


def missing_prerequisites(session: Session, user: User, course: Course) -> list[Course]:
    done = completed_course_ids(session, user.id)
    return [p for p in course.prerequisites if p.id not in done]


# --- progress ---------------------------------------------------------------------------------


def resume_lesson(enrollment: Enrollment) -> Lesson | None:
    """Where to pick up: the last lesson opened unless done, else the next lesson not done."""
    lessons = enrollment.course.lessons
    if not lessons:
        return None
    done = enrollment.done_lesson_ids
    by_id = {lesson.id: index for index, lesson in enumerate(lessons)}
    start = by_id.get(enrollment.last_lesson_id or -1)
    if start is not None and lessons[start].id not in done:
        return lessons[start]
    ordered = lessons[start + 1 :] + lessons[: start + 1] if start is not None else lessons
    return next((lesson for lesson in ordered if lesson.id not in done), lessons[0])


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    quiz_required: bool
    quiz_passed: bool

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def lessons_done(self) -> bool:
        return self.done >= self.total


def progress(session: Session, enrollment: Enrollment) -> Progress:
    ids = {lesson.id for lesson in enrollment.course.lessons}
    return Progress(
        done=len(ids & enrollment.done_lesson_ids),
        total=len(ids),
        quiz_required=enrollment.course.has_quiz,
        quiz_passed=quiz_passed(session, enrollment),
    )


def quiz_passed(session: Session, enrollment: Enrollment) -> bool:
    return bool(
        session.scalar(
            select(QuizAttempt.id)
            .where(
                QuizAttempt.enrollment_id == enrollment.id,
                QuizAttempt.passed.is_(True),
                QuizAttempt.status.in_(PASSED_STATUSES),
            )
            .limit(1)
        )
    )
