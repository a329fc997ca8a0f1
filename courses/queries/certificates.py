"""Certificates as they stand: found by code, current or not, held by a learner, listed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from expertpool.core.pagination import Page, paginate_query

from ..models import Certificate


def normalise_code(code: str) -> str:
    return code.strip().upper()


def find_certificate(session: Session, code: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.code == normalise_code(code)))


def certificate_of(session: Session, enrollment_id: int) -> Certificate | None:
    """The certificate issued for an enrolment, if any (at most one)."""
    return session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment_id))


def certificate_is_current(certificate: Certificate, today: dt.date | None = None) -> bool:
    """Not revoked and not past its validity (courses without a validity never expire)."""
    if certificate.is_revoked:
        return False
    until = certificate.valid_until()
    return until is None or (today or dt.date.today()) <= until


def certificates_of(session: Session, user_id: int) -> list[Certificate]:
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc())
        )
    )


def search_certificates(session: Session, q: str, page: int, per_page: int) -> Page[Certificate]:
    """One page of certificates, newest first; `q` matches the code, learner or course title."""
    stmt = select(Certificate).order_by(Certificate.issued_at.desc())
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                Certificate.code.ilike(like),
                Certificate.learner_name.like(like),
                Certificate.course_title.like(like),
            )
        )
    return paginate_query(session, stmt, page, per_page)
