"""Server-side sessions: what makes a signed-in request signed in.

Signing in creates a `UserSession` row and puts a random token in the (signed) Flask session
cookie; the user loader (`load_user`) accepts a request only while that row is live: not ended,
used within SESSION_IDLE_MINUTES and younger than SESSION_MAX_HOURS. A session ends on sign-out,
when the person signs it out from another one, when an administrator signs the person out, and by
itself (the flush listener below) whenever the account's password, roles or enabled state change:
a copied cookie then stops working everywhere. flask-login's remember-me cookie is not used.

The last-seen time is written at most every SESSION_TOUCH_SECONDS, in its own short transaction,
so a page view does not hold the database's write lock for the whole request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import Any

from flask import current_app, g, has_request_context, request, session
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..core.features import listen
from ..db import db, utcnow
from .models import User, UserRole, UserSession

log = logging.getLogger(__name__)

COOKIE_KEY = "_sid"  # the Flask session key holding the token
_CURRENT = "accounts_session_id"  # flask.g: the id of the request's own UserSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address() -> str | None:
    """The client's address (ProxyFix has applied TRUSTED_PROXIES to it)."""
    return (request.remote_addr or "")[:64] or None


def client_agent() -> str | None:
    return (request.headers.get("User-Agent") or "")[:255] or None


def start(db_session: Session, user: User) -> UserSession:
    """Open a session for `user` in this request and put its token in the cookie."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_hash(token), user_id=user.id, ip=client_address(), user_agent=client_agent()
    )
    db_session.add(row)
    db_session.flush()
    session[COOKIE_KEY] = token
    setattr(g, _CURRENT, row.id)
    return row


def current(db_session: Session) -> UserSession | None:
    """The request's own live session (after the user loader accepted it)."""
    session_id = _current_id()
    return db_session.get(UserSession, session_id) if session_id else None


def _current_id() -> int | None:
    return g.get(_CURRENT) if has_request_context() else None


def load_user(user_id: str) -> User | None:
    """flask-login's user loader: the user of a live session whose token the cookie carries."""
    token = session.get(COOKIE_KEY)
    if not token or not str(user_id).isdigit():
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))
    now = utcnow()
    if row is None or row.user_id != int(user_id) or not is_live(row, now, current_app.config):
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    setattr(g, _CURRENT, row.id)
    _touch(row, now, current_app.config)
    return user


def is_live(row: UserSession, now: dt.datetime, config: Any) -> bool:
    """Not ended, not idle too long, not too old."""
    idle = dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    lifetime = dt.timedelta(hours=config["SESSION_MAX_HOURS"])
    return (
        row.ended_at is None and now - row.last_seen_at < idle and now - row.created_at < lifetime
    )


def _touch(row: UserSession, now: dt.datetime, config: Any) -> None:
    """Write the last-seen time if it is older than SESSION_TOUCH_SECONDS, in its own transaction.

    The request has written nothing yet (the loader runs in the first `before_request`), so this
    short transaction takes the write lock only for itself. Best effort: a busy database costs
    at most the idle limit's precision, never the page.
    """
    if (now - row.last_seen_at).total_seconds() < config["SESSION_TOUCH_SECONDS"]:
        return
    table = UserSession.__table__
    try:
        with db.engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == row.id).values(last_seen_at=now))
    except OperationalError as exc:
        log.warning("could not record session %r as seen: %r", row.id, exc)
        return
    db.session.expire(row, ["last_seen_at"])


def end(db_session: Session, row: UserSession, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), reason
        db_session.flush()


def end_all(db_session: Session, user_id: int, reason: str, keep: int | None = None) -> int:
    """End every live session of the user but `keep`; returns how many ended."""
    table = UserSession.__table__
    statement = (
        update(table)
        .where(table.c.user_id == user_id, table.c.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    if keep is not None:
        statement = statement.where(table.c.id != keep)
    ended = db_session.connection().execute(statement).rowcount
    for row in db_session.identity_map.values():
        if isinstance(row, UserSession) and row.user_id == user_id and row.id != keep:
            db_session.expire(row, ["ended_at", "end_reason"])
    return ended


def live_sessions(db_session: Session, user_id: int) -> list[UserSession]:
    config, now = current_app.config, utcnow()
    rows = db_session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    )
    return [row for row in rows if is_live(row, now, config)]


# -- a changed password, roles or enabled state ends the account's sessions ------------------------


def _changed_accounts(db_session: Session, flush_context: Any) -> None:
    """After a flush: which accounts changed password, roles or enabled state (and why)."""
    reasons: dict[int, str] = {}
    for obj in db_session.dirty:
        if isinstance(obj, User) and obj.id is not None:
            reason = _user_change(obj)
            if reason:
                reasons.setdefault(obj.id, reason)
    new_users = {obj.id for obj in db_session.new if isinstance(obj, User)}
    for obj in [*db_session.new, *db_session.deleted]:
        if isinstance(obj, UserRole) and obj.user_id and obj.user_id not in new_users:
            reasons.setdefault(obj.user_id, "roles")
    if not reasons:
        return
    keep = _current_id()
    for user_id, reason in reasons.items():
        # The person's own request (a password change) keeps its session; all others end.
        ended = end_all(db_session, user_id, reason, keep=keep)
        if ended:
            log.info("ended %d session(s) of user %r: %s", ended, user_id, reason)


def _user_change(user: User) -> str | None:
    from sqlalchemy import inspect

    attrs = inspect(user).attrs
    if attrs.password_hash.history.deleted:
        return "password"
    active = attrs.active.history
    if active.deleted and not user.active:
        return "deactivated"
    return None


def connect() -> None:
    """Attach the listener (accounts' `init_app`)."""
    listen("after_flush", _changed_accounts)


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str | None) -> str:
    """ "Chrome · Windows" from a User-Agent header (enough to recognise one's own devices)."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    parts = [p for p in (browser, system) if p]
    return " · ".join(parts) if parts else (agent[:40] or "-")
