"""Addressing messages: to a user (or an expert record without an account yet), to admins.

Texts are built by a callable run in the recipient's locale, so every message reads in the
language of the person who receives it; e-mail goes through `mailer` only when SMTP is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..accounts.models import User, UserRole
from ..core.access import Role
from ..db import utcnow
from . import mailer
from .models import Notification

Texts = Callable[[], tuple[str, str]]  # () -> (subject, body), called in the reader's locale


def link(endpoint: str, **values: Any) -> str:
    """A path inside the app, built without a request (CLI commands have none)."""
    return current_app.url_map.bind("").build(endpoint, values)


def locale_of(user: User | None) -> str:
    languages = current_app.config.get("LANGUAGES") or ["zh_CN"]
    locale = getattr(user, "locale", None)
    return locale if locale in languages else languages[0]


def notify(
    session: Session,
    kind: str,
    texts: Texts,
    *,
    user: User | None = None,
    expert_id: int | None = None,
    email_to: str | None = None,
    target: str | None = None,
    assignment_id: int | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """One message: to `user`'s inbox and/or waiting under `expert_id`, e-mailed to `email_to`.

    `email_to` defaults to the user's address. The row is added, not flushed.
    """
    with force_locale(locale_of(user)):
        subject, body = texts()
    note = Notification(
        user_id=user.id if user is not None else None,
        expert_id=expert_id,
        kind=kind,
        subject=subject[:256],
        body=body,
        link=target,
        assignment_id=assignment_id,
        dedupe_key=dedupe_key,
        email_to=email_to if email_to is not None else (user.email if user else None),
    )
    session.add(note)
    return note


def to_user(
    session: Session, user: User, kind: str, texts: Texts, *, target: str | None = None
) -> Notification:
    return notify(session, kind, texts, user=user, target=target)


def to_expert(
    session: Session,
    expert: Any,
    kind: str,
    texts: Texts,
    *,
    target: str | None = None,
    assignment_id: int | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Message an expert (any record with `id`, `user_id`, `email`): their inbox when they have
    an account, and their e-mail address (the file's, else the account's)."""
    user = session.get(User, expert.user_id) if expert.user_id else None
    return notify(
        session,
        kind,
        texts,
        user=user,
        expert_id=expert.id,
        email_to=expert.email or None,
        target=target,
        assignment_id=assignment_id,
        dedupe_key=dedupe_key,
    )


def active_admins(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.ADMIN, User.active.is_(True))
            .order_by(User.id)
        )
    )


def to_admins(
    session: Session,
    kind: str,
    texts: Texts,
    *,
    target: str | None = None,
    assignment_id: int | None = None,
) -> list[Notification]:
    """Message every active administrator."""
    return [
        notify(session, kind, texts, user=admin, target=target, assignment_id=assignment_id)
        for admin in active_admins(session)
    ]


def send_mail(notes: list[Notification]) -> int:
    """E-mail the notes now when SMTP is configured (outside an app: never)."""
    if not has_app_context():
        return 0
    return mailer.deliver(notes, current_app.config)


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
