"""Review rounds: propose globally optimal panels for many submissions, then confirm them.

A round is started by a request (`start`: settings kept, status "solving", a job added) and
solved by a background job (`propose_round`, task `matching.propose_round`), whose stages the
round page shows as a live progress bar with a cancel button. `propose` does the same inline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core.assignment.assign import PoolAttributes, assign_round
from ..core.assignment.constraints import eligible_mask
from ..core.assignment.records import Rules
from ..core.assignment.sparsify import SparsityCertificate, assign_sparse
from ..core.errors import OperationError
from ..core.jobs import JobContext, enqueue, ids_title
from ..core.jobs.models import Job
from ..db import utcnow
from ..notifications.service import locale_of
from ..reviews.eligibility import submission_record
from ..reviews.models import Assignment
from ..reviews.operations import assign_panel
from ..submissions.models import Submission
from .models import ReviewRound
from .service import pool_scores, scoring_config
from .snapshot import Pool

SPARSIFY_ABOVE = 2_000  # experts: above this, solve on each submission's best candidates only
# Candidates per submission to start from; doubled where they cannot serve 1.5 x the seats
# (sparsify_for_round). On the 2,000 x 10,000 benchmark round it grows to 320 and the answer
# is certified optimal for the full graph (BENCHMARKS.md).
TOP_K = 40
ALTERNATES = 3


class RoundError(OperationError):
    """A refused round operation; the message is shown to the user."""


def _needs_panel() -> tuple[Any, ...]:
    taken = select(Assignment.submission_id).where(Assignment.role == "member").distinct()
    return Submission.status.in_(["registered", "matching"]), Submission.id.not_in(taken)


def open_submissions(session: Session) -> list[Submission]:
    """Submissions that still need a panel."""
    stmt = select(Submission).where(*_needs_panel()).order_by(Submission.created_at)
    return list(session.scalars(stmt))


def open_submission_ids(session: Session, among: Sequence[int]) -> list[int]:
    """Which of these submissions still need a panel, in the order of `open_submissions`."""
    stmt = (
        select(Submission.id)
        .where(Submission.id.in_(list(among)), *_needs_panel())
        .order_by(Submission.created_at)
    )
    return list(session.scalars(stmt))


def start(
    session: Session,
    actor: User,
    name: str,
    submission_ids: Sequence[int],
    rules: Rules,
    *,
    fairness: bool = False,
    due_date: dt.date | None = None,
    today: dt.date | None = None,
) -> ReviewRound:
    """Keep a new round's settings and add the job that proposes its panels (`PROPOSE_TASK`).

    Only the choice is checked here (cheap: the request answers at once); the pool, the scores
    and the solve are the job's. The job exists once the caller commits.
    """
    chosen = open_submission_ids(session, submission_ids)  # still without a panel
    round_ = _new_round(session, actor, name, chosen, rules, fairness, due_date)
    queue_proposal(session, actor, round_, today)
    return round_


def propose(
    session: Session,
    actor: User,
    name: str,
    submissions: Sequence[Submission],
    rules: Rules,
    *,
    fairness: bool = False,
    due_date: dt.date | None = None,
    today: dt.date | None = None,
) -> ReviewRound:
    """The same round, solved here and now (scripts, tests): what the job does, inline."""
    ids = [s.id for s in submissions]
    round_ = _new_round(session, actor, name, ids, rules, fairness, due_date)
    solve(session, round_, today=today)
    return round_


def _new_round(
    session: Session,
    actor: User,
    name: str,
    submission_ids: Sequence[int],
    rules: Rules,
    fairness: bool,
    due_date: dt.date | None,
) -> ReviewRound:
    chosen = list(dict.fromkeys(submission_ids))
    if not chosen:
        raise RoundError(str(_l("Choose at least one submission.")))
    round_ = ReviewRound(
        name=name,
        status="solving",
        created_by_id=actor.id,
        due_date=due_date,
        settings={
            "rules": dataclasses.asdict(rules),
            "fairness": fairness,
            "submission_ids": chosen,
        },
        proposal={},
    )
    session.add(round_)
    session.flush()
    return round_


# -- the proposal as a background job ------------------------------------------------------------

PROPOSE_TASK = "matching.propose_round"
# Each stage's share of the progress bar (percent at its start and end) and its label. On the
# 2,000 x 10,000 benchmark round the pool and scores take ~6 s of ~20, the solve the rest.
STAGES: dict[str, tuple[int, int, Any]] = {
    "pool": (0, 10, _l("Loading the pool of experts")),
    "scoring": (10, 45, _l("Scoring candidates")),
    "grow": (45, 55, _l("Solving: growing each submission's candidate list")),
    "solve": (55, 80, _l("Solving: flow and linear programme")),
    "certify": (80, 90, _l("Solving: certifying optimality over all expert pairs")),
    "refine": (90, 95, _l("Solving again with the pairs that could improve the answer")),
    "writing": (95, 100, _l("Writing the proposal")),
}
Report = Callable[[str, int, int], None]  # (stage, done, total) within the stage


def queue_proposal(
    session: Session, actor: User | None, round_: ReviewRound, today: dt.date | None = None
) -> Job:
    """Add the job that computes the round's proposal; the round shows its progress."""
    today = today or dt.date.today()
    job = enqueue(
        session,
        PROPOSE_TASK,
        {"round_id": round_.id, "today": today.isoformat()},
        title=ids_title([round_.id]),  # the jobs page names the task in the reader's language
        actor=actor,
    )
    round_.status, round_.error, round_.job_id = "solving", None, job.id
    session.flush()
    return job


def retry(session: Session, actor: User, round_: ReviewRound) -> Job:
    """Compute again a proposal that failed or was cancelled, with the round's settings."""
    if round_.state not in ("failed", "stopped"):
        raise RoundError(
            str(_l("Only a round whose proposal failed or was cancelled can be tried again."))
        )
    return queue_proposal(session, actor, round_)


def propose_round(ctx: JobContext, round_id: int, today: str) -> dict[str, Any]:
    """The job: solve the round and write its proposal, replacing any earlier one.

    Idempotent: nothing is written before the end, and the proposal, status and error are
    written together (in the job's one commit), so a run cut short (worker killed, cancelled,
    crashed) leaves the round as it was and a re-run gives one proposal. A round that is no
    longer waiting for this job (done, discarded, or tried again under another job) is left
    alone. A refusal (e.g. no eligible expert) is a result, not an error: the round records it
    in plain words and the job is not retried.
    """
    session = ctx.session
    round_ = session.get(ReviewRound, round_id)
    if round_ is None or round_.status != "solving" or round_.job_id != ctx.job_id:
        return {"skipped": True}
    starter = session.get(User, round_.created_by_id) if round_.created_by_id else None
    with force_locale(locale_of(starter)):  # stages and refusals read in the starter's language
        try:
            solve(session, round_, today=dt.date.fromisoformat(today), report=_JobReport(ctx))
        except RoundError as exc:
            round_.status, round_.error = "failed", str(exc)
            session.flush()
            return {"error": str(exc)}
    return {"panels": len(round_.proposal["panels"]), "status": round_.proposal["status"]}


class _JobReport:
    """Stages to the job's progress bar, and a cancellation check at each (and every
    `EVERY_S` inside a stage's loop, so a long stage stays cancellable and writes little)."""

    EVERY_S = 0.25

    def __init__(self, ctx: JobContext) -> None:
        self.ctx, self.stage, self.last = ctx, "", 0.0

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.last < self.EVERY_S:
            return
        self.ctx.check_cancelled()
        lo, hi, label = STAGES[stage]
        percent = lo + (hi - lo) * done // total if total else lo
        self.ctx.progress(percent, 100, stage=str(label))
        self.stage, self.last = stage, now


def solve(
    session: Session,
    round_: ReviewRound,
    *,
    today: dt.date | None = None,
    report: Report | None = None,
) -> None:
    """Compute the round's proposal from its settings and write it (replacing any earlier one);
    the round becomes "proposed". Reads only until the end, so on SQLite the database's write
    lock is held for the last moment only."""
    report = report or (lambda _stage, _done=0, _total=0: None)
    today = today or dt.date.today()
    rules = round_rules(round_)
    fairness = bool(round_.settings.get("fairness"))
    submissions = _submissions(session, round_.settings.get("submission_ids", []))
    if not submissions:
        raise RoundError(str(_l("Choose at least one submission.")))
    report("pool")
    pool = Pool.load(session, today, rules)
    if not len(pool):
        raise RoundError(str(_l("The pool has no experts.")))
    affinity = _affinity(session, submissions, pool, rules, today, report)
    attributes = dataclasses.replace(
        PoolAttributes.from_table(pool.table, rules), ids=pool.ids.copy()
    )
    submission_ids = np.array([s.id for s in submissions])
    certificate = None
    if len(pool) > SPARSIFY_ABOVE:
        solved = assign_sparse(
            affinity,
            attributes,
            rules,
            TOP_K,
            submission_ids=submission_ids,
            fairness=fairness,
            on_stage=report,
        )
        result, certificate = solved.result, solved.certificate
    else:
        report("solve")
        result = assign_round(
            affinity, attributes, rules, fairness=fairness, submission_ids=submission_ids
        )
    report("writing")
    round_.proposal = _proposal(submissions, pool, affinity, result, certificate)
    round_.status, round_.error = "proposed", None
    session.flush()


def _submissions(session: Session, ids: Sequence[int]) -> list[Submission]:
    """The round's submissions that still exist, in the round's order."""
    found = {s.id: s for s in session.scalars(select(Submission).where(Submission.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def _affinity(
    session: Session,
    submissions: Sequence[Submission],
    pool: Pool,
    rules: Rules,
    today: dt.date,
    report: Report,
) -> np.ndarray:
    """(M, N) affinities; -inf where the expert may not review or already is on the panel."""
    cfg = scoring_config()
    out = np.full((len(submissions), len(pool)), -np.inf)
    taken = _taken(session, [s.id for s in submissions])
    for m, submission in enumerate(submissions):
        report("scoring", m, len(submissions))
        scores = pool_scores(session, submission, pool, cfg)[0].total
        ok = eligible_mask(pool.table, submission_record(submission), rules, today)
        for expert_id in taken.get(submission.id, ()):
            if expert_id in pool.index:
                ok[pool.index[expert_id]] = False
        out[m, ok] = scores[ok]
    return out


def _taken(session: Session, submission_ids: list[int]) -> dict[int, set[int]]:
    rows = session.execute(
        select(Assignment.submission_id, Assignment.expert_id).where(
            Assignment.submission_id.in_(submission_ids)
        )
    ).all()
    out: dict[int, set[int]] = {}
    for sid, eid in rows:
        out.setdefault(sid, set()).add(eid)
    return out


def _proposal(
    submissions: Sequence[Submission],
    pool: Pool,
    affinity: np.ndarray,
    result: Any,
    certificate: SparsityCertificate | None = None,
) -> dict[str, Any]:
    panels = []
    for m, submission in enumerate(submissions):
        members = result.panels[m]
        row = affinity[m]
        order = [int(i) for i in np.argsort(-row, kind="stable") if np.isfinite(row[i])]
        member_set = set(members)
        alternates = [int(pool.ids[i]) for i in order if int(pool.ids[i]) not in member_set]
        panels.append(
            {
                "submission_id": submission.id,
                "members": [[eid, round(float(row[pool.index[eid]]), 4)] for eid in members],
                "alternates": [
                    [eid, round(float(row[pool.index[eid]]), 4)] for eid in alternates[:ALTERNATES]
                ],
                "affinity": round(float(result.panel_affinity[m]), 4),
                "filled": int(result.panel_filled[m]),
                "size": int(result.panel_size[m]),
                "metrology": int(result.panel_metrology[m]),
            }
        )
    weakest = [
        {
            "expert_id": int(pool.ids[i]),
            "affinity": round(float(result.weakest_match[i]), 4),
            "submission_id": int(submissions[int(result.weakest_submission[i])].id),
        }
        for i in np.argsort(result.weakest_match)
        if np.isfinite(result.weakest_match[i])
    ][:20]
    return {
        "panels": panels,
        "weakest": weakest,
        "load_histogram": [int(x) for x in result.load_histogram],
        "total_affinity": round(float(result.total_affinity), 4),
        "min_panel_score": round(float(result.min_panel_score), 4),
        "status": result.status,
        "method": result.method,
        "unfilled": [dataclasses.asdict(u) for u in result.unfilled],
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        # Solved on a sparse graph: whether that answer is proven optimal for every pair, and
        # by how much the full graph could beat it at most (None: solved on the full graph, or
        # not certifiable, e.g. with fairness).
        "certified_optimal": None if certificate is None else certificate.certified(),
        "gap_bound": None
        if certificate is None or not certificate.applicable
        else round(certificate.gap_bound, 6),
        "fairness": _fairness(result),
    }


def _fairness(result: Any) -> dict[str, Any] | None:
    """With the fairness option: the weakest panel reached, its upper bound, the unfair answer's
    weakest panel and total, and whether the floor is proven ("optimal"), the best the
    exchanges found ("local optimum") or cut short ("time limit")."""
    if not result.fairness_status:
        return None

    def num(value: float) -> float | None:
        return None if math.isnan(value) else round(float(value), 4) + 0.0  # no -0.0

    return {
        "status": result.fairness_status,
        "floor": num(result.min_panel_score),
        "bound": num(result.fairness_bound),
        "unfair_floor": num(result.unfair_min_panel_score),
        "unfair_total": num(result.unfair_total),
        "given_up": num(result.affinity_given_up),
    }


def invitation_count(round_: ReviewRound) -> int:
    """How many invitations confirming the round sends: one per proposed panel member."""
    return sum(len(p.get("members", [])) for p in (round_.proposal or {}).get("panels", []))


def alternate_count(round_: ReviewRound) -> int:
    return sum(len(p.get("alternates", [])) for p in (round_.proposal or {}).get("panels", []))


def confirm(
    session: Session,
    actor: User,
    round_: ReviewRound,
    expected_version: int | None = None,
    expected_invitations: int | None = None,
) -> list[Assignment]:
    """Invite every proposed panel (all or nothing: one refusal rolls the whole round back).

    `expected_invitations` is the count the administrator was shown when confirming: a proposal
    that would now send a different number is refused rather than sent unseen.
    """
    if expected_version is not None and expected_version != round_.version:
        raise RoundError(str(_l("This round changed since you opened it: reload and check.")))
    if expected_invitations is not None and expected_invitations != invitation_count(round_):
        raise RoundError(
            str(
                _l(
                    "The proposal changed since you opened it: it would now send %(n)s "
                    "invitations, not %(expected)s. Nothing was sent; check the round again.",
                    n=invitation_count(round_),
                    expected=expected_invitations,
                )
            )
        )
    if round_.status != "proposed":
        raise RoundError(str(_l("Only a proposed round can be confirmed.")))
    stale = still_eligible_problems(session, round_)
    if stale:
        raise RoundError(
            str(
                _l(
                    "Some proposed experts may no longer review their submission "
                    "(%(problems)s): propose the round again.",
                    problems="; ".join(stale[:5]),
                )
            )
        )
    created: list[Assignment] = []
    for panel in round_.proposal.get("panels", []):
        submission = session.get(Submission, panel["submission_id"])
        members = [
            (eid, aff, {"round": round_.id, "affinity": aff}) for eid, aff in panel["members"]
        ]
        alternates = [
            (eid, aff, {"round": round_.id, "affinity": aff}) for eid, aff in panel["alternates"]
        ]
        if submission is None or not members:
            continue
        created += assign_panel(
            session,
            actor,
            submission,
            members,
            alternates,
            round_.due_date,
            round_id=round_.id,
            check_eligibility=False,
        )
    round_.status, round_.confirmed_at = "confirmed", utcnow()
    session.flush()
    return created


def round_rules(round_: ReviewRound) -> Rules:
    return Rules(**round_.settings.get("rules", {}))


def still_eligible_problems(
    session: Session, round_: ReviewRound, today: dt.date | None = None
) -> list[str]:
    """Members who became ineligible since the proposal (checked in bulk, vectorised)."""
    today = today or dt.date.today()
    rules = round_rules(round_)
    pool = Pool.load(session, today, rules)
    taken = _taken(session, [p["submission_id"] for p in round_.proposal.get("panels", [])])
    problems = []
    for panel in round_.proposal.get("panels", []):
        submission = session.get(Submission, panel["submission_id"])
        if submission is None:
            problems.append(f"#{panel['submission_id']}")
            continue
        ok = eligible_mask(pool.table, submission_record(submission), rules, today)
        for expert_id, _aff in panel["members"]:
            position = pool.index.get(expert_id)
            if position is None or not ok[position] or expert_id in taken.get(submission.id, ()):
                problems.append(f"#{submission.id}: {expert_id}")
    return problems


def cancel(session: Session, actor: User, round_: ReviewRound) -> None:
    """Discard a proposed round, or one whose proposal failed or was cancelled."""
    if round_.state not in ("proposed", "failed", "stopped"):
        raise RoundError(
            str(_l("This round cannot be cancelled: it is being solved or was confirmed."))
        )
    round_.status = "cancelled"
    session.flush()
