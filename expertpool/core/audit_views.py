"""The security auditor's pages (安全审计员): the audit log with filters, its export, and the
state of the hash chain. Read-only on the log: the only writes are the audit row recording an
export and a verification job's result."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, or_, select

from ..db import db
from . import audit, audit_chain, cells
from .access import Role, roles_required
from .audit import AuditLog
from .audit_chain import AuditVerification
from .jobs import queue
from .jobs.models import OPEN, Job
from .pagination import page_arg, paginate_query

bp = Blueprint("audit", __name__, template_folder="templates")
PER_PAGE = 50
EXPORT_MAX_ROWS = 200_000
ACTIONS = ("create", "update", "delete")
VERIFY_TASK = "audit.verify"  # registered by core.auditing


@dataclass
class LogFilter:
    """Who acted, on what (object type and id, or the record it belongs to), which action, when."""

    actor: str = ""
    entity_type: str = ""
    entity_id: int | None = None
    subject_type: str = ""
    subject_id: int | None = None
    action: str = ""
    text: str = ""  # words of the note (an import's file name, a job)
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_args(cls, args: Any) -> LogFilter:
        return cls(
            actor=args.get("actor", "").strip()[:128],
            entity_type=args.get("entity_type", "").strip()[:64],
            entity_id=audit.id_arg(args.get("entity_id", "")),
            subject_type=args.get("subject_type", "").strip()[:32],
            subject_id=audit.id_arg(args.get("subject_id", "")),
            action=args.get("action", "").strip()[:32],
            text=args.get("text", "").strip()[:200],
            date_from=audit.date_arg(args.get("date_from", "")),
            date_to=audit.date_arg(args.get("date_to", "")),
        )

    def as_args(self) -> dict[str, str]:
        return audit.filter_args(dataclasses.asdict(self))

    def statement(self) -> Select[tuple[AuditLog]]:
        stmt = select(AuditLog)
        if self.actor:
            conditions = [AuditLog.actor_name.ilike(f"%{self.actor}%")]
            if (actor_id := audit.id_arg(self.actor)) is not None:
                conditions.append(AuditLog.actor_id == actor_id)
            stmt = stmt.where(or_(*conditions))
        if self.entity_type:
            stmt = stmt.where(AuditLog.entity_type == self.entity_type)
        if self.entity_id is not None:
            stmt = stmt.where(AuditLog.entity_id == self.entity_id)
        if self.subject_type:
            stmt = stmt.where(AuditLog.subject_type == self.subject_type)
        if self.subject_id is not None:
            stmt = stmt.where(AuditLog.subject_id == self.subject_id)
        if self.action:
            stmt = stmt.where(AuditLog.action == self.action)
        if self.text:
            stmt = stmt.where(AuditLog.note.ilike(f"%{self.text}%"))
        return audit.in_period(stmt, self.date_from, self.date_to).order_by(AuditLog.id.desc())


def _distinct(column: Any) -> list[str]:
    return sorted(v for v in db.session.scalars(select(column).distinct()) if v)


@roles_required(Role.AUDITOR)
def log() -> Any:
    flt = LogFilter.from_args(request.args)
    page = paginate_query(db.session, flt.statement(), page_arg(request.args), PER_PAGE)
    return render_template(
        "audit/log.html",
        page=page,
        flt=flt,
        args=flt.as_args(),
        entity_types=_distinct(AuditLog.entity_type),
        subject_types=_distinct(AuditLog.subject_type),
        actions=sorted(set(ACTIONS) | set(_distinct(AuditLog.action))),
        as_json=lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True),
    )


EXPORT_COLUMNS = (*audit_chain.SEALED_FIELDS, "seal_seq", "prev_hash", "row_hash")


@roles_required(Role.AUDITOR)
def export() -> Any:
    """The filtered log as CSV with its seals (an offline copy can be re-verified); audited."""
    flt = LogFilter.from_args(request.args)
    rows = db.session.scalars(flt.statement().limit(EXPORT_MAX_ROWS + 1)).all()
    if len(rows) > EXPORT_MAX_ROWS:
        flash(_("More than %(n)s rows: narrow the filter.", n=EXPORT_MAX_ROWS), "warning")
        return redirect(url_for("audit.log", **flt.as_args()))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        values = [getattr(row, name) for name in EXPORT_COLUMNS]
        values[EXPORT_COLUMNS.index("changes")] = json.dumps(row.changes, ensure_ascii=False)
        writer.writerow(cells.csv_row(values))  # never a formula (core/cells.py)
    audit.record(
        db.session,
        "AuditLog",
        "export",
        {"rows": [None, len(rows)], "filter": [None, flt.as_args()]},
    )
    name = f"audit-log-{dt.date.today():%Y%m%d}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@roles_required(Role.AUDITOR)
def verification() -> Any:
    """The chain's state: the last verifications, rows not yet sealed, a running check."""
    running = db.session.scalars(
        select(Job)
        .where(Job.task == VERIFY_TASK, Job.status.in_(OPEN))
        .order_by(Job.id.desc())
        .limit(1)
    ).first()
    history = db.session.scalars(
        select(AuditVerification).order_by(AuditVerification.id.desc()).limit(20)
    ).all()
    return render_template(
        "audit/verify.html",
        history=history,
        last=history[0] if history else None,
        running=running,
        unsealed=audit_chain.unsealed_count(db.session),
        total=db.session.scalar(select(func.count()).select_from(AuditLog)),
        oldest=db.session.scalar(select(func.min(AuditLog.at))),
        retention_days=current_app.config.get("AUDIT_RETENTION_DAYS"),
        keyed=bool(current_app.config.get("AUDIT_HMAC_KEY")),
    )


@roles_required(Role.AUDITOR)
def verify_start() -> Any:
    queue.enqueue(db.session, VERIFY_TASK, {}, title=_("Verify the audit log"), actor=current_user)
    flash(_("Verification started."), "info")
    return redirect(url_for("audit.verification"))


bp.add_url_rule("/audit", "log", log)
bp.add_url_rule("/audit/export.csv", "export", export)
bp.add_url_rule("/audit/verify", "verification", verification)
bp.add_url_rule("/audit/verify", "verify_start", verify_start, methods=["POST"])
