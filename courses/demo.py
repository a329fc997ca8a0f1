"""Demo training data for `flask demo load`: the courses under demo_content/ and some learners.

Registered by the courses feature's `init_app` (`core.features.register_demo_loader`). Learning is simulated through the real operations (enrol, lessons, quiz
attempts), with dates spread over the past year so reports have months to show.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from tqdm import tqdm

from expertpool.accounts.models import User, UserRole
from expertpool.core.access import Role
from expertpool.db import utcnow

from . import demo_recert, queries
from . import operations as ops
from .constants import PUBLISHED
from .models import Course, Question
from .operations import importer

DEMO_DIR = Path(__file__).resolve().parent / "demo_content"
SEED = 2026


def load_demo(session: Session, admin: User, progress: bool = True) -> None:
    """Import the demo courses and give the demo trainees and experts some history."""
    if not DEMO_DIR.is_dir() or not importer.course_folders(DEMO_DIR):
        return
    specs = importer.parse_folder(
        session,
        DEMO_DIR,
        progress=lambda items: tqdm(items, desc="courses", disable=not progress, unit="course"),
    )
    importer.apply(session, admin, specs, upload_root=current_app.config["UPLOAD_FOLDER"])
    simulate_learning(session, admin)


def _by_role(session: Session, role: Role) -> list[User]:
    return list(
        session.scalars(
            select(User).join(UserRole).where(UserRole.role == role.value).order_by(User.id)
        )
    )


def _ordered(courses: list[Course]) -> list[Course]:
    """Prerequisites before the courses that need them."""
    out: list[Course] = []

    def visit(course: Course) -> None:
        if course not in out:
            for pre in course.prerequisites:
                visit(pre)
            out.append(course)

    for course in courses:
        visit(course)
    return out


def simulate_learning(session: Session, admin: User, *, now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    rng = random.Random(SEED)
    courses = list(
        session.scalars(select(Course).where(Course.status == PUBLISHED).order_by(Course.slug))
    )
    if not courses:
        return
    for number, trainee in enumerate(_by_role(session, Role.TRAINEE)):
        mine = [c for c in courses if trainee.audience in (c.audience or [])]
        picked = rng.sample(mine, min(len(mine), 2 + number % 3))
        start = now - dt.timedelta(days=rng.randint(120, 330))
        plan = _ordered(picked)
        for index, course in enumerate(plan):
            when = start + dt.timedelta(days=25 * index + rng.randint(0, 10))
            last = index == len(plan) - 1
            if last and number % 2:
                _partial(session, trainee, course, when, rng)
            else:
                _complete(session, trainee, course, when, fail_first=(number + index) % 4 == 0)
    _experts(session, admin, courses, now, rng)
    demo_recert.load_demo(session, _by_role(session, Role.EXPERT), _complete, now)
    session.flush()


def _experts(
    session: Session, admin: User, courses: list[Course], now: dt.datetime, rng: random.Random
) -> None:
    """Required courses assigned to the demo experts: one holds them all, one is on the way."""
    required = [c for c in courses if c.required_for_experts]
    users = _by_role(session, Role.EXPERT)
    if not required or not users:
        return
    for course in required:
        ops.assign(
            session,
            admin,
            course,
            users,
            now=now - dt.timedelta(days=200),
            due_date=(now + dt.timedelta(days=90)).date(),
        )
    start = now - dt.timedelta(days=180)
    for index, course in enumerate(_ordered(required)):
        _complete(session, users[0], course, start + dt.timedelta(days=12 * index))
    if len(users) > 1:  # the second has done the prerequisites and is halfway through one
        for course in _ordered(required):
            if not course.required_for_experts:
                _complete(session, users[1], course, start)
            else:
                _partial(session, users[1], course, start + dt.timedelta(days=20), rng)
                break


def _complete(
    session: Session, user: User, course: Course, when: dt.datetime, *, fail_first: bool = False
) -> None:
    enrollment = ops.enrol(session, user, course, now=when)
    if enrollment.is_completed:
        return
    for offset, lesson in enumerate(course.lessons):
        ops.mark_done(session, enrollment, lesson, now=when + dt.timedelta(hours=offset + 1))
    if not course.has_quiz:
        return
    at = when + dt.timedelta(days=2)
    if fail_first:
        attempt = ops.start_attempt(session, enrollment, now=at, seed=1)
        ops.submit_attempt(session, attempt, {}, now=at + dt.timedelta(minutes=5))
        at += dt.timedelta(days=1)
    attempt = ops.start_attempt(session, enrollment, now=at, seed=2)
    ops.submit_attempt(
        session,
        attempt,
        right_answers(queries.questions_of(session, attempt)),
        now=at + dt.timedelta(minutes=12),
    )


def _partial(
    session: Session, user: User, course: Course, when: dt.datetime, rng: random.Random
) -> None:
    enrollment = ops.enrol(session, user, course, now=when)
    lessons = course.lessons
    for offset, lesson in enumerate(lessons[: rng.randint(1, max(1, len(lessons) - 1))]):
        ops.mark_done(session, enrollment, lesson, now=when + dt.timedelta(hours=offset))
        ops.record_visit(session, enrollment, lesson)


def right_answers(questions: list[Question]) -> dict[str, Any]:
    """A form that answers every question right (demo and tests)."""
    form: dict[str, list[str]] = {}
    for q in questions:
        name = queries.field_name(q.id)
        if q.kind in ("single", "multiple"):
            form[name] = [str(i) for i in q.answer]
        elif q.kind == "truefalse":
            form[name] = ["true" if q.answer else "false"]
        else:
            form[name] = [q.answer[0]]
    return form
