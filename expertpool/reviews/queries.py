"""Read-side queries of the review workflow: panels, an expert's work, the progress board."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core.pagination import count_rows
from ..experts.models import Expert
from ..submissions.constants import SubmissionStatus
from ..submissions.models import Submission
from .constants import LOAD_STATUSES, AssignmentStatus, ReviewStatus, Role
from .models import Assignment, Review

BOARD_STATUSES = (SubmissionStatus.ASSIGNED, SubmissionStatus.IN_REVIEW)
# Order in which a panel is listed: active members first, then the rest.
_STATUS_ORDER = {
    AssignmentStatus.ACCEPTED: 0,
    AssignmentStatus.INVITED: 1,
    AssignmentStatus.COMPLETED: 2,
    AssignmentStatus.PROPOSED: 3,
    AssignmentStatus.DECLINED: 4,
    AssignmentStatus.WITHDRAWN: 5,
}


def expert_of(session: Session, user: User) -> Expert | None:
    return session.scalar(select(Expert).where(Expert.user_id == user.id))


def panel(session: Session, submission_id: int) -> list[Assignment]:
    """Everyone ever placed on the submission: panel first, alternates by rank, then the rest."""
    rows = session.scalars(select(Assignment).where(Assignment.submission_id == submission_id))
    return sorted(
        rows,
        key=lambda a: (
            a.role == Role.ALTERNATE and a.status == AssignmentStatus.PROPOSED,
            _STATUS_ORDER.get(a.status, 9),
            a.role,
            a.rank,
        ),
    )


def assigned_expert_ids(session: Session, submission_id: int) -> set[int]:
    """Experts already on the submission in any way (assign_panel refuses them again)."""
    return set(
        session.scalars(
            select(Assignment.expert_id).where(Assignment.submission_id == submission_id)
        )
    )


def of_expert(session: Session, expert_id: int, statuses: tuple[str, ...]) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.expert_id == expert_id, Assignment.status.in_(statuses))
            .order_by(Assignment.due_date.asc().nulls_last(), Assignment.id.desc())
        )
    )


# --- the progress board -----------------------------------------------------------------------


@dataclass
class BoardRow:
    submission: Submission
    assignments: list[Assignment] = field(default_factory=list)  # without waiting alternates
    alternates_left: int = 0

    def count(self, status: str) -> int:
        return sum(1 for a in self.assignments if a.status == status)

    def overdue(self, today: dt.date) -> int:
        return sum(1 for a in self.assignments if a.overdue(today))

    @property
    def next_due(self) -> dt.date | None:
        dues = [
            a.due_date
            for a in self.assignments
            if a.due_date and a.status in (AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED)
        ]
        return min(dues) if dues else None


def board_statement(
    status: str = "",
    overdue_only: bool = False,
    today: dt.date | None = None,
    short_only: bool = False,
    unrated_only: bool = False,
) -> Any:
    """Submissions on the board (panel assigned or in review), soonest due first.

    `unrated_only`: those with a submitted review that has no quality rating yet, completed
    submissions included (a panel's last review completes the submission before it is rated).
    """
    stmt = select(Submission)
    statuses = (
        [status]
        if status in {*BOARD_STATUSES, SubmissionStatus.COMPLETED}
        else [*BOARD_STATUSES, SubmissionStatus.COMPLETED]
        if unrated_only
        else list(BOARD_STATUSES)
    )
    stmt = stmt.where(Submission.status.in_(statuses))
    if overdue_only:
        stmt = stmt.where(
            Submission.id.in_(
                select(Assignment.submission_id).where(
                    Assignment.status == AssignmentStatus.ACCEPTED,
                    Assignment.due_date < (today or dt.date.today()),
                )
            )
        )
    if short_only:
        stmt = stmt.where(Submission.id.in_(short_panel_ids()))
    if unrated_only:
        stmt = stmt.where(Submission.id.in_(_unrated_submission_ids()))
    next_due = (
        select(func.min(Assignment.due_date))
        .where(
            Assignment.submission_id == Submission.id,
            Assignment.status.in_([AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED]),
        )
        .scalar_subquery()
    )
    return stmt.order_by(next_due.asc().nulls_last(), Submission.id)


def board_rows(session: Session, submissions: list[Submission]) -> list[BoardRow]:
    """Each submission with its assignments, loaded in one query."""
    rows = {s.id: BoardRow(submission=s) for s in submissions}
    if not rows:
        return []
    found = session.scalars(
        select(Assignment)
        .where(Assignment.submission_id.in_(list(rows)))
        .order_by(Assignment.role, Assignment.rank)
    )
    by_submission: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in found:
        by_submission[assignment.submission_id].append(assignment)
    for sid, assignments in by_submission.items():
        row = rows[sid]
        for a in assignments:
            if a.status == AssignmentStatus.PROPOSED:
                row.alternates_left += 1
            else:
                row.assignments.append(a)
    return list(rows.values())


def board_counts(session: Session, today: dt.date) -> dict[str, int]:
    """Assignments of submissions on the board, by status, plus how many are overdue."""
    open_ids = select(Submission.id).where(Submission.status.in_(BOARD_STATUSES))
    rows = session.execute(
        select(Assignment.status, func.count())
        .where(Assignment.submission_id.in_(open_ids))
        .group_by(Assignment.status)
    ).all()
    counts: Counter[str] = Counter({status: n for status, n in rows})
    counts["overdue"] = (
        session.scalar(
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.submission_id.in_(open_ids),
                Assignment.status == AssignmentStatus.ACCEPTED,
                Assignment.due_date < today,
            )
        )
        or 0
    )
    return {
        status: counts.get(status, 0)
        for status in (*[s.value for s in AssignmentStatus], "overdue")
    }


def short_panel_ids() -> Any:
    """Submissions where an invitation was declined and nobody replaced it.

    The panel is short when fewer experts are invited, reviewing or done than the panel's
    member seats; with a declined invitation, that means no alternate took the seat.
    """
    seats = func.sum(case((Assignment.role == Role.MEMBER, 1), else_=0))
    active = func.sum(case((Assignment.status.in_(list(LOAD_STATUSES)), 1), else_=0))
    declined = func.sum(case((Assignment.status == AssignmentStatus.DECLINED, 1), else_=0))
    return (
        select(Assignment.submission_id)
        .group_by(Assignment.submission_id)
        .having(declined > 0, active < seats)
    )


# --- home pages -------------------------------------------------------------------------------


def admin_queue_counts(session: Session, today: dt.date) -> dict[str, int]:
    """Counts for the administrator's work queue; each equals the rows its board link lists."""
    return {
        "short_panels": count_rows(session, board_statement(short_only=True, today=today)),
        "overdue": count_rows(session, board_statement(overdue_only=True, today=today)),
        "unrated": count_rows(session, board_statement(unrated_only=True, today=today)),
    }


def _unrated_submission_ids() -> Any:
    """Submissions with a submitted review still waiting for the office's quality rating."""
    return (
        select(Assignment.submission_id)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(Review.status == ReviewStatus.SUBMITTED, Review.quality_rating.is_(None))
    )


@dataclass
class ExpertTodo:
    invitations: list[Assignment]  # waiting for an answer, oldest invitation first
    reviews_due: list[Assignment]  # accepted, soonest due first (overdue ones lead)
    today: dt.date

    def overdue(self, assignment: Assignment) -> bool:
        return assignment.overdue(self.today)


def expert_todo(session: Session, expert: Expert, today: dt.date | None = None) -> ExpertTodo:
    today = today or dt.date.today()
    invitations = list(
        session.scalars(
            select(Assignment)
            .where(
                Assignment.expert_id == expert.id,
                Assignment.status == AssignmentStatus.INVITED,
            )
            .order_by(Assignment.invited_at.asc().nulls_last(), Assignment.id)
        )
    )
    reviews_due = list(
        session.scalars(
            select(Assignment)
            .where(
                Assignment.expert_id == expert.id,
                Assignment.status == AssignmentStatus.ACCEPTED,
            )
            .order_by(Assignment.due_date.asc().nulls_last(), Assignment.id)
        )
    )
    return ExpertTodo(invitations=invitations, reviews_due=reviews_due, today=today)
