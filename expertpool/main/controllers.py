"""Home page handlers: each role's part comes from a query of the feature that owns the data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..core import health as health_checks
from ..core.access import Role, login_required, public
from ..db import db


@dataclass(frozen=True)
class QueueItem:
    key: str
    label: str
    count: int
    url: str


@login_required
def home() -> Any:
    today = dt.date.today()
    context: dict[str, Any] = {"today": today}
    from courses import queries as course_queries

    language = str(get_locale()).split("_")[0]  # course languages are "zh" / "en"
    context["learner"] = course_queries.learner_dashboard(
        db.session, current_user, today, language=language
    )
    if current_user.has_role(Role.EXPERT):
        context.update(_expert_part(today))
    if current_user.has_role(Role.ADMIN):
        context["queue"] = _admin_queue(today)
    return render_template("home.html", **context)


def _expert_part(today: dt.date) -> dict[str, Any]:
    from courses import queries as course_queries

    from ..experts import queries as expert_queries
    from ..reviews import queries as review_queries

    expert = review_queries.expert_of(db.session, current_user)
    if expert is None:
        return {"my_expert": None}
    return {
        "my_expert": expert,
        "todo": review_queries.expert_todo(db.session, expert, today),
        "file": expert_queries.file_state(db.session, expert, current_app.config, today),
        "required": course_queries.expert_required_training(db.session, expert, current_user.id),
    }


def _admin_queue(today: dt.date) -> list[QueueItem]:
    from courses import queries as course_queries

    from ..experts import queries as expert_queries
    from ..reviews import queries as review_queries
    from ..submissions import queries as submission_queries

    cfg = current_app.config
    pool = expert_queries.admin_queue_counts(db.session, cfg, today)
    reviews = review_queries.admin_queue_counts(db.session, today)
    return [
        QueueItem("vetting", _("Applications to vet"), pool["vetting"], url_for("experts.vetting")),
        QueueItem(
            "changes",
            _("Changes waiting for approval"),
            pool["changes"],
            url_for("experts.changes", status="pending"),
        ),
        QueueItem(
            "without_panel",
            _("Submissions without a panel"),
            submission_queries.without_panel_count(db.session),
            url_for("submissions.index", panel="none"),
        ),
        QueueItem(
            "short_panels",
            _("Declined invitations not replaced"),
            reviews["short_panels"],
            url_for("reviews.board", short="1"),
        ),
        QueueItem(
            "overdue",
            _("Submissions with overdue reviews"),
            reviews["overdue"],
            url_for("reviews.board", overdue="1"),
        ),
        QueueItem(
            "unrated",
            _("Submissions with reviews to rate"),
            reviews["unrated"],
            url_for("reviews.board", unrated="1"),
        ),
        QueueItem(
            "terms_ending",
            _("Terms ending within %(days)s days", days=cfg["TERM_WARNING_DAYS"]),
            pool["terms_ending"],
            url_for("experts.warnings", _anchor="terms-ending"),
        ),
        QueueItem(
            "stale_files",
            _("Files not updated for %(years)s years", years=cfg["STALE_FILE_YEARS"]),
            pool["stale_files"],
            url_for("experts.warnings", _anchor="stale-files"),
        ),
        QueueItem(
            "below_minimum",
            _("Categories below the coverage minimum"),
            pool["below_minimum"],
            url_for("experts.coverage", _anchor="below-minimum"),
        ),
        QueueItem(
            "missing_training",
            _("Experts missing required training"),
            course_queries.experts_missing_training_count(db.session),
            url_for("courses.admin_required"),
        ),
    ]


@public
def health() -> Any:
    """Liveness: the process answers (no database: see core/health.py)."""
    return health_checks.liveness()


@public
def ready() -> Any:
    """Readiness: database, job queue, model, search indexes; 503 while any is not ready."""
    ok, body = health_checks.readiness()
    return body, 200 if ok else 503
