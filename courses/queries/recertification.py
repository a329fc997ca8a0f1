"""Certificates that expire: which stand open, which are expiring or lapsed, per month.

"Open" certificates are the ones a renewal is about: of a course with a validity period, not
revoked, not superseded by a renewal. Their expiry is computed (issue date + the course's
`validity_years`, `courses.validity`), so the filtering by date happens here, in Python; the
SELECT reads only the open ones (a few thousand at most).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .. import validity
from ..models import Certificate, Course


def open_certificates(session: Session) -> list[Certificate]:
    """Certificates of courses with a validity, neither revoked nor superseded, oldest first."""
    return list(
        session.scalars(
            select(Certificate)
            .join(Course, Course.id == Certificate.course_id)
            .where(
                Course.validity_years.is_not(None),
                Course.validity_years > 0,
                Certificate.revoked_at.is_(None),
                Certificate.superseded_at.is_(None),
            )
            .options(joinedload(Certificate.course))
            .order_by(Certificate.issued_at, Certificate.id)
        )
    )


def in_state(
    certificates: list[Certificate], state: str, today: dt.date, window_days: int
) -> list[Certificate]:
    """Those of `certificates` in `state` on `today`, soonest expiry first."""
    found = [c for c in certificates if c.state(today, window_days) == state]
    return sorted(found, key=lambda c: (c.valid_until() or dt.date.max, c.id))


@dataclass(frozen=True)
class ExpiryOverview:
    today: dt.date
    window_days: int
    months: list[str]  # "YYYY-MM", this month first
    by_month: list[int]  # open certificates expiring in each of `months`
    expiring: list[Certificate]  # within the window, soonest first
    lapsed: list[Certificate]  # expired and not renewed, most recent expiry first

    @property
    def peak(self) -> int:
        return max(self.by_month, default=0)


def expiry_overview(
    session: Session, today: dt.date, window_days: int, months: int = 12
) -> ExpiryOverview:
    """The administrators' view: counts, the chart's months, the expiring and lapsed lists."""
    certs = open_certificates(session)
    keys = validity.next_months(today, months)
    per_month = Counter(
        validity.month_key(until)
        for c in certs
        if (until := c.valid_until()) is not None and until >= today
    )
    lapsed = in_state(certs, validity.LAPSED, today, window_days)
    return ExpiryOverview(
        today=today,
        window_days=window_days,
        months=keys,
        by_month=[per_month.get(k, 0) for k in keys],
        expiring=in_state(certs, validity.EXPIRING, today, window_days),
        lapsed=lapsed[::-1],
    )


def expiring_count(session: Session, window_days: int, today: dt.date | None = None) -> int:
    """Open certificates expiring within the window (the administrators' work queue)."""
    certs = open_certificates(session)
    return len(in_state(certs, validity.EXPIRING, today or dt.date.today(), window_days))
