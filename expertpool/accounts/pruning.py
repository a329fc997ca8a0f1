"""The periodic clean-up of sign-in records (LOGIN_HISTORY_PRUNE_CRON)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import delete, or_

from ..db import utcnow
from . import lockout
from .models import LoginEvent, UserSession


def prune_login_history(ctx: Any, at: str | None = None) -> dict[str, int]:
    """Forget sign-ins and sessions older than LOGIN_HISTORY_DAYS, and stale failure counters.

    Sessions are kept while they could still be live (SESSION_MAX_HOURS) whatever the setting.
    `at` is the day of the schedule's occurrence (unused: the cut-off is counted from now).
    """
    config, now = current_app.config, utcnow()
    before = now - dt.timedelta(days=config["LOGIN_HISTORY_DAYS"])
    session_before = min(before, now - dt.timedelta(hours=config["SESSION_MAX_HOURS"]))
    events = ctx.session.execute(delete(LoginEvent).where(LoginEvent.at < before)).rowcount
    ended = ctx.session.execute(
        delete(UserSession).where(
            UserSession.created_at < session_before,
            or_(UserSession.ended_at.is_not(None), UserSession.last_seen_at < session_before),
        )
    ).rowcount
    counters = lockout.prune(
        ctx.session,
        now,
        max(config["LOGIN_FAILURE_WINDOW_MINUTES"], config["LOGIN_LOCK_MAX_MINUTES"]),
    )
    return {"login_events": events, "sessions": ended, "counters": counters}
