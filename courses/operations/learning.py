"""Learning operations: enrolment (self or assigned), prerequisites, progress, completion.

Operations take the acting user, flush but never commit, and raise `CourseError` subclasses with
a message fit for the user. `now` can be given so tests need no clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from expertpool.accounts.models import User
from expertpool.db import savepoint, short_lock_wait, utcnow

from .. import validity
from ..constants import COMPLETED, ENROLLED
from ..errors import CourseError, PrerequisiteMissing
from ..models import Certificate, Course, Enrollment, Lesson, LessonProgress
from ..queries.certificates import certificate_of
from ..queries.learning import latest_enrollment, missing_prerequisites, progress
from .certificates import issue_certificate

log = logging.getLogger(__name__)
VISIT_LOCK_WAIT_MS = 500  # a lesson page waits this long at most to note where the learner is

# --- enrolment --------------------------------------------------------------------------------


def require_prerequisites(session: Session, user: User, course: Course) -> None:
    missing = missing_prerequisites(session, user, course)
    if missing:
        names = "、".join(f"“{c.title}”" for c in missing)
        raise PrerequisiteMissing(
            str(
                _l(
                    "Complete the prerequisite course(s) %(names)s before “%(course)s”.",
                    names=names,
                    course=course.title,
                )
            ),
            [c.slug for c in missing],
        )


def enrol(
    session: Session,
    actor: User,
    course: Course,
    *,
    learner: User | None = None,
    due_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Enrollment:
    """Enrol `learner` (default: the actor themself); an administrator enrolling another assigns.

    Self-enrolment needs the prerequisites done; an assignment is allowed without them (the
    learner still can't open lessons until they are done). Enrolling again while enrolled
    returns the same enrolment; after a completed course a new cycle starts only when its
    certificate is revoked, lapsed or expiring within TRAINING_EXPIRING_DAYS (renewal: the
    earlier cycle, its completion and certificate stay as history).
    """
    learner = learner or actor
    assigned = learner.id != actor.id
    if assigned and not actor.is_admin:
        raise CourseError(str(_l("Only administrators can enrol other people.")))
    if not course.is_published:
        raise CourseError(str(_l("This course is not open for enrolment.")))
    if not assigned:
        require_prerequisites(session, learner, course)
    latest = latest_enrollment(session, learner.id, course.id)
    if latest is not None and not latest.is_completed:
        if assigned and due_date is not None:
            latest.due_date = due_date
            latest.assigned_by_id = latest.assigned_by_id or actor.id
        return latest
    if latest is not None and _certificate_current(session, latest, now):
        if assigned:
            return latest
        raise CourseError(str(_l("You have already completed “%(course)s”.", course=course.title)))
    enrollment = Enrollment(
        user=learner,
        course=course,
        cycle=(latest.cycle + 1) if latest else 1,
        assigned_by_id=actor.id if assigned else None,
        due_date=due_date,
        status=ENROLLED,
        enrolled_at=now or utcnow(),
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def _certificate_current(session: Session, enrollment: Enrollment, now: dt.datetime | None) -> bool:
    """Does the enrolment's certificate still stand, with no renewal due yet?"""
    cert = certificate_of(session, enrollment.id)
    if cert is None:
        return True  # completed without a certificate (should not happen): don't re-enrol
    return cert.state((now or utcnow()).date()) == validity.VALID


@dataclass
class AssignResult:
    created: list[Enrollment] = field(default_factory=list)
    unchanged: list[User] = field(default_factory=list)
    refused: list[tuple[User, str]] = field(default_factory=list)
    without_account: list[str] = field(default_factory=list)  # experts with no login

    @property
    def count(self) -> int:
        return len(self.created)


def assign(
    session: Session,
    actor: User,
    course: Course,
    learners: Iterable[User],
    *,
    due_date: dt.date | None = None,
    now: dt.datetime | None = None,
    result: AssignResult | None = None,
) -> AssignResult:
    """Assign a course to several learners; those already enrolled keep their enrolment."""
    result = result or AssignResult()
    for learner in learners:
        before = latest_enrollment(session, learner.id, course.id)
        try:
            enrollment = enrol(session, actor, course, learner=learner, due_date=due_date, now=now)
        except CourseError as exc:
            result.refused.append((learner, str(exc)))
            continue
        if enrollment is before:
            result.unchanged.append(learner)
        else:
            result.created.append(enrollment)
    return result


# --- progress ---------------------------------------------------------------------------------


def _progress_row(enrollment: Enrollment, lesson: Lesson) -> LessonProgress:
    row = enrollment.progress_of(lesson.id)
    if row is None:
        row = LessonProgress(lesson_id=lesson.id)
        enrollment.progress.append(row)
    return row


def record_visit(session: Session, enrollment: Enrollment, lesson: Lesson) -> bool:
    """Remember the lesson as the place to resume; whether it was written.

    A lesson page is a GET, read by many learners at once, so this writes only when the learner
    moved to another lesson, as one UPDATE of that column (no audit row: where a learner is
    reading changes nothing in their record). It is bookkeeping the page can do without: inside
    a SAVEPOINT and waiting only VISIT_LOCK_WAIT_MS for SQLite's write lock, so a busy database
    ("database is locked") costs the resume point, never the page.
    """
    if enrollment.last_lesson_id == lesson.id:
        return False
    try:
        with savepoint(session), short_lock_wait(session, VISIT_LOCK_WAIT_MS):
            session.execute(
                update(Enrollment)
                .where(Enrollment.id == enrollment.id)
                .values(last_lesson_id=lesson.id)
                .execution_options(synchronize_session=False)
            )
    except OperationalError as exc:
        log.warning(
            "visit of lesson %r not recorded for enrolment %r: %s", lesson.id, enrollment.id, exc
        )
        return False
    set_committed_value(enrollment, "last_lesson_id", lesson.id)
    return True


def save_position(
    session: Session, enrollment: Enrollment, lesson: Lesson, seconds: float
) -> LessonProgress:
    """The resume point inside a lesson (seconds into its video)."""
    row = _progress_row(enrollment, lesson)
    row.position = max(0.0, min(float(seconds), 24 * 3600.0))
    enrollment.last_lesson_id = lesson.id
    session.flush()
    return row


def mark_done(
    session: Session,
    enrollment: Enrollment,
    lesson: Lesson,
    *,
    done: bool = True,
    now: dt.datetime | None = None,
) -> Certificate | None:
    """Tick a lesson (or untick it); returns the certificate if this completed the course."""
    if lesson.course_id != enrollment.course_id:
        raise CourseError(str(_l("This lesson belongs to another course.")))
    if enrollment.is_completed:
        return None  # a completed course stays completed
    row = _progress_row(enrollment, lesson)
    row.done, row.done_at = done, (now or utcnow()) if done else None
    enrollment.last_lesson_id = lesson.id
    session.flush()
    return check_completion(session, enrollment, now=now)


def check_completion(
    session: Session, enrollment: Enrollment, *, now: dt.datetime | None = None
) -> Certificate | None:
    """Completion rule: every lesson done and (if the course has one) the final quiz passed.

    On completion the enrolment is closed and its certificate issued — once: later calls return
    None and issue nothing.
    """
    if enrollment.is_completed:
        return None
    state = progress(session, enrollment)
    if state.total == 0 or not state.lessons_done:
        return None
    if state.quiz_required and not state.quiz_passed:
        return None
    now = now or utcnow()
    enrollment.status, enrollment.completed_at = COMPLETED, now
    session.flush()
    return issue_certificate(session, enrollment, now)
