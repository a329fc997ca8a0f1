"""Operations of the annual assessment: start a round, gather the facts (a job), grade, close.

Operations take the acting user, flush but never commit, and raise `AssessmentError` with a
message fit for the user. Closing a round writes each grade into the expert's technical file and
*proposes* the grade's consequence (suspension, removal) as a pending life-cycle change that a
second administrator decides (`experts.operations.propose_status_change`): nothing is suspended
here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.queries.training import TrainingRule

from ..accounts.models import User
from ..core import audit
from ..core.errors import OperationError
from ..core.jobs import JobContext, JobFailed, enqueue, ids_title
from ..core.jobs.models import Job
from ..db import utcnow
from ..experts import operations as expert_ops
from . import facts as F
from . import queries
from .models import AssessmentDraft, AssessmentRound
from .rules import Grade, SuggestionRules, consequence_of, grades_from, suggest

GATHER_TASK = "assessment.gather"
CLOSE_TASK = "assessment.close"
BATCH = 200  # experts read and written per step of the gathering job
ROUND_ENTITY = "assessment_round"  # the audit log's entity of a round's closing


class AssessmentError(OperationError):
    """A refused assessment operation; the message is shown to the user."""


@dataclass(frozen=True)
class Settings:
    grades: list[Grade]
    rules: SuggestionRules
    consequences: dict[str, str]
    fresh_months: int
    training: TrainingRule

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            grades=grades_from(config["ASSESSMENT_GRADES"]),
            rules=SuggestionRules.from_config(config.get("ASSESSMENT_RULES")),
            consequences=dict(config.get("ASSESSMENT_CONSEQUENCES") or {}),
            fresh_months=int(config.get("ASSESSMENT_FILE_FRESH_MONTHS") or 12),
            training=TrainingRule.from_config(config),
        )

    def grade(self, code: str) -> Grade | None:
        return next((g for g in self.grades if g.code == code), None)


def settings() -> Settings:
    return Settings.from_config(current_app.config)


# -- starting a round and gathering its facts ---------------------------------------------------


def start_round(
    session: Session, actor: User, year: int, *, today: dt.date | None = None
) -> AssessmentRound:
    """A round for `year`; its job gathers every active expert's facts (after the commit)."""
    today = today or dt.date.today()
    if not 2000 <= year <= today.year:
        raise AssessmentError(str(_l("Choose a year up to this one.")))
    if session.scalar(select(AssessmentRound.id).where(AssessmentRound.year == year)):
        raise AssessmentError(
            str(_l("There is already an assessment round for %(year)s.", year=year))
        )
    round_ = AssessmentRound(
        year=year, status="gathering", as_of=min(F.year_end(year), today), created_by_id=actor.id
    )
    session.add(round_)
    session.flush()
    queue_gathering(session, actor, round_)
    return round_


def queue_gathering(session: Session, actor: User | None, round_: AssessmentRound) -> Job:
    """Add the job that (re)gathers the round's facts; grades already given are kept."""
    if round_.status in ("closing", "closed"):
        raise AssessmentError(str(_l("This round is closed.")))
    job = enqueue(
        session, GATHER_TASK, {"round_id": round_.id}, title=ids_title([round_.id]), actor=actor
    )
    round_.status, round_.job_id = "gathering", job.id
    session.flush()
    return job


def gather_round(ctx: JobContext, round_id: int) -> dict[str, Any]:
    """The job: every active expert's draft, written batch by batch with progress.

    Idempotent: a draft is found by (round, expert) and its facts replaced, its grade kept; a
    run that is no longer the round's job does nothing."""
    session = ctx.session
    round_ = session.get(AssessmentRound, round_id)
    if round_ is None or round_.status != "gathering" or round_.job_id != ctx.job_id:
        return {"skipped": True}
    count = gather(session, round_, settings(), progress=ctx.progress, check=ctx.check_cancelled)
    return {"experts": count}


def gather(
    session: Session,
    round_: AssessmentRound,
    config: Settings,
    *,
    progress: Any = None,
    check: Any = None,
) -> int:
    """Gather the facts of every active expert into the round's drafts (the job, or inline)."""
    ids = queries.active_expert_ids(session)
    existing = {
        d.expert_id: d
        for d in session.scalars(
            select(AssessmentDraft).where(AssessmentDraft.round_id == round_.id)
        )
    }
    for start in range(0, len(ids), BATCH):
        if check:
            check()
        if progress:
            progress(start, len(ids), stage=str(_l("Gathering the facts of the year")))
        batch = ids[start : start + BATCH]
        inputs = queries.load_inputs(session, round_.year, batch, round_.as_of, config.training)
        for expert_id in batch:
            facts = _facts(round_, expert_id, inputs, config).as_dict()
            suggestion = suggest(facts, config.grades, config.rules)
            draft = existing.get(expert_id)
            if draft is None:
                draft = AssessmentDraft(round_id=round_.id, expert_id=expert_id)
                session.add(draft)
            draft.facts, draft.suggested_grade = facts, suggestion.grade
            draft.suggestion_reasons = [list(r) for r in suggestion.reasons]
        session.flush()
    if progress:
        progress(len(ids), len(ids), stage=str(_l("Gathering the facts of the year")))
    round_.status = "open"
    session.flush()
    return len(ids)


def _facts(
    round_: AssessmentRound, expert_id: int, inputs: queries.Inputs, config: Settings
) -> F.Facts:
    return F.gather(
        round_.year,
        assignments=inputs.assignments.get(expert_id, []),
        ratings=inputs.ratings.get(expert_id, []),
        certificates=inputs.certificates.get(expert_id, []),
        required=inputs.required,
        file_updated=inputs.file_updated.get(expert_id),
        as_of=round_.as_of,
        fresh_months=config.fresh_months,
        contributed=inputs.contributed.get(expert_id),
    )


# -- grading and closing ------------------------------------------------------------------------


def record_grade(
    session: Session,
    actor: User,
    draft: AssessmentDraft,
    grade: str,
    reason: str,
    *,
    config: Settings | None = None,
    expected_version: int | None = None,
) -> AssessmentDraft:
    """The administrator's grade of one expert, with the reason (mandatory)."""
    config = config or settings()
    if draft.round.status != "open":
        raise AssessmentError(str(_l("Grades can be given only while the round is open.")))
    if expected_version is not None and expected_version != draft.version:
        raise expert_ops.StaleEdit()
    if config.grade(grade) is None:
        raise AssessmentError(str(_l("Unknown grade: %(grade)s", grade=grade)))
    reason = (reason or "").strip()
    if not reason:
        raise AssessmentError(str(_l("A reason is required.")))
    audit.set_note(session, reason)
    draft.grade, draft.reason = grade, reason
    draft.graded_by_id, draft.graded_at = actor.id, utcnow()
    session.flush()
    return draft


@dataclass
class Closing:
    filed: int = 0
    proposed: int = 0
    not_proposed: int = 0  # the expert's status no longer allows the step (already suspended)


def _check_closable(session: Session, round_: AssessmentRound) -> None:
    closable = round_.status == "open" or round_.state in ("close_stopped", "close_failed")
    if not closable:
        raise AssessmentError(str(_l("Only an open round can be closed.")))
    missing = queries.round_counts(session, round_.id)["ungraded"]
    if missing:
        raise AssessmentError(
            str(_l("%(n)s experts have no grade yet: grade every expert first.", n=missing))
        )


def queue_closing(session: Session, actor: User, round_: AssessmentRound) -> Job:
    """Close in the background (a pool of thousands takes longer than a click should): the
    round stops taking grades now; its job files them and proposes the consequences."""
    _check_closable(session, round_)
    job = enqueue(
        session, CLOSE_TASK, {"round_id": round_.id}, title=ids_title([round_.id]), actor=actor
    )
    round_.status, round_.job_id, round_.closed_by_id = "closing", job.id, actor.id
    session.flush()
    return job


def close_round_job(ctx: JobContext, round_id: int) -> dict[str, Any]:
    """The job: `close_round` as the administrator who asked for it. All or nothing (one
    commit), so a run cut short leaves the round "closing" and can be run again."""
    session = ctx.session
    round_ = session.get(AssessmentRound, round_id)
    if round_ is None or round_.status != "closing" or round_.job_id != ctx.job_id:
        return {"skipped": True}
    actor = session.get(User, round_.closed_by_id) if round_.closed_by_id else None
    if actor is None:
        raise JobFailed(str(_l("The administrator who closed the round no longer exists.")))
    audit.set_actor(session, actor)
    result = close_round(session, actor, round_, progress=ctx.progress)
    return {"filed": result.filed, "proposed": result.proposed}


def close_round(
    session: Session,
    actor: User,
    round_: AssessmentRound,
    *,
    config: Settings | None = None,
    progress: Any = None,
) -> Closing:
    """Close: each grade enters the expert's technical file, each consequence is proposed."""
    config = config or settings()
    if round_.status != "closing":
        _check_closable(session, round_)
    result = Closing()
    drafts = list(round_.drafts)
    for n, draft in enumerate(drafts):
        if progress and n % BATCH == 0:
            progress(n, len(drafts), stage=str(_l("Filing the grades")))
        _file(session, actor, round_, draft, config, result)
    round_.status, round_.closed_by_id, round_.closed_at = "closed", actor.id, utcnow()
    audit.record(
        session,
        ROUND_ENTITY,
        "close",
        {
            "year": [None, round_.year],
            "filed": [None, result.filed],
            "proposed": [None, result.proposed],
        },
        note=f"{round_.year}",
        entity_id=round_.id,
    )
    session.flush()
    return result


def _file(
    session: Session,
    actor: User,
    round_: AssessmentRound,
    draft: AssessmentDraft,
    config: Settings,
    result: Closing,
) -> None:
    grade = config.grade(draft.grade or "")
    if grade is None:  # a grade since removed from the settings: refuse rather than guess
        raise AssessmentError(str(_l("Unknown grade: %(grade)s", grade=draft.grade)))
    expert = draft.expert
    note = f"{round_.year} 年度考核 {grade.code}：{draft.reason}"
    audit.set_note(session, note)
    entry = expert_ops.record_assessment(
        session, actor, expert, "annual", round_.year, grade.rating, f"{grade.code}：{draft.reason}"
    )
    draft.file_assessment_id = entry.id
    result.filed += 1
    action = consequence_of(grade.code, config.consequences)
    if action is None:
        return
    try:
        change = expert_ops.propose_status_change(session, actor, expert, action, note)
    except expert_ops.InvalidTransition:
        result.not_proposed += 1
        return
    draft.proposal_id = change.id
    result.proposed += 1
