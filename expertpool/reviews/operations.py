"""Operations of the review workflow: panels, invitations, reviews, ratings and reminders.

Operations take the acting user explicitly, flush but never commit (the request or CLI command
commits once), and raise `ReviewError` with a message fit for the user. Assignment and Review
rows are audited under their expert automatically (core.audit).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..core.assignment.records import Rules
from ..core.errors import OperationError
from ..db import utcnow
from ..experts import operations as expert_ops
from ..experts.models import Assessment, Expert, PastReview
from ..submissions import operations as submission_ops
from ..submissions.constants import CLOSED, SubmissionStatus
from ..submissions.models import Submission
from . import eligibility, notices
from .constants import (
    CRITERIA,
    CRITERION_LABELS,
    OPEN_STATUSES,
    RECOMMENDATIONS,
    VERDICTS,
    AssignmentStatus,
    ReviewStatus,
    Role,
)
from .models import Assignment, Notification, Review

log = logging.getLogger(__name__)

Candidate = tuple[int, float, dict[str, Any]]  # (expert id, affinity, explanation)

# Defaults of the workflow's settings (each may be set in the configuration).
SETTINGS: dict[str, int] = {
    "REVIEW_DUE_DAYS": 30,  # due date when none is given
    "REVIEW_REPLACEMENT_MIN_DAYS": 14,  # an alternate invited late still gets this long
    "REVIEW_INVITE_REMINDER_DAYS": 3,  # remind invitations unanswered this long
    "REVIEW_DUE_REMINDER_DAYS": 7,  # remind reviews due within this many days (or overdue)
}


class ReviewError(OperationError):
    """A refused operation; `str(error)` is shown to the user."""


class StaleEdit(ReviewError):
    def __init__(self) -> None:
        super().__init__(
            str(
                _l(
                    "This review was changed elsewhere (perhaps in another window) "
                    "after you opened the form. Your changes were not saved: reload "
                    "and edit again."
                )
            )
        )


def setting(name: str) -> int:
    config = current_app.config if has_app_context() else {}
    return int(config.get(name, SETTINGS[name]))


def default_rules() -> Rules:
    return eligibility.rules_from_config(current_app.config if has_app_context() else {})


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


# --- panels -----------------------------------------------------------------------------------


def assign_panel(
    session: Session,
    actor: User | None,
    submission: Submission,
    members: Sequence[Candidate],
    alternates: Sequence[Candidate],
    due_date: dt.date | None,
    *,
    round_id: int | None = None,
    rules: Rules | None = None,
    check_eligibility: bool = True,
    today: dt.date | None = None,
) -> list[Assignment]:
    """Invite `members` at once and keep `alternates` ranked behind them (in the given order).

    Refuses experts already on this submission and, unless `check_eligibility` is False (a
    caller that has just checked a whole round), any who may not review it today.
    """
    today = _today(today)
    if submission.status in CLOSED:
        raise ReviewError(str(_l("This submission is closed.")))
    if not members and not alternates:
        raise ReviewError(str(_l("Choose at least one expert.")))
    due_date = due_date or today + dt.timedelta(days=setting("REVIEW_DUE_DAYS"))
    if due_date < today:
        raise ReviewError(str(_l("The due date is in the past.")))
    experts = _experts_for(session, submission, [c[0] for c in (*members, *alternates)])
    if check_eligibility:
        _refuse_ineligible(session, submission, experts.values(), rules or default_rules(), today)
    existing = _assignments(session, submission.id)
    member_rank = max((a.rank for a in existing if a.role == Role.MEMBER), default=0)
    alternate_rank = max((a.rank for a in existing if a.role == Role.ALTERNATE), default=0)
    created = [
        _new_assignment(
            submission, experts[eid], Role.MEMBER, member_rank + i, aff, expl, due_date, round_id
        )
        for i, (eid, aff, expl) in enumerate(members, start=1)
    ]
    created += [
        _new_assignment(
            submission,
            experts[eid],
            Role.ALTERNATE,
            alternate_rank + i,
            aff,
            expl,
            due_date,
            round_id,
        )
        for i, (eid, aff, expl) in enumerate(alternates, start=1)
    ]
    session.add_all(created)
    session.flush()
    notes = [_invite(session, a) for a in created if a.role == Role.MEMBER]
    if members:
        submission_ops.set_status(session, submission, SubmissionStatus.ASSIGNED)
    session.flush()
    notices.send_mail(notes)
    return created


def _experts_for(
    session: Session, submission: Submission, expert_ids: list[int]
) -> dict[int, Expert]:
    if len(set(expert_ids)) != len(expert_ids):
        raise ReviewError(str(_l("An expert is listed twice.")))
    taken = set(
        session.scalars(
            select(Assignment.expert_id).where(Assignment.submission_id == submission.id)
        )
    )
    experts: dict[int, Expert] = {}
    for expert_id in expert_ids:
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise ReviewError(str(_l("No expert #%(id)s.", id=expert_id)))
        if expert_id in taken:
            raise ReviewError(
                str(_l("%(name)s is already on this submission's panel or list.", name=expert.name))
            )
        experts[expert_id] = expert
    return experts


def _refuse_ineligible(
    session: Session, submission: Submission, experts: Any, rules: Rules, today: dt.date
) -> None:
    refused = []
    found = eligibility.exclusion_reasons_of(session, experts, submission, rules, today)
    for expert in experts:
        reasons = found[expert.id]
        if reasons:
            refused.append(f"{expert.name} ({', '.join(r.code for r in reasons)})")
    if refused:
        raise ReviewError(
            str(
                _l(
                    "These experts may not review this submission: %(names)s",
                    names="; ".join(refused),
                )
            )
        )


def _new_assignment(
    submission: Submission,
    expert: Expert,
    role: str,
    rank: int,
    affinity: float,
    explanation: dict[str, Any],
    due_date: dt.date,
    round_id: int | None,
) -> Assignment:
    return Assignment(
        submission=submission,
        expert=expert,
        role=role,
        rank=rank,
        affinity=float(affinity),
        explanation=dict(explanation or {}),
        status=AssignmentStatus.PROPOSED,
        due_date=due_date,
        round_id=round_id,
    )


def _assignments(session: Session, submission_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.submission_id == submission_id)
            .order_by(Assignment.role, Assignment.rank)
        )
    )


def _invite(session: Session, assignment: Assignment) -> Notification:
    assignment.status = AssignmentStatus.INVITED
    assignment.invited_at = utcnow()
    return notices.to_expert(
        session,
        assignment.expert,
        "invitation",
        notices.invitation(assignment),
        target=notices.link("reviews.invitations"),
        assignment=assignment,
    )


# --- the expert's answer ----------------------------------------------------------------------


def _own(actor: User, assignment: Assignment) -> None:
    if assignment.expert.user_id is None or assignment.expert.user_id != actor.id:
        raise ReviewError(str(_l("This invitation is addressed to another expert.")))


def _check_version(row: Assignment | Review | None, expected: int | None) -> None:
    current = row.version if row is not None else 0
    if expected is not None and expected != current:
        raise StaleEdit()


def accept(
    session: Session,
    actor: User,
    assignment: Assignment,
    *,
    no_conflict: bool,
    expected_version: int | None = None,
) -> Assignment:
    """Accept an invitation; the expert must declare that they have no conflict of interest."""
    _own(actor, assignment)
    _check_version(assignment, expected_version)
    if assignment.status != AssignmentStatus.INVITED:
        raise ReviewError(str(_l("This invitation is no longer open.")))
    if not no_conflict:
        raise ReviewError(
            str(
                _l(
                    "To accept, declare that you have no conflict of interest with "
                    "this submission; otherwise decline it and say why."
                )
            )
        )
    audit.set_note(session, "accepted, declared no conflict of interest")
    assignment.status = AssignmentStatus.ACCEPTED
    assignment.conflict_declared_none = True
    assignment.responded_at = utcnow()
    submission_ops.set_status(session, assignment.submission, SubmissionStatus.IN_REVIEW)
    note = notices.to_expert(
        session,
        assignment.expert,
        "accepted",
        notices.accepted(assignment),
        target=notices.link("reviews.review_form", assignment_id=assignment.id),
        assignment=assignment,
    )
    session.flush()
    notices.send_mail([note])
    return assignment


def decline(
    session: Session,
    actor: User,
    assignment: Assignment,
    reason: str,
    *,
    rules: Rules | None = None,
    today: dt.date | None = None,
    expected_version: int | None = None,
) -> Assignment | None:
    """Decline with a reason; the next eligible alternate is invited at once (and returned)."""
    if not actor.is_admin:
        _own(actor, assignment)
    _check_version(assignment, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(str(_l("Please give a reason for declining.")))
    if assignment.status != AssignmentStatus.INVITED:
        raise ReviewError(str(_l("This invitation is no longer open.")))
    audit.set_note(session, reason)
    assignment.status = AssignmentStatus.DECLINED
    assignment.decline_reason = reason
    assignment.responded_at = utcnow()
    session.flush()
    return _replace(session, assignment, rules, _today(today))


def withdraw(
    session: Session,
    actor: User,
    assignment: Assignment,
    reason: str,
    *,
    replace: bool = True,
    rules: Rules | None = None,
    today: dt.date | None = None,
) -> Assignment | None:
    """An administrator takes an expert off a panel (or the alternates' list)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(str(_l("A reason is required.")))
    was = assignment.status
    if was not in (AssignmentStatus.PROPOSED, *OPEN_STATUSES):
        raise ReviewError(str(_l("This assignment is already closed.")))
    audit.set_note(session, reason)
    assignment.status, assignment.withdraw_reason = AssignmentStatus.WITHDRAWN, reason
    session.flush()
    if was in OPEN_STATUSES:
        notices.send_mail(
            [
                notices.to_expert(
                    session,
                    assignment.expert,
                    "withdrawn",
                    notices.withdrawn(assignment, reason),
                    assignment=assignment,
                )
            ]
        )
        if replace:
            return _replace(session, assignment, rules, _today(today))
    return None


def _replace(
    session: Session, gone: Assignment, rules: Rules | None, today: dt.date
) -> Assignment | None:
    due = max(
        gone.due_date or today, today + dt.timedelta(days=setting("REVIEW_REPLACEMENT_MIN_DAYS"))
    )
    invited, _skipped = invite_next_alternate(
        session, gone.submission, due_date=due, rules=rules, today=today
    )
    if invited is None:
        notes = notices.to_admins(
            session,
            "no_alternate",
            notices.no_alternate(gone),
            target=notices.link("submissions.detail", submission_id=gone.submission_id),
            assignment=gone,
        )
        session.flush()
        notices.send_mail(notes)
    return invited


def invite_next_alternate(
    session: Session,
    submission: Submission,
    *,
    due_date: dt.date,
    rules: Rules | None = None,
    today: dt.date | None = None,
) -> tuple[Assignment | None, list[Assignment]]:
    """Invite the best-ranked alternate still eligible; pass over (and record why) the others.

    Returns the invited assignment (None when no alternate is left) and those passed over.
    """
    today, rules = _today(today), rules or default_rules()
    skipped: list[Assignment] = []
    waiting = session.scalars(
        select(Assignment)
        .where(
            Assignment.submission_id == submission.id,
            Assignment.role == Role.ALTERNATE,
            Assignment.status == AssignmentStatus.PROPOSED,
        )
        .order_by(Assignment.rank)
    )
    for alternate in list(waiting):
        reasons = eligibility.exclusion_reasons(session, alternate.expert, submission, rules, today)
        if reasons:
            _pass_over(session, alternate, reasons)
            skipped.append(alternate)
            continue
        alternate.due_date = due_date
        note = _invite(session, alternate)
        session.flush()
        notices.send_mail([note])
        return alternate, skipped
    return None, skipped


def _pass_over(session: Session, alternate: Assignment, reasons: list[Any]) -> None:
    codes = ", ".join(r.code for r in reasons)
    audit.set_note(session, f"alternate passed over: {codes}")
    alternate.status = AssignmentStatus.WITHDRAWN
    alternate.exclusions = eligibility.exclusion_dicts(reasons)
    alternate.withdraw_reason = f"ineligible when their turn came: {codes}"
    session.flush()
    log.info("alternate %r passed over: %r", alternate.id, codes)


def set_due_date(
    session: Session, actor: User, assignment: Assignment, due_date: dt.date
) -> Assignment:
    if assignment.status not in (AssignmentStatus.PROPOSED, *OPEN_STATUSES):
        raise ReviewError(str(_l("This assignment is already closed.")))
    assignment.due_date = due_date
    session.flush()
    return assignment


def close_submission(session: Session, actor: User, submission: Submission, reason: str) -> int:
    """After a submission is withdrawn: withdraw its open assignments and tell the experts.

    Connected to `submission_withdrawn` by the reviews feature's `init_app`.
    """
    count = 0
    for assignment in _assignments(session, submission.id):
        if assignment.status in (AssignmentStatus.PROPOSED, *OPEN_STATUSES):
            withdraw(session, actor, assignment, reason, replace=False)
            count += 1
    return count


def on_submission_withdrawn(
    submission: Submission, *, session: Session, actor: User, reason: str, **_kw: Any
) -> None:
    close_submission(session, actor, submission, reason)


def open_panel_count(session: Session, submission: Submission) -> int:
    """Invitations and reviews still open on the panel (what a withdrawal would cancel)."""
    return sum(
        a.status in (AssignmentStatus.PROPOSED, *OPEN_STATUSES)
        for a in _assignments(session, submission.id)
    )


# --- the review -------------------------------------------------------------------------------


def review_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The review's own fields from form data, unknown verdicts dropped."""
    values: dict[str, Any] = {}
    for name in CRITERIA:
        verdict = data.get(name) or None
        values[name] = verdict if verdict in VERDICTS else None
        values[f"{name}_comment"] = (data.get(f"{name}_comment") or "").strip() or None
    recommendation = data.get("recommendation") or None
    values["recommendation"] = recommendation if recommendation in RECOMMENDATIONS else None
    values["summary"] = (data.get("summary") or "").strip() or None
    return values


def save_review(
    session: Session,
    actor: User,
    assignment: Assignment,
    data: Mapping[str, Any],
    *,
    submit: bool,
    expected_version: int | None,
) -> Review:
    """Save the expert's draft, or submit it (complete, final, added to their file)."""
    _own(actor, assignment)
    review = assignment.review
    _check_version(review, expected_version)
    if assignment.status != AssignmentStatus.ACCEPTED or (review and review.submitted):
        raise ReviewError(str(_l("This review can no longer be changed.")))
    values = review_values(data)
    if submit:
        _require_complete(values)
    if review is None:
        review = Review(assignment=assignment, expert_id=assignment.expert_id)
        session.add(review)
    for key, value in values.items():
        setattr(review, key, value)
    session.flush()
    if submit:
        _submit(session, assignment, review)
    return review


def _require_complete(values: dict[str, Any]) -> None:
    missing = [str(CRITERION_LABELS[n]) for n in CRITERIA if not values[n]]
    unexplained = [
        str(CRITERION_LABELS[n])
        for n in CRITERIA
        if values[n] in ("minor", "major") and not values[f"{n}_comment"]
    ]
    problems = []
    if missing:
        problems.append(str(_l("give a verdict on: %(names)s", names=", ".join(missing))))
    if unexplained:
        problems.append(
            str(_l("explain the issues found in: %(names)s", names=", ".join(unexplained)))
        )
    if not values["recommendation"]:
        problems.append(str(_l("choose an overall recommendation")))
    if not values["summary"]:
        problems.append(str(_l("write a summary")))
    if problems:
        raise ReviewError(
            str(
                _l(
                    "The review cannot be submitted yet: %(problems)s.",
                    problems="; ".join(problems),
                )
            )
        )


def _submit(session: Session, assignment: Assignment, review: Review) -> None:
    submission = assignment.submission
    review.status, review.submitted_at = ReviewStatus.SUBMITTED, utcnow()
    assignment.status = AssignmentStatus.COMPLETED
    session.add(
        PastReview(
            expert_id=assignment.expert_id,
            year=dt.date.today().year,
            rm_name=(submission.rm_name or submission.title)[:256],
            gbw_number=submission.gbw_number,
            category=submission.category,
            note=f"submission #{submission.id}: {review.recommendation}",
        )
    )
    session.flush()
    notes = notices.to_admins(
        session,
        "review_submitted",
        notices.review_submitted(assignment),
        target=notices.link("reviews.review_detail", review_id=review.id),
        assignment=assignment,
    )
    _complete_if_done(session, submission)
    session.flush()
    notices.send_mail(notes)


def _complete_if_done(session: Session, submission: Submission) -> None:
    """Completed once some review is in and nobody is still invited or reviewing.

    The statuses are read from the database, not from assignments this session loaded before
    (another expert's may have been submitted since), after locking the submission's row so
    that the last two reviews of a panel, submitted at once, cannot both miss each other.
    """
    session.execute(select(Submission.id).where(Submission.id == submission.id).with_for_update())
    statuses = set(
        session.scalars(select(Assignment.status).where(Assignment.submission_id == submission.id))
    )
    if AssignmentStatus.COMPLETED in statuses and not statuses & OPEN_STATUSES:
        submission_ops.set_status(session, submission, SubmissionStatus.COMPLETED)


def rate_review(
    session: Session, actor: User, review: Review, rating: int, comment: str | None = None
) -> Assessment:
    """The administrator's review-quality rating (1-5), kept in the expert's technical file."""
    if not review.submitted:
        raise ReviewError(str(_l("Only a submitted review can be rated.")))
    if review.quality_rating is not None:
        raise ReviewError(str(_l("This review has already been rated.")))
    submission = review.assignment.submission
    note = f"#{submission.id} {submission.title}"
    comment = (comment or "").strip()
    try:
        assessment = expert_ops.record_assessment(
            session,
            actor,
            review.assignment.expert,
            "review_quality",
            dt.date.today().year,
            rating,
            f"{note}: {comment}" if comment else note,
        )
    except expert_ops.ExpertError as exc:
        raise ReviewError(str(exc)) from exc
    review.quality_rating, review.quality_assessment_id = rating, assessment.id
    review.quality_rated_by_id = actor.id
    session.flush()
    return assessment


# --- reminders --------------------------------------------------------------------------------


def send_reminders(
    session: Session, today: dt.date, *, invite_days: int | None = None, due_days: int | None = None
) -> int:
    """Remind unanswered invitations and reviews due soon or overdue; returns how many.

    One in-app notification per thing per day (a second run the same day adds nothing), also
    e-mailed when SMTP_HOST is configured.
    """
    invite_days = setting("REVIEW_INVITE_REMINDER_DAYS") if invite_days is None else invite_days
    due_days = setting("REVIEW_DUE_REMINDER_DAYS") if due_days is None else due_days
    planned = [
        (
            f"invite_reminder:{a.id}:{today.isoformat()}",
            "invite_reminder",
            a,
            notices.invitation_reminder(a, (today - a.invited_at.date()).days),
        )
        for a in _unanswered(session, today, invite_days)
    ]
    for a in _due(session, today, due_days):
        kind = "overdue" if a.due_date < today else "due_soon"
        planned.append(
            (f"{kind}:{a.id}:{today.isoformat()}", kind, a, notices.due_reminder(a, today))
        )
    sent = _already_sent(session, [key for key, *_rest in planned])
    notes = []
    for key, kind, assignment, texts in planned:
        if key in sent:
            continue
        target = (
            notices.link("reviews.invitations")
            if kind == "invite_reminder"
            else notices.link("reviews.review_form", assignment_id=assignment.id)
        )
        notes.append(
            notices.to_expert(
                session,
                assignment.expert,
                kind,
                texts,
                target=target,
                assignment=assignment,
                dedupe_key=key,
            )
        )
    session.flush()
    notices.send_mail(notes)
    return len(notes)


def _unanswered(session: Session, today: dt.date, days: int) -> list[Assignment]:
    cutoff = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time.min)
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.status == AssignmentStatus.INVITED, Assignment.invited_at < cutoff)
            .order_by(Assignment.id)
        )
    )


def _due(session: Session, today: dt.date, days: int) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(
                Assignment.status == AssignmentStatus.ACCEPTED,
                Assignment.due_date.is_not(None),
                Assignment.due_date <= today + dt.timedelta(days=days),
            )
            .order_by(Assignment.id)
        )
    )


def _already_sent(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
        chunk = keys[start : start + 500]
        found.update(
            session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))
            )
        )
    return found
