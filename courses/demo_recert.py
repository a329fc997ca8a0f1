"""Demo data of re-certification: certificates expiring soon, some lapsed, the reminders sent.

Called once by `courses.demo.simulate_learning`, after the simulated learning. The demo courses
with a validity period are set in their folders (`validity_years` in course.toml: the required
courses 3 years, some technical courses 2). Here certificates are dated back so that the
administrators' chart has months to show, the first demo expert's required certificate expires
within weeks (and counts meanwhile), the third demo expert's has lapsed, and some trainees'
certificates lapsed too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from expertpool.accounts.models import User

from . import validity
from .models import Certificate, Course
from .operations.recertification import send_expiry_reminders
from .queries.recertification import open_certificates

# Days from today to the expiry of the trainees' certificates, in turn: two lapsed, the rest
# spread over the coming year.
TRAINEE_EXPIRIES = (-75, -20, 12, 26, 45, 80, 110, 150, 190, 230, 270, 320)
EXPERT_EXPIRING_DAYS = 25  # the first expert's first required certificate
EXPERT_LAPSED_DAYS = -40  # the third expert's required certificates


def expire_on(cert: Certificate, expires: dt.date) -> None:
    """Date the certificate (and its completion) back so that it expires on `expires`."""
    years = cert.course.validity_years or 0
    issued = validity.add_years(expires, -years)
    when = dt.datetime.combine(issued, cert.issued_at.time())
    cert.issued_at = when
    enrollment = cert.enrollment
    enrollment.completed_at = when
    enrollment.enrolled_at = min(enrollment.enrolled_at, when - dt.timedelta(days=14))


def load_demo(
    session: Session,
    experts: list[User],
    complete: object,
    now: dt.datetime,
) -> None:
    """`experts`: the demo experts' accounts in order; `complete(session, user, course, when)`
    completes a course (the learning demo's helper)."""
    today = now.date()
    expert_ids = {u.id for u in experts}
    certs = open_certificates(session)
    required = [c for c in certs if c.user_id in expert_ids and c.course.required_for_experts]
    if experts and required:
        first = next((c for c in required if c.user_id == experts[0].id), None)
        if first is not None:
            expire_on(first, today + dt.timedelta(days=EXPERT_EXPIRING_DAYS))
    if len(experts) > 2:
        _lapsed_expert(session, experts[2], complete, now)
    others = [c for c in certs if c.user_id not in expert_ids]
    for index, cert in enumerate(others):
        days = TRAINEE_EXPIRIES[index % len(TRAINEE_EXPIRIES)]
        expire_on(cert, today + dt.timedelta(days=days))
    session.flush()
    send_expiry_reminders(session, today)


def _lapsed_expert(session: Session, user: User, complete: object, now: dt.datetime) -> None:
    """The expert completed the required courses years ago and has not renewed them."""
    from sqlalchemy import select

    from .constants import PUBLISHED

    required = list(
        session.scalars(
            select(Course).where(Course.required_for_experts.is_(True), Course.status == PUBLISHED)
        )
    )
    done: set[int] = set()

    def take(course: Course, when: dt.datetime) -> None:
        for pre in course.prerequisites:
            take(pre, when - dt.timedelta(days=30))
        if course.id not in done:
            done.add(course.id)
            complete(session, user, course, when)  # type: ignore[operator]

    for course in required:
        take(course, now - dt.timedelta(days=365 * (course.validity_years or 3) + 60))
    session.flush()
    for cert in open_certificates(session):
        if cert.user_id == user.id and cert.course.required_for_experts:
            expire_on(cert, now.date() + dt.timedelta(days=EXPERT_LAPSED_DAYS))
