"""Home page handlers."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from flask_login import current_user
from sqlalchemy import select, text

from ..core.access import Role, login_required, public
from ..db import db


@login_required
def home() -> Any:
    context: dict[str, Any] = {}
    if current_user.has_role(Role.ADMIN):
        from ..experts import queries

        cfg = current_app.config
        context["terms_ending"] = queries.terms_ending(db.session, cfg["TERM_WARNING_DAYS"])
        context["stale"] = queries.stale_files(db.session, cfg["STALE_FILE_YEARS"])
        context["pending_count"] = _pending_count()
    if current_user.has_role(Role.EXPERT):
        from ..experts.models import Expert

        context["my_expert"] = db.session.scalar(
            select(Expert).where(Expert.user_id == current_user.id)
        )
    return render_template("home.html", **context)


def _pending_count() -> int:
    from sqlalchemy import func

    from ..experts.models import PendingChange

    return (
        db.session.scalar(
            select(func.count()).select_from(PendingChange).where(PendingChange.status == "pending")
        )
        or 0
    )


@public
def health() -> Any:
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
