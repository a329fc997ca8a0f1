"""Certificate operations: issued once per completed enrolment, revocable by administrators.

Reading them (by code, current or not, per learner) is `queries/certificates.py`.
"""

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
from ..queries.certificates import certificate_of

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


def issue_certificate(
    session: Session, enrollment: Enrollment, now: dt.datetime | None = None
) -> Certificate:
    """The enrolment's certificate, created on first call only (issued once)."""
    existing = certificate_of(session, enrollment.id)
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
    supersede_earlier(session, certificate)
    signals.certificate_issued.send(certificate, session=session)
    return certificate


def supersede_earlier(session: Session, certificate: Certificate) -> list[Certificate]:
    """Mark the holder's earlier certificates of the course as superseded by `certificate`.

    They are kept (the transcript's history, the verification page); only the newest is the one
    that is reminded, renewed and shown as current.
    """
    earlier = list(
        session.scalars(
            select(Certificate).where(
                Certificate.user_id == certificate.user_id,
                Certificate.course_id == certificate.course_id,
                Certificate.id != certificate.id,
                Certificate.superseded_at.is_(None),
                Certificate.issued_at <= certificate.issued_at,
            )
        )
    )
    for old in earlier:
        old.superseded_at = certificate.issued_at
        old.superseded_by_id = certificate.id
    session.flush()
    return earlier


def revoke_certificate(
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
