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
    duty = next(
        (r for r in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR) if current_user.has_role(r)), None
    )
    if duty is not None:  # a duty account holds no other role: its home is its duty alone
        context["duties"] = DUTY_PARTS[duty]()
        return render_template("home.html", **context)
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
    from ..experts import violations
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
            "violations",
            _("Violation cases and objections to handle"),
            violations.open_count(db.session),
            url_for("experts.violations", state="open"),
        ),
        QueueItem(
            "missing_training",
            _("Experts missing required training"),
            course_queries.experts_missing_training_count(db.session),
            url_for("courses.admin_required"),
        ),
        QueueItem(
            "certificates_expiring",
            _("Certificates expiring within %(days)s days", days=cfg["TRAINING_EXPIRING_DAYS"]),
            course_queries.recertification.expiring_count(
                db.session, cfg["TRAINING_EXPIRING_DAYS"]
            ),
            url_for("courses.admin_certificates", state="expiring"),
        ),
        _assessment_item(),
    ]


def _assessment_item() -> QueueItem:
    from ..assessment import queries as assessment_queries

    count, round_id = assessment_queries.to_grade(db.session)
    url = (
        url_for("assessment.round", round_id=round_id, grade="none")
        if round_id
        else url_for("assessment.rounds")
    )
    return QueueItem("assessment", _("Experts to grade in the annual assessment"), count, url)


def _system_part() -> dict[str, Any]:
    from sqlalchemy import func, select

    from ..accounts import queries as account_queries
    from ..core.jobs.models import Job, JobStatus

    accounts = account_queries.account_counts(db.session)
    jobs = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    return {
        "role": "sysadmin",
        "title": _("System administration"),
        "items": [
            QueueItem(
                "enabled", _("Enabled accounts"), accounts["enabled"], url_for("accounts.users")
            ),
            QueueItem(
                "disabled", _("Disabled accounts"), accounts["disabled"], url_for("accounts.users")
            ),
            QueueItem(
                "failed_jobs",
                _("Failed background jobs"),
                jobs.get(JobStatus.FAILED.value, 0),
                url_for("jobs.jobs", status="failed"),
            ),
            QueueItem(
                "queued_jobs",
                _("Queued background jobs"),
                jobs.get(JobStatus.QUEUED.value, 0),
                url_for("jobs.jobs", status="queued"),
            ),
        ],
        "links": [
            (_("New user"), url_for("accounts.user_new")),
            (_("Background jobs"), url_for("jobs.jobs")),
            (_("Backups"), url_for("backups.backups")),
        ],
        "notice": _("Roles are granted by the security administrator.")
        if accounts["no_role"]
        else None,
        "notice_level": "info",
    }


def _role_names(roles: list[str]) -> str:
    from ..accounts.forms import ROLE_CHOICES

    names = dict(ROLE_CHOICES)
    return "、".join(str(names.get(r, r)) for r in roles)


def _security_part() -> dict[str, Any]:
    from ..accounts import queries as account_queries

    counts = account_queries.role_counts(db.session)
    missing = account_queries.missing_duties(counts)
    labels = {
        Role.ADMIN: _("Administrators"),
        Role.SYSADMIN: _("System administrators"),
        Role.SECADMIN: _("Security administrators"),
        Role.AUDITOR: _("Security auditors"),
    }
    return {
        "role": "secadmin",
        "title": _("Security administration"),
        "items": [
            QueueItem(
                str(role), label, counts[str(role)], url_for("accounts.roles", role=str(role))
            )
            for role, label in labels.items()
        ],
        "links": [
            (_("Roles"), url_for("accounts.roles")),
            (_("Security policy"), url_for("accounts.security_policy")),
        ],
        "notice": _("No enabled account holds: %(roles)s.", roles=_role_names(missing))
        if missing
        else None,
        "notice_level": "warning",
    }


def _auditor_part() -> dict[str, Any]:
    from sqlalchemy import func, select

    from ..core import audit_chain
    from ..core.audit import AuditLog

    since = dt.datetime.combine(dt.date.today(), dt.time.min)
    today_rows = db.session.scalar(select(func.count()).where(AuditLog.at >= since)) or 0
    last = audit_chain.last_verification(db.session)
    if last is None:
        notice, level = _("The audit log has not been verified yet."), "warning"
    elif last.ok:
        notice = _("Last verification %(at)s: intact.", at=last.at.strftime("%Y-%m-%d %H:%M"))
        level = "success"
    else:
        notice = _("Last verification found tampering: %(problem)s", problem=last.problem)
        level = "danger"
    return {
        "role": "auditor",
        "title": _("Security audit"),
        "items": [
            QueueItem(
                "today",
                _("Audit records today"),
                today_rows,
                url_for("audit.log", date_from=dt.date.today().isoformat()),
            ),
            QueueItem(
                "unsealed",
                _("Records not sealed yet"),
                audit_chain.unsealed_count(db.session),
                url_for("audit.verification"),
            ),
        ],
        "links": [
            (_("Audit log"), url_for("audit.log")),
            (_("Audit log integrity"), url_for("audit.verification")),
        ],
        "notice": notice,
        "notice_level": level,
    }


DUTY_PARTS = {
    Role.SYSADMIN: _system_part,
    Role.SECADMIN: _security_part,
    Role.AUDITOR: _auditor_part,
}


@public
def health() -> Any:
    """Liveness: the process answers (no database: see core/health.py)."""
    return health_checks.liveness()


@public
def ready() -> Any:
    """Readiness: database, job queue, model, search indexes; 503 while any is not ready."""
    ok, body = health_checks.readiness()
    return body, 200 if ok else 503
