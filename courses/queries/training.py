"""Required training for experts: which courses, and which certificates count.

A course marked `required_for_experts` must be held by every expert. A certificate counts when
it is not revoked, is within the course's validity period (`validity_years`; none = for ever)
and — when the rule `within_term` is on (config `TRAINING_WITHIN_TERM`, default off) — was
issued on or after the start of the expert's current term.

Used by the expert's technical file (`training_status`), the administrators' report of experts
missing training, the matching constraint (`experts_with_required_training`) and the home pages
(`expert_required_training`, `experts_missing_training_count`). Assigning the required courses
is `operations/training.py`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from expertpool.experts.models import Expert

from .. import validity
from ..constants import PUBLISHED
from ..models import Certificate, Course, Enrollment
from ..validity import add_years
from .learning import latest_by_course


@dataclass(frozen=True)
class TrainingRule:
    within_term: bool = False
    expiring_days: int = validity.DEFAULT_WINDOW_DAYS  # TRAINING_EXPIRING_DAYS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrainingRule:
        return cls(
            within_term=bool(config.get("TRAINING_WITHIN_TERM", False)),
            expiring_days=int(
                config.get("TRAINING_EXPIRING_DAYS", validity.DEFAULT_WINDOW_DAYS) or 0
            ),
        )


# The state of one requirement: ok (valid or expiring) or why not.
MISSING, BEFORE_TERM = "missing", "before_term"


class TrainingRecord(NamedTuple):
    course: Course
    ok: bool
    certificate: Certificate | None  # the certificate that counts, else the latest one held
    # valid | expiring (counts, renewal due) | lapsed | revoked | before_term | missing
    state: str = MISSING
    expires_on: dt.date | None = None  # of `certificate`

    @property
    def lapsed(self) -> bool:
        return self.state == validity.LAPSED

    @property
    def expiring(self) -> bool:
        return self.state == validity.EXPIRING


def counts(
    issued: dt.date,
    revoked: bool,
    validity_years: int | None,
    term_start: dt.date | None,
    rule: TrainingRule,
    today: dt.date,
) -> bool:
    """Does a certificate issued on `issued` satisfy the requirement today? (pure)"""
    if revoked or issued > today:
        return False
    if validity_years and today > add_years(issued, validity_years):
        return False
    return not (rule.within_term and term_start is not None and issued < term_start)


def _rule() -> TrainingRule:
    try:
        from flask import current_app

        return TrainingRule.from_config(current_app.config)
    except RuntimeError:  # no application context (pure scripts)
        return TrainingRule()


def required_courses(session: Session) -> list[Course]:
    return list(
        session.scalars(
            select(Course)
            .where(Course.required_for_experts.is_(True), Course.status == PUBLISHED)
            .order_by(Course.title)
        )
    )


def _certificates_by_user(
    session: Session, user_ids: Iterable[int], course_ids: Iterable[int]
) -> dict[tuple[int, int], list[Certificate]]:
    users, courses = list(set(user_ids)), list(set(course_ids))
    found: dict[tuple[int, int], list[Certificate]] = defaultdict(list)
    if not users or not courses:
        return found
    stmt = (
        select(Certificate)
        .where(Certificate.user_id.in_(users), Certificate.course_id.in_(courses))
        .order_by(Certificate.issued_at.desc())
    )
    for cert in session.scalars(stmt):
        found[(cert.user_id, cert.course_id)].append(cert)
    return found


def _record(
    course: Course,
    held: list[Certificate],
    term_start: dt.date | None,
    rule: TrainingRule,
    today: dt.date,
) -> TrainingRecord:
    for cert in held:  # newest first
        if counts(
            cert.issued_at.date(), cert.is_revoked, course.validity_years, term_start, rule, today
        ):
            expires = validity.expiry_date(cert.issued_at.date(), course.validity_years)
            state = validity.state(expires, today, rule.expiring_days)
            return TrainingRecord(course, True, cert, state, expires)
    if not held:
        return TrainingRecord(course, False, None)
    return TrainingRecord(course, False, held[0], *_why_not(course, held, today))


def _why_not(course: Course, held: list[Certificate], today: dt.date) -> tuple[str, dt.date | None]:
    """Why no certificate held counts: lapsed (one held has expired), revoked or before the term.

    Lapsed wins: the person was trained and has to renew, whatever else happened since.
    """
    for cert in held:
        expires = validity.expiry_date(cert.issued_at.date(), course.validity_years)
        if not cert.is_revoked and expires is not None and expires < today:
            return validity.LAPSED, expires
    expires = validity.expiry_date(held[0].issued_at.date(), course.validity_years)
    return (validity.REVOKED if held[0].is_revoked else BEFORE_TERM), expires


def training_status(
    expert: Expert,
    session: Session | None = None,
    *,
    today: dt.date | None = None,
    rule: TrainingRule | None = None,
) -> list[TrainingRecord]:
    """One record per required course: (course, ok, certificate or None)."""
    session = session or object_session(expert)
    if session is None:
        raise ValueError("training_status needs a session or an attached expert")
    today, rule = today or dt.date.today(), rule or _rule()
    courses = required_courses(session)
    held = _certificates_by_user(
        session, [expert.user_id] if expert.user_id else [], [c.id for c in courses]
    )
    return [
        _record(c, held.get((expert.user_id or -1, c.id), []), expert.term_start, rule, today)
        for c in courses
    ]


# An expert's required training as a whole (the matching constraint's column).
HELD, LAPSED_ONLY, NOT_HELD = "held", "lapsed", "missing"


def overall_state(records: Iterable[TrainingRecord]) -> str:
    """held (every course ok), lapsed (every course not ok has lapsed) or missing."""
    failing = [r for r in records if not r.ok]
    if not failing:
        return HELD
    return LAPSED_ONLY if all(r.lapsed for r in failing) else NOT_HELD


def required_training_states(
    session: Session,
    expert_ids: Iterable[int],
    *,
    today: dt.date | None = None,
    rule: TrainingRule | None = None,
) -> dict[int, str]:
    """Expert id -> `overall_state` for each of `expert_ids` (matching constraint).

    With no required course every expert holds it. Three queries whatever the number of ids.
    """
    ids = list(set(expert_ids))
    if not ids:
        return {}
    today, rule = today or dt.date.today(), rule or _rule()
    courses = required_courses(session)
    if not courses:
        return dict.fromkeys(ids, HELD)
    rows = session.execute(
        select(Expert.id, Expert.user_id, Expert.term_start).where(Expert.id.in_(ids))
    ).all()
    held = _certificates_by_user(
        session, [r.user_id for r in rows if r.user_id], [c.id for c in courses]
    )
    return {
        row.id: overall_state(
            _record(c, held.get((row.user_id, c.id), []), row.term_start, rule, today)
            for c in courses
        )
        if row.user_id
        else NOT_HELD
        for row in rows
    }


def experts_with_required_training(
    session: Session,
    expert_ids: Iterable[int],
    *,
    today: dt.date | None = None,
    rule: TrainingRule | None = None,
) -> set[int]:
    """Ids (among `expert_ids`) of experts holding every required course."""
    states = required_training_states(session, expert_ids, today=today, rule=rule)
    return {expert_id for expert_id, state in states.items() if state == HELD}


def experts_missing_training(
    session: Session,
    *,
    statuses: tuple[str, ...] = ("active",),
    today: dt.date | None = None,
    rule: TrainingRule | None = None,
) -> list[tuple[Expert, list[TrainingRecord]]]:
    """Experts (active by default) missing at least one required course, with their records."""
    today, rule = today or dt.date.today(), rule or _rule()
    courses = required_courses(session)
    if not courses:
        return []
    experts = list(
        session.scalars(
            select(Expert).where(Expert.status.in_(statuses)).order_by(Expert.name, Expert.id)
        )
    )
    held = _certificates_by_user(
        session, [e.user_id for e in experts if e.user_id], [c.id for c in courses]
    )
    out = []
    for expert in experts:
        records = [
            _record(c, held.get((expert.user_id or -1, c.id), []), expert.term_start, rule, today)
            for c in courses
        ]
        if not all(r.ok for r in records):
            out.append((expert, records))
    return out


# --- home pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredTrainingRow:
    record: TrainingRecord
    enrollment: Enrollment | None  # the latest enrolment in the course, if any

    @property
    def due_date(self) -> dt.date | None:
        if self.enrollment is None or self.enrollment.is_completed:
            return None
        return self.enrollment.due_date


def expert_required_training(
    session: Session, expert: Any, user_id: int | None
) -> list[RequiredTrainingRow]:
    """The expert's required courses, each with its status and the enrolment to continue."""
    records = training_status(expert, session)
    latest: dict[int, Enrollment] = {}
    if user_id is not None and records:
        latest = latest_by_course(
            session.scalars(
                select(Enrollment).where(
                    Enrollment.user_id == user_id,
                    Enrollment.course_id.in_([r.course.id for r in records]),
                )
            )
        )
    return [RequiredTrainingRow(r, latest.get(r.course.id)) for r in records]


def experts_missing_training_count(session: Session) -> int:
    """How many experts the required-training report lists (active experts not holding every
    required course): counted from ids, without loading each expert and their records."""
    active = list(session.scalars(select(Expert.id).where(Expert.status == "active")))
    return len(active) - len(experts_with_required_training(session, active))
