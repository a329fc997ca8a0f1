"""Certificates: issued once per completed enrolment, verifiable by code, revocable by admins."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import audit, signals
from expertpool.db import utcnow

from ..errors import CourseError
from ..models import Certificate, Enrollment

# No 0/O, 1/I/L: codes are read aloud and typed from paper.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "RMT"


def new_code(session: Session) -> str:
    """A random, unused verification code such as RMT-7KQ2-M9XD-4HPA (about 60 bits)."""
    while True:
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3)]
        code = "-".join([CODE_PREFIX, *groups])
        if not session.scalar(select(Certificate.id).where(Certificate.code == code)):
            return code


def normalise_code(code: str) -> str:
    return code.strip().upper()


def find(session: Session, code: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.code == normalise_code(code)))


def issue(session: Session, enrollment: Enrollment, now: dt.datetime | None = None) -> Certificate:
    """The enrolment's certificate, created on first call only (issued once)."""
    existing = session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment.id))
    if existing is not None:
        return existing
    course = enrollment.course
    certificate = Certificate(
        code=new_code(session),
        enrollment_id=enrollment.id,
        user_id=enrollment.user_id,
        course_id=course.id,
        learner_name=enrollment.user.name,
        course_title=course.title,
        hours=course.hours,
        issued_at=now or utcnow(),
    )
    session.add(certificate)
    session.flush()
    signals.certificate_issued.send(certificate, session=session)
    return certificate


def revoke(
    session: Session,
    actor: User,
    certificate: Certificate,
    reason: str,
    now: dt.datetime | None = None,
) -> Certificate:
    reason = (reason or "").strip()
    if not reason:
        raise CourseError(str(_l("A reason is required to revoke a certificate.")))
    if certificate.is_revoked:
        raise CourseError(str(_l("This certificate was already revoked.")))
    audit.set_note(session, reason)
    certificate.revoked_at = now or utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = actor.id
    session.flush()
    signals.certificate_revoked.send(certificate, session=session, actor=actor)
    return certificate


def is_current(certificate: Certificate, today: dt.date | None = None) -> bool:
    """Not revoked and not past its validity (courses without a validity never expire)."""
    if certificate.is_revoked:
        return False
    until = certificate.valid_until()
    return until is None or (today or dt.date.today()) <= until


def of_user(session: Session, user_id: int) -> list[Certificate]:
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc())
        )
    )
