"""Violations (违规处理): report → under investigation → decided (or dismissed), then an objection.

Operations take the acting user, flush but never commit, and raise `ViolationError` with a
message fit for the user. A decision acts on the expert only through the life-cycle operations
(`operations.warn`, `operations.change_status`), so the status history, the audit log and the
matching pool's stamps follow as for any other step. The expert sees a case once it is decided
(`visible_to_expert`), never the internal note; a case under investigation keeps the expert
off panels when `MATCH_EXCLUDE_UNDER_INVESTIGATION` is on (`reviews.eligibility`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit, signals, storage
from ..core.errors import OperationError
from ..core.pdftext import is_pdf
from ..db import utcnow
from . import operations as ops
from .models import Expert, Violation


class ViolationError(OperationError):
    """A refused step; `str(error)` is shown to the user."""


REPORTED, INVESTIGATING, DECIDED, DISMISSED = "reported", "investigating", "decided", "dismissed"
STATES = (REPORTED, INVESTIGATING, DECIDED, DISMISSED)
# state -> steps that may leave it
STEPS: dict[str, frozenset[str]] = {
    REPORTED: frozenset({"investigate", "dismiss"}),
    INVESTIGATING: frozenset({"decide", "dismiss"}),
    DECIDED: frozenset(),
    DISMISSED: frozenset(),
}
KINDS = ("undisclosed_conflict", "leaked_content", "late_reviews", "false_information", "other")
CONSEQUENCES = ("warning", "suspension", "removal")
OUTCOMES = ("upheld", "rejected")  # an objection upheld: the decision is revised

STATE_LABELS = {
    REPORTED: _l("Reported"),
    INVESTIGATING: _l("Under investigation"),
    DECIDED: _l("Decision made"),
    DISMISSED: _l("Dismissed"),
}
KIND_LABELS = {
    "undisclosed_conflict": _l("Undisclosed conflict of interest"),
    "leaked_content": _l("Leaking review content"),
    "late_reviews": _l("Repeated late or missing reviews"),
    "false_information": _l("False information"),
    "other": _l("Other"),
}
CONSEQUENCE_LABELS = {
    "warning": _l("Warning"),
    "suspension": _l("Suspension"),
    "removal": _l("Removal from the pool"),
}
OUTCOME_LABELS = {
    "upheld": _l("Objection upheld"),
    "rejected": _l("Objection rejected"),
}
# Evidence files, kept under UPLOAD_FOLDER/violations/<expert id>/: documents and pictures a
# browser cannot run (core.storage serves them safely).
EVIDENCE_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".txt", ".docx", ".xlsx"})
EVIDENCE_FOLDER = "violations"


# --- pure rules -----------------------------------------------------------------------------


def check_step(state: str, step: str) -> None:
    """Refuse a step the case's state does not allow (e.g. deciding a dismissed case)."""
    if step not in STEPS.get(state, frozenset()):
        raise ViolationError(
            str(
                _l(
                    "This step is not possible for a case that is %(state)s.",
                    state=str(STATE_LABELS.get(state, state)),
                )
            )
        )


def objection_deadline(decided_on: dt.date, days: int) -> dt.date:
    """The last day an objection may be filed (inclusive)."""
    return decided_on + dt.timedelta(days=days)


@dataclass(frozen=True)
class Evidence:
    filename: str
    data: bytes


# --- reading --------------------------------------------------------------------------------


def visible_to_expert(expert_id: int) -> Select[tuple[Violation]]:
    """The cases the expert may see about themselves: decided ones only."""
    return (
        select(Violation)
        .where(Violation.expert_id == expert_id, Violation.state == DECIDED)
        .order_by(Violation.decided_at.desc())
    )


# What the expert is shown of a decided case: never the internal note, the reporter or the
# evidence (a whistle-blower's identity and the office's working papers stay with the office).
EXPERT_FIELDS = (
    "id",
    "kind",
    "description",
    "occurred_on",
    "decision",
    "consequence",
    "decided_at",
    "objection_reason",
    "objection_at",
    "objection_answer",
    "objection_outcome",
    "objection_answered_at",
)


def expert_view(violation: Violation) -> dict[str, Any]:
    return {key: getattr(violation, key) for key in EXPERT_FIELDS}


def open_cases(expert_id: int) -> Select[tuple[Violation]]:
    """The expert's cases still open (reported or under investigation), for the office."""
    return (
        select(Violation)
        .where(Violation.expert_id == expert_id, Violation.state.in_((REPORTED, INVESTIGATING)))
        .order_by(Violation.id)
    )


def waiting_for_office() -> ColumnElement[bool]:
    """Cases the office has to act on: reported, under investigation, or with an objection
    waiting for an answer (the administrator's work queue; the list's "open" filter)."""
    return Violation.state.in_((REPORTED, INVESTIGATING)) | objection_waiting()


def objection_waiting() -> ColumnElement[bool]:
    return Violation.objection_at.is_not(None) & Violation.objection_outcome.is_(None)


def open_count(session: Session) -> int:
    return session.scalar(select(func.count()).where(waiting_for_office())) or 0


def may_object(violation: Violation, today: dt.date, days: int) -> bool:
    return (
        violation.state == DECIDED
        and violation.objection_at is None
        and violation.decided_at is not None
        and today <= objection_deadline(violation.decided_at.date(), days)
    )


# --- the workflow ---------------------------------------------------------------------------


def report(
    session: Session,
    actor: User,
    expert: Expert,
    *,
    kind: str,
    description: str,
    occurred_on: dt.date | None = None,
    reporter: str | None = None,
    evidence: str | None = None,
    evidence_file: Evidence | None = None,
    upload_folder: str | Path | None = None,
    max_bytes: int | None = None,
) -> Violation:
    """Record a reported violation (state "reported")."""
    if kind not in KINDS:
        raise ViolationError(str(_l("Unknown kind of violation.")))
    description = (description or "").strip()
    if not description:
        raise ViolationError(str(_l("Describe the violation.")))
    if occurred_on is not None and occurred_on > dt.date.today():
        raise ViolationError(str(_l("The date of the incident lies in the future.")))
    violation = Violation(
        expert_id=expert.id,
        kind=kind,
        state=REPORTED,
        description=description,
        evidence=(evidence or "").strip() or None,
        occurred_on=occurred_on,
        reporter=(reporter or "").strip()[:128] or None,
        reported_by_id=actor.id,
    )
    if evidence_file is not None and evidence_file.data:
        _check_evidence(evidence_file, max_bytes)
        violation.evidence_filename = Path(evidence_file.filename).name.strip()[:256]
        violation.evidence_size = len(evidence_file.data)
        if upload_folder is not None:  # under the expert's folder: one audit row for the report
            violation.evidence_path = storage.save(
                upload_folder,
                f"{EVIDENCE_FOLDER}/{expert.id}",
                evidence_file.filename,
                evidence_file.data,
            )
    audit.set_note(session, "violation reported")
    session.add(violation)
    session.flush()
    return violation


def _check_evidence(evidence: Evidence, max_bytes: int | None) -> None:
    ext = Path(evidence.filename or "").suffix.lower()
    if ext not in EVIDENCE_EXTENSIONS:
        raise ViolationError(
            str(
                _l(
                    "This kind of file cannot be attached (allowed: %(exts)s).",
                    exts=", ".join(sorted(EVIDENCE_EXTENSIONS)),
                )
            )
        )
    if max_bytes is not None and len(evidence.data) > max_bytes:
        raise ViolationError(
            str(_l("The file is too large (at most %(mb)s MB).", mb=max_bytes // (1024 * 1024)))
        )
    if ext == ".pdf" and not is_pdf(evidence.data):
        raise ViolationError(str(_l("This file is not a PDF.")))


def investigate(
    session: Session, actor: User, violation: Violation, note: str | None = None
) -> Violation:
    """Open the investigation: the expert is under investigation from now on."""
    check_step(violation.state, "investigate")
    audit.set_note(session, "violation investigation opened")  # before an autoflush
    _add_note(violation, actor, note)
    violation.state = INVESTIGATING
    violation.investigation_started_at = utcnow()
    session.flush()
    return violation


def add_note(session: Session, actor: User, violation: Violation, note: str) -> Violation:
    """An internal note of the office (never shown to the expert)."""
    if not (note or "").strip():
        raise ViolationError(str(_l("The note is empty.")))
    audit.set_note(session, "violation note")
    _add_note(violation, actor, note)
    session.flush()
    return violation


def _add_note(violation: Violation, actor: User, note: str | None) -> None:
    note = (note or "").strip()
    if note:  # (reading the actor's name may autoflush: before the case changes)
        line = f"[{utcnow():%Y-%m-%d %H:%M} {actor.name or actor.username}] {note}"
        violation.internal_note = "\n".join(filter(None, (violation.internal_note, line)))


def decide(
    session: Session,
    actor: User,
    violation: Violation,
    *,
    decision: str,
    consequence: str,
    note: str | None = None,
) -> Violation:
    """Decide the case; its consequence goes through the expert's life-cycle operations."""
    check_step(violation.state, "decide")
    decision = (decision or "").strip()
    if not decision:
        raise ViolationError(str(_l("A decision text is required.")))
    if consequence not in CONSEQUENCES:
        raise ViolationError(str(_l("Choose the consequence.")))
    expert = violation.expert
    reason = str(
        _l(
            "Violation #%(id)s (%(kind)s): %(decision)s",
            id=violation.id,
            kind=str(KIND_LABELS[violation.kind]),
            decision=decision,
        )
    )
    try:
        if consequence == "warning":
            ops.warn(session, actor, expert, reason)
        else:
            action = "suspend" if consequence == "suspension" else "remove"
            ops.change_status(session, actor, expert, action, reason=reason)
    except ops.ExpertError as exc:
        raise ViolationError(str(exc)) from None
    audit.set_note(session, f"violation decided: {consequence}")
    _add_note(violation, actor, note)
    violation.state, violation.decision, violation.consequence = DECIDED, decision, consequence
    violation.decided_by_id, violation.decided_at = actor.id, utcnow()
    session.flush()
    signals.violation_decided.send(violation, session=session, actor=actor)
    return violation


def dismiss(session: Session, actor: User, violation: Violation, reason: str) -> Violation:
    """Close the case without a consequence (the expert is never told)."""
    check_step(violation.state, "dismiss")
    if not (reason or "").strip():
        raise ViolationError(str(_l("A reason is required.")))
    audit.set_note(session, "violation dismissed")
    _add_note(violation, actor, reason)
    violation.state = DISMISSED
    violation.decided_by_id, violation.decided_at = actor.id, utcnow()
    session.flush()
    return violation


def object_to(
    session: Session,
    actor: User,
    violation: Violation,
    reason: str,
    *,
    today: dt.date,
    days: int,
) -> Violation:
    """The expert's objection (申诉) to a decision about them, within `days` of it."""
    if violation.expert.user_id is None or violation.expert.user_id != actor.id:
        raise ViolationError(str(_l("Only the expert concerned may object.")))
    if violation.state != DECIDED:
        raise ViolationError(str(_l("Only a decision can be objected to.")))
    if violation.objection_at is not None:
        raise ViolationError(str(_l("An objection was already filed.")))
    if not may_object(violation, today, days):
        raise ViolationError(str(_l("The time to object has passed.")))
    reason = (reason or "").strip()
    if not reason:
        raise ViolationError(str(_l("Give the reason of your objection.")))
    audit.set_note(session, "objection filed")
    violation.objection_reason, violation.objection_at = reason, utcnow()
    session.flush()
    return violation


def answer_objection(
    session: Session, actor: User, violation: Violation, *, answer: str, outcome: str
) -> Violation:
    """The office's answer. Upholding the objection against a suspension reinstates the expert
    (through the life cycle); a removal stays (a removed expert applies again)."""
    if violation.objection_at is None or violation.objection_outcome is not None:
        raise ViolationError(str(_l("There is no objection waiting for an answer.")))
    if outcome not in OUTCOMES:
        raise ViolationError(str(_l("Choose the outcome.")))
    answer = (answer or "").strip()
    if not answer:
        raise ViolationError(str(_l("Write the answer.")))
    expert = violation.expert
    if (
        outcome == "upheld"
        and violation.consequence == "suspension"
        and expert.status == "suspended"
    ):
        reason = str(
            _l("Objection to violation #%(id)s upheld: %(answer)s", id=violation.id, answer=answer)
        )
        ops.change_status(session, actor, expert, "reinstate", reason=reason)
    audit.set_note(session, f"objection {outcome}")
    violation.objection_answer, violation.objection_outcome = answer, outcome
    violation.objection_answered_by_id, violation.objection_answered_at = actor.id, utcnow()
    session.flush()
    signals.objection_answered.send(violation, session=session, actor=actor)
    return violation


def evidence_response(violation: Violation, upload_folder: str | Path) -> Any:
    return storage.send(upload_folder, violation.evidence_path, name=violation.evidence_filename)


# --- demo data --------------------------------------------------------------------------------


def load_demo(session: Session, admin: User, experts: list[Expert]) -> None:
    """A few cases in every state: reported, under investigation, a warning, and a suspension
    with the expert's objection (the second demo expert with a login, `expert2`, files it)."""
    with_login = [e for e in experts if e.user_id and e.status == "active"][1:2]
    others = [e for e in experts if not e.user_id and e.status == "active"][:3]
    if len(others) < 3 or not with_login:
        return
    today = dt.date.today()
    report(
        session,
        admin,
        others[0],
        kind="late_reviews",
        description="2025 年内三次评审逾期超过 30 天，一次未提交评审意见。",
        occurred_on=today - dt.timedelta(days=20),
        reporter="审评办公室",
    )
    case = report(
        session,
        admin,
        others[1],
        kind="undisclosed_conflict",
        description="申请单位反映该专家曾参与其研制项目，受邀时未声明利益冲突。",
        occurred_on=today - dt.timedelta(days=45),
        reporter="广东省计量科学研究院",
        evidence="项目合同（2023）列有该专家姓名。",
        evidence_file=Evidence(
            "项目合同摘录.txt", "2023 年项目合同摘录：项目组成员名单。".encode()
        ),
        upload_folder=current_app.config["UPLOAD_FOLDER"],
    )
    investigate(session, admin, case, "已调取 2023 年项目合同，待专家说明。")
    warned = report(
        session,
        admin,
        others[2],
        kind="late_reviews",
        description="连续两轮评审未按期提交意见。",
        occurred_on=today - dt.timedelta(days=60),
        reporter="审评办公室",
    )
    investigate(session, admin, warned)
    decide(
        session,
        admin,
        warned,
        decision="给予书面警告，请按期完成评审。",
        consequence="warning",
    )
    suspended = report(
        session,
        admin,
        with_login[0],
        kind="leaked_content",
        description="在评审结束前向申请单位透露了评审意见。",
        occurred_on=today - dt.timedelta(days=10),
        reporter="匿名举报",
        evidence="申请单位工作人员的说明材料。",
    )
    investigate(session, admin, suspended, "已与申请单位核实。")
    decide(
        session,
        admin,
        suspended,
        decision="暂停审评资格六个月。",
        consequence="suspension",
    )
    expert_user = session.get(User, with_login[0].user_id)
    object_to(
        session,
        expert_user,
        suspended,
        "我只确认了评审会议时间，未透露任何评审意见，请复核。",
        today=today,
        days=365,
    )


def assessment_facts(
    session: Session, *, year: int, expert_ids: list[int], **_kw: Any
) -> dict[int, dict[str, Any]]:
    """The annual assessment's "violations" fact (`signals.assessment_facts`): the cases decided
    in `year` against each expert, except those whose objection was upheld (the decision was
    revised, so it no longer counts against them); dismissed cases never count."""
    v = Violation.__table__.c
    start, end = dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    rows = session.execute(
        select(v.expert_id, v.decided_at, v.kind, v.consequence)
        .where(
            v.expert_id.in_(expert_ids),
            v.state == DECIDED,
            v.decided_at >= start,
            v.decided_at < end,
            func.coalesce(v.objection_outcome, "") != "upheld",
        )
        .order_by(v.expert_id, v.decided_at, v.id)
    ).all()
    out: dict[int, dict[str, Any]] = {}
    for expert_id, decided_at, kind, consequence in rows:
        entry = {
            "date": decided_at.date().isoformat(),
            "kind": str(KIND_LABELS.get(kind, kind)),
            "note": str(CONSEQUENCE_LABELS.get(consequence, consequence or "")),
        }
        out.setdefault(expert_id, {"violations": []})["violations"].append(entry)
    return out
