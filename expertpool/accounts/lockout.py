"""Per-account lockout after repeated failed sign-ins (MLPS 2.0 level 3: 登录失败处理).

The counters live in the database (`login_throttle`), so every worker and host counts the same
failures without Redis. Each failure is one atomic upsert; LOGIN_MAX_FAILURES within
LOGIN_FAILURE_WINDOW_MINUTES lock the account for LOGIN_LOCK_MINUTES, doubled for each further
lock (up to LOGIN_LOCK_MAX_MINUTES) until a successful sign-in or an administrator's unlock
resets it. A name no account has is counted and locked the same way, so a lock tells nothing
about whether an account exists. The per-address limit is Flask-Limiter's (LOGIN_RATE_LIMIT).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import utcnow
from .models import LoginThrottle, User


def key_for(user: User | None, login: str) -> str:
    if user is not None:
        return f"user:{user.id}"
    return "name:" + hashlib.sha256(login.strip().lower().encode()).hexdigest()[:64]


def locked_until(session: Session, key: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the lock on `key` ends, or None when it is not locked."""
    until = session.scalar(select(LoginThrottle.locked_until).where(LoginThrottle.key == key))
    return until if until is not None and until > (now or utcnow()) else None


def fail(
    session: Session, key: str, config: Any, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Count a failure; returns the end of the lock it caused, if it caused one."""
    now = now or utcnow()
    table = LoginThrottle.__table__
    window_start = now - dt.timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"])
    stale = table.c.window_started_at < window_start
    insert = _insert_for(session)(table).values(key=key, failures=1, window_started_at=now, locks=0)
    failures = session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((stale, 1), else_=table.c.failures + 1),
                "window_started_at": case((stale, now), else_=table.c.window_started_at),
            },
        ).returning(table.c.failures, table.c.locks)
    ).one()
    if failures.failures < config["LOGIN_MAX_FAILURES"]:
        return None
    minutes = min(
        config["LOGIN_LOCK_MINUTES"] * 2 ** min(failures.locks, 16),
        config["LOGIN_LOCK_MAX_MINUTES"],
    )
    until = now + dt.timedelta(minutes=minutes)
    # Conditional on the count, so of two workers reaching it at once only one locks.
    locked = session.execute(
        update(table)
        .where(table.c.key == key, table.c.failures >= config["LOGIN_MAX_FAILURES"])
        .values(failures=0, window_started_at=now, locked_until=until, locks=table.c.locks + 1)
    ).rowcount
    return until if locked else None


def succeed(session: Session, key: str) -> None:
    """A successful sign-in forgets the failures and the back-off."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def unlock(session: Session, user: User) -> bool:
    """An administrator's unlock; True when the account was locked."""
    was_locked = locked_until(session, key_for(user, "")) is not None
    succeed(session, key_for(user, ""))
    return was_locked


def prune(session: Session, now: dt.datetime, keep_minutes: int) -> int:
    """Forget counters untouched for `keep_minutes` whose lock (if any) ended that long ago."""
    before = now - dt.timedelta(minutes=keep_minutes)
    return session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at < before,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < before),
        )
    ).rowcount


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
