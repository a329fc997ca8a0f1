"""Review rounds: propose globally optimal panels for many submissions, then confirm them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core.assignment.assign import PoolAttributes, assign_round
from ..core.assignment.constraints import eligible_mask
from ..core.assignment.records import Rules
from ..core.assignment.sparsify import SparsityCertificate, assign_sparse
from ..core.errors import OperationError
from ..db import utcnow
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


def open_submissions(session: Session) -> list[Submission]:
    """Submissions that still need a panel."""
    taken = select(Assignment.submission_id).where(Assignment.role == "member").distinct()
    stmt = (
        select(Submission)
        .where(Submission.status.in_(["registered", "matching"]), Submission.id.not_in(taken))
        .order_by(Submission.created_at)
    )
    return list(session.scalars(stmt))


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
    """Solve the round and keep the proposal for an administrator to review."""
    if not submissions:
        raise RoundError(str(_l("Choose at least one submission.")))
    today = today or dt.date.today()
    pool = Pool.load(session, today, rules)
    if not len(pool):
        raise RoundError(str(_l("The pool has no experts.")))
    affinity = _affinity(session, submissions, pool, rules, today)
    attributes = dataclasses.replace(
        PoolAttributes.from_table(pool.table, rules), ids=pool.ids.copy()
    )
    submission_ids = np.array([s.id for s in submissions])
    certificate = None
    if len(pool) > SPARSIFY_ABOVE:
        solved = assign_sparse(
            affinity, attributes, rules, TOP_K, submission_ids=submission_ids, fairness=fairness
        )
        result, certificate = solved.result, solved.certificate
    else:
        result = assign_round(
            affinity, attributes, rules, fairness=fairness, submission_ids=submission_ids
        )
    round_ = ReviewRound(
        name=name,
        created_by_id=actor.id,
        due_date=due_date,
        settings={"rules": dataclasses.asdict(rules), "fairness": fairness},
        proposal=_proposal(submissions, pool, affinity, result, certificate),
    )
    session.add(round_)
    session.flush()
    return round_


def _affinity(
    session: Session, submissions: Sequence[Submission], pool: Pool, rules: Rules, today: dt.date
) -> np.ndarray:
    """(M, N) affinities; -inf where the expert may not review or already is on the panel."""
    cfg = scoring_config()
    out = np.full((len(submissions), len(pool)), -np.inf)
    taken = _taken(session, [s.id for s in submissions])
    for m, submission in enumerate(submissions):
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
    if round_.status != "proposed":
        raise RoundError(str(_l("Only a proposed round can be cancelled.")))
    round_.status = "cancelled"
    session.flush()
