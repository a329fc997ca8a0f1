"""The learner's home page: courses in progress, assigned training, recommendations, hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from expertpool.accounts.models import User

from ..constants import PUBLISHED
from ..models import Certificate, Course, Enrollment, Lesson
from .certificates import certificates_of
from .learning import Progress, enrollments_of, latest_by_course, progress, resume_lesson

# Role of a user -> the course audience it stands for (trainees give theirs at registration).
ROLE_AUDIENCES = {"expert": "reviewer"}
RECOMMENDED_LIMIT = 6


@dataclass(frozen=True)
class CourseInProgress:
    enrollment: Enrollment
    progress: Progress
    next_lesson: Lesson | None  # None when every lesson is done: the quiz comes next

    @property
    def course(self) -> Course:
        return self.enrollment.course

    def continue_target(self) -> tuple[str, dict[str, Any]]:
        """(endpoint, values) of "continue": the next unfinished lesson, else the quiz."""
        slug = self.course.slug
        if self.next_lesson is not None:
            return "courses.lesson", {"slug": slug, "lesson_id": self.next_lesson.id}
        if self.progress.quiz_required and not self.progress.quiz_passed:
            return "courses.quiz", {"slug": slug}
        return "courses.course", {"slug": slug}


@dataclass(frozen=True)
class LearnerDashboard:
    in_progress: list[CourseInProgress]
    assigned: list[Enrollment]  # assigned to the learner, not completed, soonest due first
    recommended: list[Course]
    certificates: list[Certificate]
    hours_this_year: float
    today: dt.date


def next_lesson(enrollment: Enrollment) -> Lesson | None:
    """The lesson "continue" opens: where the learner was, else the next one not done."""
    done = enrollment.done_lesson_ids
    if all(lesson.id in done for lesson in enrollment.course.lessons):
        return None
    return resume_lesson(enrollment)


def learner_dashboard(
    session: Session, user: User, today: dt.date | None = None, language: str | None = None
) -> LearnerDashboard:
    today = today or dt.date.today()
    enrollments = enrollments_of(session, user.id)
    open_ = [e for e in latest_by_course(enrollments).values() if not e.is_completed]
    in_progress = sorted(
        (CourseInProgress(e, progress(session, e), next_lesson(e)) for e in open_),
        key=lambda row: (-row.enrollment.enrolled_at.timestamp(), row.enrollment.id),
    )
    assigned = sorted(
        (e for e in open_ if e.due_date is not None or e.assigned_by_id is not None),
        key=lambda e: (e.due_date or dt.date.max, e.course.title, e.id),
    )
    certs = certificates_of(session, user.id)
    # Hours count in the year of their completion (as on the transcript).
    hours = sum(
        c.hours
        for c in certs
        if not c.is_revoked and (c.enrollment.completed_at or c.issued_at).year == today.year
    )
    return LearnerDashboard(
        in_progress=in_progress,
        assigned=assigned,
        recommended=recommended_courses(session, user, enrollments, language=language),
        certificates=certs,
        hours_this_year=hours,
        today=today,
    )


def audiences_of(user: User) -> set[str]:
    found = {user.audience} if user.audience else set()
    return found | {aud for role, aud in ROLE_AUDIENCES.items() if user.has_role(role)}


def recommended_courses(
    session: Session,
    user: User,
    enrollments: list[Enrollment] | None = None,
    limit: int = RECOMMENDED_LIMIT,
    language: str | None = None,
) -> list[Course]:
    """Published courses the user has not enrolled in, for their audience or like those taken.

    Courses the user can start now (every prerequisite completed) come before those that need
    another course first: a new learner is pointed at the entry course, not at what it opens.
    Then by score: 2 for a matching audience, 1 for the topic of a course taken, 1 for a shared
    tag; then courses in `language` (the interface's) first; ties by title then id, so the
    order is stable.
    """
    if enrollments is None:
        enrollments = enrollments_of(session, user.id)
    taken_ids = {e.course_id for e in enrollments}
    completed_ids = {e.course_id for e in enrollments if e.is_completed}
    taken = [e.course for e in enrollments]
    topics = {c.topic for c in taken}
    tags = {t for c in taken for t in (c.tags or [])}
    audiences = audiences_of(user)
    scored = []
    # Only the courses' own columns and their prerequisites' ids are read: the eager chapters,
    # lessons and quiz of every published course were most of a home page's queries.
    bare = (lazyload(Course.chapters), lazyload(Course.quiz), lazyload(Course.prerequisites))
    stmt = (
        select(Course)
        .where(Course.status == PUBLISHED)
        .options(*bare[:2], selectinload(Course.prerequisites).options(*bare))
    )
    for course in session.scalars(stmt):
        if course.id in taken_ids:
            continue
        score = 2 * bool(audiences & set(course.audience or []))
        score += (course.topic in topics) + bool(tags & set(course.tags or []))
        if score:
            blocked = any(p.id not in completed_ids for p in course.prerequisites)
            foreign = language is not None and course.language != language
            scored.append(((blocked, -score, foreign, course.title, course.id), course))
    return [course for _, course in sorted(scored, key=lambda row: row[0])[:limit]]
