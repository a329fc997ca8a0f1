"""Required training: assigning the required courses to the experts of the pool.

Which courses are required and which certificates count is read in `queries/training.py`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.experts.constants import Status
from expertpool.experts.models import Expert

from ..models import Course
from ..queries.training import required_courses
from .learning import AssignResult, assign


def assign_required_to_experts(
    session: Session,
    actor: User,
    *,
    courses: list[Course] | None = None,
    due_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> AssignResult:
    """Assign every required course (or `courses`) to every active expert who has a login."""
    courses = courses if courses is not None else required_courses(session)
    experts = list(
        session.scalars(select(Expert).where(Expert.status == Status.ACTIVE).order_by(Expert.id))
    )
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.id.in_([e.user_id for e in experts if e.user_id]))
        )
    }
    result = AssignResult(without_account=[e.name for e in experts if e.user_id not in users])
    learners = [users[e.user_id] for e in experts if e.user_id in users]
    for course in courses:
        assign(session, actor, course, learners, due_date=due_date, now=now, result=result)
    return result
