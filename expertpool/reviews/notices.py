"""Notifications of the review workflow: who receives what, in their own language."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..experts.models import Expert
from ..notifications import service
from ..notifications.service import (  # noqa: F401  (the inbox helpers, used by the views)
    Texts,
    inbox_filter,
    link,
    mark_read,
    send_mail,
    unread_count,
)
from .models import Assignment, Notification


def to_expert(
    session: Session,
    expert: Expert,
    kind: str,
    texts: Texts,
    *,
    target: str | None = None,
    assignment: Assignment | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Message an expert about an assignment: their inbox and their e-mail address."""
    return service.to_expert(
        session,
        expert,
        kind,
        texts,
        target=target,
        assignment_id=assignment.id if assignment else None,
        dedupe_key=dedupe_key,
    )


def to_admins(
    session: Session,
    kind: str,
    texts: Texts,
    *,
    target: str | None = None,
    assignment: Assignment | None = None,
) -> list[Notification]:
    """Message every active administrator."""
    return service.to_admins(
        session, kind, texts, target=target, assignment_id=assignment.id if assignment else None
    )


# --- the messages -----------------------------------------------------------------------------


def _title(assignment: Assignment) -> str:
    return assignment.submission.title


def invitation(assignment: Assignment) -> Texts:
    def texts() -> tuple[str, str]:
        due = assignment.due_date.isoformat() if assignment.due_date else _("not set")
        return (
            _("Invitation to review: %(title)s", title=_title(assignment)),
            _(
                "You are invited to review “%(title)s”. Please accept (declaring that you have "
                "no conflict of interest) or decline with a reason. Review due: %(due)s.",
                title=_title(assignment),
                due=due,
            ),
        )

    return texts


def accepted(assignment: Assignment) -> Texts:
    def texts() -> tuple[str, str]:
        due = assignment.due_date.isoformat() if assignment.due_date else _("not set")
        return (
            _("You are on the panel: %(title)s", title=_title(assignment)),
            _(
                "Thank you for accepting to review “%(title)s”. Your review is due on %(due)s; "
                "the review form is open now.",
                title=_title(assignment),
                due=due,
            ),
        )

    return texts


def invitation_reminder(assignment: Assignment, days: int) -> Texts:
    def texts() -> tuple[str, str]:
        return (
            _("Reminder: invitation to review %(title)s", title=_title(assignment)),
            _(
                "Your invitation to review “%(title)s” has waited %(days)d days for an "
                "answer. Please accept or decline it.",
                title=_title(assignment),
                days=days,
            ),
        )

    return texts


def due_reminder(assignment: Assignment, today: dt.date) -> Texts:
    def texts() -> tuple[str, str]:
        due = assignment.due_date or today
        if due < today:
            return (
                _("Overdue review: %(title)s", title=_title(assignment)),
                _(
                    "Your review of “%(title)s” was due on %(due)s (%(days)d days ago). Please "
                    "submit it as soon as possible.",
                    title=_title(assignment),
                    due=due.isoformat(),
                    days=(today - due).days,
                ),
            )
        return (
            _("Review due soon: %(title)s", title=_title(assignment)),
            _(
                "Your review of “%(title)s” is due on %(due)s (in %(days)d days).",
                title=_title(assignment),
                due=due.isoformat(),
                days=(due - today).days,
            ),
        )

    return texts


def withdrawn(assignment: Assignment, reason: str) -> Texts:
    def texts() -> tuple[str, str]:
        return (
            _("Review cancelled: %(title)s", title=_title(assignment)),
            _(
                "You no longer need to review “%(title)s”. Reason: %(reason)s",
                title=_title(assignment),
                reason=reason,
            ),
        )

    return texts


def no_alternate(assignment: Assignment) -> Texts:
    def texts() -> tuple[str, str]:
        return (
            _("No alternate left: %(title)s", title=_title(assignment)),
            _(
                "%(name)s is no longer on the panel of “%(title)s” and no eligible alternate "
                "is left. Choose another expert.",
                name=assignment.expert.name,
                title=_title(assignment),
            ),
        )

    return texts


def review_submitted(assignment: Assignment) -> Texts:
    def texts() -> tuple[str, str]:
        return (
            _("Review submitted: %(title)s", title=_title(assignment)),
            _(
                "%(name)s submitted their review of “%(title)s”. Please rate its quality.",
                name=assignment.expert.name,
                title=_title(assignment),
            ),
        )

    return texts
