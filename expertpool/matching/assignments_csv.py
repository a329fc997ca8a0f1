"""Assignments as CSV: export any or one round's, import panels all-or-nothing with row errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, TextIO

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..core.cells import csv_row
from ..core.requests import get_row, is_sql_int
from ..db import savepoint
from ..experts.models import Expert
from ..reviews.eligibility import exclusion_reasons, rules_from_config
from ..reviews.models import Assignment
from ..reviews.operations import ReviewError, assign_panel
from ..submissions.models import Submission

COLUMNS = [
    "submission_id",
    "submission_title",
    "expert_id",
    "expert_name",
    "role",
    "rank",
    "affinity",
    "status",
    "due_date",
    "round_id",
]
REQUIRED = ("submission_id", "expert_id", "role")

Plan = dict[int, tuple[list[tuple[int, float, dict]], list[tuple[int, float, dict]]]]


EXPORT_NAME = "matching.assignments_csv"


def export_csv(session: Session, round_id: int | None = None) -> bytes:
    """The assignments as CSV, audited as an export of personal data (the experts' names)."""
    stmt = select(Assignment).order_by(
        Assignment.submission_id, Assignment.role.desc(), Assignment.rank
    )
    if round_id is not None:  # a round id past the 64-bit range names no round
        stmt = stmt.where(Assignment.round_id == round_id if is_sql_int(round_id) else false())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    rows = 0
    for a in session.scalars(stmt):
        rows += 1
        writer.writerow(
            csv_row(  # names and titles are typed by people: never a formula
                [
                    a.submission_id,
                    a.submission.title,
                    a.expert_id,
                    a.expert.name,
                    a.role,
                    a.rank,
                    round(a.affinity, 4) if a.affinity is not None else "",
                    a.status,
                    a.due_date.isoformat() if a.due_date else "",
                    a.round_id or "",
                ]
            )
        )
    audit.record_export(session, EXPORT_NAME, rows, fmt="csv")
    return buffer.getvalue().encode("utf-8-sig")


def parse(session: Session, stream: TextIO, today: dt.date | None = None) -> tuple[Plan, list[str]]:
    """Read and check every row; returns the panels to create and row-numbered errors."""
    from flask import current_app

    today = today or dt.date.today()
    rules = rules_from_config(current_app.config)
    reader = csv.DictReader(stream)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        return {}, [f"row 1: missing column(s) {', '.join(missing)}"]
    plan: Plan = {}
    errors: list[str] = []
    seen: set[tuple[int, int]] = set()
    for number, row in enumerate(reader, start=2):
        problem = _row(session, row, rules, today, seen, plan)
        if problem:
            errors.append(f"row {number}: {problem}")
    return plan, errors


def _row(
    session: Session,
    row: dict[str, Any],
    rules: Any,
    today: dt.date,
    seen: set[tuple[int, int]],
    plan: Plan,
) -> str | None:
    try:
        submission_id, expert_id = int(row["submission_id"]), int(row["expert_id"])
    except (TypeError, ValueError):
        return "submission_id and expert_id must be numbers"
    role = (row.get("role") or "").strip()
    if role not in ("member", "alternate"):
        return f"role must be member or alternate, not {role!r}"
    submission = get_row(session, Submission, submission_id)
    expert = get_row(session, Expert, expert_id)
    if submission is None:
        return f"no submission {submission_id}"
    if expert is None:
        return f"no expert {expert_id}"
    if (submission_id, expert_id) in seen:
        return f"expert {expert_id} listed twice for submission {submission_id}"
    seen.add((submission_id, expert_id))
    reasons = exclusion_reasons(session, expert, submission, rules, today)
    if reasons:
        return f"expert {expert_id} may not review submission {submission_id}: " + ", ".join(
            r.code for r in reasons
        )
    try:
        affinity = float(row.get("affinity") or 0.0)
    except ValueError:
        return "affinity must be a number"
    members, alternates = plan.setdefault(submission_id, ([], []))
    (members if role == "member" else alternates).append((expert_id, affinity, {"import": True}))
    return None


def commit(
    session: Session, actor: User, plan: Plan, due_date: dt.date | None = None
) -> list[Assignment]:
    """Create every panel in one savepoint: any refusal leaves the database as it was."""
    created: list[Assignment] = []
    with savepoint(session):
        for submission_id, (members, alternates) in plan.items():
            submission = session.get(Submission, submission_id)
            try:
                created += assign_panel(
                    session,
                    actor,
                    submission,
                    members,
                    alternates,
                    due_date,
                    check_eligibility=False,
                )
            except ReviewError as exc:
                raise ReviewError(f"submission {submission_id}: {exc}") from exc
    return created
