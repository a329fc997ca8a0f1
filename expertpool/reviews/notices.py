"""Notifications of the review workflow: who receives what, in their own language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..accounts.models import User, UserRole
from ..core.access import Role
from ..db import utcnow
from ..experts.models import Expert
from . import mailer
from .models import Assignment, Notification

Texts = Callable[[], tuple[str, str]]  # () -> (subject, body), called in the reader's locale


def link(endpoint: str, **values: Any) -> str:
    """A path inside the app, built without a request (CLI commands have none)."""
    return current_app.url_map.bind("").build(endpoint, values)


def _locale_of(user: User | None) -> str:
    languages = current_app.config.get("LANGUAGES") or ["zh_CN"]
    locale = getattr(user, "locale", None)
    return locale if locale in languages else languages[0]


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
    """Message an expert: their inbox (when they have an account) and their e-mail address."""
    user = session.get(User, expert.user_id) if expert.user_id else None
    with force_locale(_locale_of(user)):
        subject, body = texts()
    note = Notification(
        user_id=expert.user_id,
        expert_id=expert.id,
        kind=kind,
        subject=subject[:256],
        body=body,
        link=target,
        assignment_id=assignment.id if assignment else None,
        dedupe_key=dedupe_key,
        email_to=expert.email,
    )
    session.add(note)
    return note


def to_admins(
    session: Session,
    kind: str,
    texts: Texts,
    *,
    target: str | None = None,
    assignment: Assignment | None = None,
) -> list[Notification]:
    """Message every active administrator."""
    admins = session.scalars(
        select(User).join(UserRole).where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )
    notes = []
    for admin in admins:
        with force_locale(_locale_of(admin)):
            subject, body = texts()
        note = Notification(
            user_id=admin.id,
            kind=kind,
            subject=subject[:256],
            body=body,
            link=target,
            email_to=admin.email,
            assignment_id=assignment.id if assignment else None,
        )
        session.add(note)
        notes.append(note)
    return notes


def send_mail(notes: list[Notification]) -> int:
    """E-mail the notes now when SMTP is configured (outside an app: never)."""
    if not has_app_context():
        return 0
    return mailer.deliver(notes, current_app.config)


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


# --- the inbox --------------------------------------------------------------------------------


def inbox_filter(user: User, expert_id: int | None) -> Any:
    """Messages addressed to the user, or to their expert record before it had an account."""
    clauses = [Notification.user_id == user.id]
    if expert_id is not None:
        clauses.append(Notification.expert_id == expert_id)
    return or_(*clauses)


def unread_count(session: Session, user: User, expert_id: int | None) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(inbox_filter(user, expert_id), Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(notes: list[Notification]) -> int:
    now = utcnow()
    changed = [n for n in notes if n.read_at is None]
    for note in changed:
        note.read_at = now
    return len(changed)
