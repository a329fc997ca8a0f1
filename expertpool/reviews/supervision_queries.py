"""The supervision figures' query layer: plain `ReviewRecord`s from the database, then the core.

Whole panels are loaded (every answered assignment of each submission in scope), so a review's
panel majority and its peers' lengths never depend on the filters; the core applies the exact
filters after that (`supervision.Filters.keeps`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..experts.models import Expert
from ..submissions.models import Submission
from . import supervision as sv
from .constants import CRITERIA, AssignmentStatus, ReviewStatus
from .models import Assignment, Review

ANSWERED = (AssignmentStatus.ACCEPTED, AssignmentStatus.DECLINED, AssignmentStatus.COMPLETED)

# Defaults of the supervision settings (each may be set in the configuration, config.py).
SETTINGS: dict[str, float] = {
    "SUPERVISION_MIN_REVIEWS": 3,
    "SUPERVISION_LATE_SHARE": 0.5,
    "SUPERVISION_LOW_RATING": 2.5,
    "SUPERVISION_SHORT_RATIO": 0.5,
    "SUPERVISION_AGAINST_SHARE": 0.5,
    "SUPERVISION_Z": 3.5,
    "SPOT_CHECK_GAP": 2,
}


def setting(config: Mapping[str, Any], name: str) -> float:
    value = config.get(name)
    return float(SETTINGS[name] if value is None else value)


def thresholds(config: Mapping[str, Any]) -> sv.Thresholds:
    return sv.Thresholds(
        late_share=setting(config, "SUPERVISION_LATE_SHARE"),
        low_rating=setting(config, "SUPERVISION_LOW_RATING"),
        short_ratio=setting(config, "SUPERVISION_SHORT_RATIO"),
        against_share=setting(config, "SUPERVISION_AGAINST_SHARE"),
        z=setting(config, "SUPERVISION_Z"),
    )


def _text_length() -> Any:
    columns = [getattr(Review, f"{name}_comment") for name in CRITERIA] + [Review.summary]
    total = func.coalesce(func.length(columns[0]), 0)
    for column in columns[1:]:
        total = total + func.coalesce(func.length(column), 0)
    return total


def _submissions_in_scope(filters: sv.Filters) -> Select[Any]:
    """Submissions with an answered assignment the filters may keep (a superset: the core
    applies the exact filters)."""
    stmt = (
        select(Assignment.submission_id)
        .join(Submission, Submission.id == Assignment.submission_id)
        .where(Assignment.status.in_(ANSWERED))
    )
    if filters.category is not None:
        stmt = stmt.where(Submission.category == filters.category)
    if filters.round_id is not None:
        stmt = stmt.where(Assignment.round_id == filters.round_id)
    if filters.date_from:
        stmt = stmt.where(
            Assignment.invited_at >= dt.datetime.combine(filters.date_from, dt.time.min)
        )
    if filters.date_to and filters.date_to < dt.date.max:
        end = dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min)
        stmt = stmt.where(Assignment.invited_at < end)
    return stmt.distinct()


def records(
    session: Session, filters: sv.Filters, expert_id: int | None = None
) -> list[sv.ReviewRecord]:
    """Every answered assignment of the submissions in scope, as plain records.

    `expert_id`: only the submissions that expert answered (their panels still whole).
    """
    scope = _submissions_in_scope(filters)
    if expert_id is not None:
        scope = scope.where(Assignment.expert_id == expert_id)
    submitted = Review.status == ReviewStatus.SUBMITTED
    stmt = (
        select(
            Assignment.id,
            Assignment.expert_id,
            Assignment.submission_id,
            Submission.category,
            Assignment.round_id,
            Assignment.invited_at,
            Assignment.responded_at,
            Assignment.due_date,
            Review.id,
            Review.submitted_at,
            Review.recommendation,
            Review.quality_rating,
            _text_length(),
        )
        .join(Submission, Submission.id == Assignment.submission_id)
        .outerjoin(Review, (Review.assignment_id == Assignment.id) & submitted)
        .where(Assignment.status.in_(ANSWERED), Assignment.submission_id.in_(scope))
        .order_by(Assignment.id)
    )
    return [_record(row) for row in session.execute(stmt)]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _record(row: Any) -> sv.ReviewRecord:
    (aid, eid, sid, category, round_id, invited, responded, due, rid, sent, rec, rating, n) = row
    return sv.ReviewRecord(
        assignment_id=aid,
        expert_id=eid,
        submission_id=sid,
        category=category,
        round_id=round_id,
        invited_on=_day(invited),
        answered_on=_day(responded),
        due_on=due,
        review_id=rid,
        submitted_on=_day(sent) if rid is not None else None,
        recommendation=rec if rid is not None else None,
        rating=rating if rid is not None else None,
        length=int(n or 0) if rid is not None else 0,
    )


def report(session: Session, filters: sv.Filters, config: Mapping[str, Any]) -> sv.Report:
    return sv.report(records(session, filters), filters, thresholds(config))


def expert_names(session: Session, ids: list[int]) -> dict[int, Expert]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_(ids)))}


def expert_facts(session: Session, expert_id: int, filters: sv.Filters) -> list[sv.ReviewFacts]:
    """The expert's own reviews and answers in scope, with what their panels say of them."""
    facts = sv.review_facts(records(session, filters, expert_id))
    return [f for f in facts if f.record.expert_id == expert_id and filters.keeps(f.record)]


def submissions_of(session: Session, ids: list[int]) -> dict[int, Submission]:
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Submission).where(Submission.id.in_(ids)))}
