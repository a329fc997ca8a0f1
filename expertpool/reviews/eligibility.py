"""Who may sit on a review panel: the recusal and load rules applied to the database's rows.

The rules themselves are pure (`core.assignment.constraints` over `core.assignment.records`);
this module is the only place that
reads experts, submissions and assignments to build its `ExpertRecord` / `SubmissionRecord`:
`expert_record` from one loaded expert, `file_records` for the whole pool from a few
column-only SELECTs (no ORM entities), equal record for record.
Institution ids are canonical already (aliases resolve to one `Institution` row), GBW numbers
are normalised by the records themselves, and people are compared by `core.names.person_key`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import fields
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import Session, selectinload

from ..core.assignment.constraints import eligibility
from ..core.assignment.names import match
from ..core.assignment.records import (
    Exclusion,
    ExpertRecord,
    Rules,
    SubmissionRecord,
    email_domain,
)
from ..core.names import person_key
from ..experts.models import (
    ConflictOfInterest,
    DevelopedRM,
    Employment,
    Expert,
    ExpertCategory,
    Publication,
    UnavailablePeriod,
    Violation,
)
from ..experts.violations import INVESTIGATING
from ..submissions.models import Submission
from .constants import LOAD_STATUSES
from .models import Assignment


def _assigned_on():
    # An assignment counts in the year it was offered (a proposal not yet sent has no
    # invited_at; it does not count, as its status is outside LOAD_STATUSES anyway).
    return func.coalesce(Assignment.invited_at, Assignment.created_at)


def yearly_loads(
    session: Session, year: int, expert_ids: Iterable[int] | None = None
) -> dict[int, int]:
    """Reviews each expert holds in calendar `year` (invited, accepted or completed)."""
    stmt = (
        select(Assignment.expert_id, func.count())
        .where(Assignment.status.in_(LOAD_STATUSES), extract("year", _assigned_on()) == year)
        .group_by(Assignment.expert_id)
    )
    if expert_ids is not None:
        stmt = stmt.where(Assignment.expert_id.in_(list(expert_ids)))
    return {expert_id: count for expert_id, count in session.execute(stmt).all()}


def expert_record(
    session: Session,
    expert: Expert,
    today: dt.date,
    *,
    load: int | None = None,
    training_ok: bool | None = None,
    training_lapsed: bool = False,
    under_investigation: bool | None = None,
) -> ExpertRecord:
    """The core's view of `expert` on `today` (`load` and `under_investigation` may be given
    when known in bulk)."""
    if load is None:
        load = yearly_loads(session, today.year, [expert.id]).get(expert.id, 0)
    if under_investigation is None:
        under_investigation = expert.id in _investigated(session, [expert.id])
    return ExpertRecord(
        id=expert.id,
        institution_id=expert.institution_id,
        province=expert.province,
        status=str(expert.status),
        term_start=expert.term_start,
        term_end=expert.term_end,
        unavailable=tuple((p.start, p.end) for p in expert.unavailable_periods),
        conflict_institution_ids=frozenset(
            c.institution_id for c in expert.conflicts if c.institution_id is not None
        ),
        conflict_persons=frozenset(
            person_key(c.person_name) for c in expert.conflicts if c.person_name
        ),
        developed_rms=frozenset(rm.gbw_number for rm in expert.developed_rms),
        # An employment without an end date counts as current: the safe side for recusal.
        past_employers=tuple((e.institution_id, e.end) for e in expert.employments),
        load_this_year=load,
        metrology_competent=expert.metrology_competent,
        training_ok=training_ok,
        training_lapsed=training_lapsed,
        categories=frozenset(expert.category_codes),
        under_investigation=under_investigation,
        coauthors=coauthors(
            expert.name, ((p.authors, p.title, p.year) for p in expert.publications)
        ),
        email_domains=_domains([expert.email]),
        relations=_relations((c.person_name, c.relation) for c in expert.conflicts),
    )


def _investigated(session: Session, expert_ids: list[int] | None = None) -> set[int]:
    """Experts with a violation case under investigation (`experts.violations` states)."""
    v = Violation.__table__.c
    stmt = select(v.expert_id).where(v.state == INVESTIGATING).distinct()
    if expert_ids is not None:
        stmt = stmt.where(v.expert_id.in_(expert_ids))
    return set(session.scalars(stmt))


RELATIONS = ("advisor", "student")


def coauthors(
    own_name: str, papers: Iterable[tuple[list[str] | None, str, int | None]]
) -> tuple[tuple[str, str, int | None], ...]:
    """(co-author, title, year) of every author of every paper but the expert: an author whose
    name may be the expert's own (any spelling) is left out, or the expert would "co-author"
    with a namesake of the applicant's."""
    return _coauthors(own_name, tuple((tuple(a or ()), t, y) for a, t, y in papers))


# Each ranking process rebuilds every expert's record when any file changes (the pool
# snapshot's "experts" part): remembered by the expert's name and papers, only the edited
# expert's names are compared again (the comparisons were most of a rebuild, ~60 ms at 320
# experts, paid by every worker after every publication edit).
@lru_cache(maxsize=1 << 15)
def _coauthors(
    own_name: str, papers: tuple[tuple[tuple[str, ...], str, int | None], ...]
) -> tuple[tuple[str, str, int | None], ...]:
    found = {
        (author, title, year)
        for authors, title, year in papers
        for author in authors
        if author and match(author, own_name) is None
    }
    # Sorted: the record is the same whichever order the publications were read in.
    return tuple(sorted(found, key=lambda p: (p[0], p[1], p[2] is None, p[2] or 0)))


def _domains(addresses: Iterable[str | None]) -> frozenset[str]:
    return frozenset(d for d in map(email_domain, addresses) if d)


def _relations(pairs: Iterable[tuple[str | None, str | None]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({(n, r) for n, r in pairs if n and r in RELATIONS}))


def file_records(session: Session, *, papers: bool = True) -> list[ExpertRecord]:
    """Every expert's record as its file stands, in id order, without load or training.

    Seven column-only SELECTs of the tables (no ORM rows), whatever the size of the pool; each
    record equals `expert_record(session, expert, today, load=0)` for the same expert (the
    tests compare them). With `papers=False` the co-authors are left empty and their table is
    not read: the pool snapshot keeps them apart (`coauthors_by_expert`), since publications
    change far more often than the rest of a file.
    """
    columns = _file_columns()
    if not papers:
        del columns["papers"]
    parts = {name: _by_expert(session, stmt) for name, stmt in columns.items()}
    investigated = _investigated(session)
    e = Expert.__table__.c
    stmt = select(
        e.id,
        e.institution_id,
        e.province,
        e.status,
        e.term_start,
        e.term_end,
        e.metrology_competent,
        e.name,
        e.email,
    ).order_by(e.id)
    return [_file_record(row, parts, investigated) for row in session.execute(stmt).all()]


def coauthors_by_expert(session: Session) -> dict[int, tuple[tuple[str, str, int | None], ...]]:
    """`ExpertRecord.coauthors` of every expert with a publication, by expert id: what
    `file_records(session)` puts in each record, read in one SELECT."""
    e = Expert.__table__.c
    pub = Publication.__table__.c
    stmt = (
        select(pub.expert_id, e.name, pub.authors, pub.title, pub.year)
        .join_from(Publication.__table__, Expert.__table__, pub.expert_id == e.id)
        .order_by(pub.expert_id, pub.id)
    )
    out = {}
    for expert_id, rows in groupby(session.execute(stmt).all(), key=itemgetter(0)):
        rows = list(rows)
        out[expert_id] = coauthors(rows[0][1], (tuple(r[2:]) for r in rows))
    return out


def _file_columns() -> dict[str, Select]:
    """The file's collections, each in the order of the relationship `expert_record` reads."""
    cat, period = ExpertCategory.__table__.c, UnavailablePeriod.__table__.c
    conflict, rm, job, pub = (
        ConflictOfInterest.__table__.c,
        DevelopedRM.__table__.c,
        Employment.__table__.c,
        Publication.__table__.c,
    )
    return {
        "categories": select(cat.expert_id, cat.code),
        "unavailable": select(period.expert_id, period.start, period.end).order_by(
            period.expert_id, period.start, period.id
        ),
        "conflicts": select(
            conflict.expert_id, conflict.institution_id, conflict.person_name, conflict.relation
        ).order_by(conflict.expert_id, conflict.id),
        "papers": select(pub.expert_id, pub.authors, pub.title, pub.year).order_by(
            pub.expert_id, pub.id
        ),
        "rms": select(rm.expert_id, rm.gbw_number),
        "employments": select(job.expert_id, job.institution_id, job.end).order_by(
            job.expert_id, job.start, job.id
        ),
    }


def _by_expert(session: Session, stmt: Select) -> dict[int, list]:
    """Rows by their first column (the expert): the second column, or the rest as a tuple."""
    out: dict[int, list] = defaultdict(list)
    single = len(stmt.selected_columns) == 2
    for row in session.execute(stmt).all():  # fetchall: one call, not one per row
        out[row[0]].append(row[1] if single else tuple(row[1:]))
    return out


def _file_record(
    row: Any, parts: dict[str, dict[int, list]], investigated: set[int]
) -> ExpertRecord:
    expert_id = row[0]
    conflicts = parts["conflicts"].get(expert_id, ())
    papers = parts.get("papers")
    return ExpertRecord(
        id=expert_id,
        institution_id=row[1],
        province=row[2],
        status=str(row[3]),
        term_start=row[4],
        term_end=row[5],
        unavailable=tuple(parts["unavailable"].get(expert_id, ())),
        conflict_institution_ids=frozenset(i for i, _p, _r in conflicts if i is not None),
        conflict_persons=frozenset(person_key(p) for _i, p, _r in conflicts if p),
        developed_rms=frozenset(parts["rms"].get(expert_id, ())),
        past_employers=tuple(parts["employments"].get(expert_id, ())),
        load_this_year=0,
        metrology_competent=bool(row[6]),
        training_ok=None,
        categories=frozenset(parts["categories"].get(expert_id, ())),
        under_investigation=expert_id in investigated,
        coauthors=() if papers is None else coauthors(row[7], papers.get(expert_id, ())),
        email_domains=_domains([row[8]]),
        relations=_relations((p, r) for _i, p, r in conflicts),
    )


def submission_record(submission: Submission) -> SubmissionRecord:
    """The core's view of `submission`."""
    return SubmissionRecord(
        id=submission.id,
        applicant_institution_id=submission.applicant_institution_id,
        applicant_province=submission.applicant_province,
        rm_numbers=frozenset({submission.gbw_number} if submission.gbw_number else ()),
        rm_name=submission.rm_name or "",
        window_start=submission.window_start,
        window_end=submission.window_end,
        category=submission.category,
        related_people=frozenset(person_key(p) for p in submission.named_people if p),
        named_people=tuple(p for p in submission.named_people if p),
        contact_domains=frozenset(submission.contact_domains or ()),
    )


# The parts of an expert's file that recusal reads.
_FILE_PARTS = (
    "categories",
    "unavailable_periods",
    "conflicts",
    "developed_rms",
    "employments",
    "publications",
)


def exclusion_reasons(
    session: Session, expert: Expert, submission: Submission, rules: Rules, today: dt.date
) -> list[Exclusion]:
    """Every reason `expert` may not review `submission` today ([] = eligible).

    Reads the file as stored now: a conflict added by foreign key earlier in this session is
    not in a collection loaded before it, and a missed conflict is never acceptable.
    """
    session.flush()
    session.expire(expert, _FILE_PARTS)
    return eligibility(
        expert_record(session, expert, today), submission_record(submission), rules, today
    )


def exclusion_reasons_of(
    session: Session,
    experts: Iterable[Expert],
    submission: Submission,
    rules: Rules,
    today: dt.date,
) -> dict[int, list[Exclusion]]:
    """`exclusion_reasons` of several experts at once: their files read again from the database
    (as stored now, after a flush) in one query per part, not one per part and expert."""
    experts = list(experts)
    if not experts:
        return {}
    session.flush()
    ids = [e.id for e in experts]
    session.scalars(
        select(Expert)
        .where(Expert.id.in_(ids))
        .options(*(selectinload(getattr(Expert, part)) for part in _FILE_PARTS))
        .execution_options(populate_existing=True)
    ).all()
    loads = yearly_loads(session, today.year, ids)
    investigated = _investigated(session, ids)
    record = submission_record(submission)
    return {
        e.id: eligibility(
            expert_record(
                session,
                e,
                today,
                load=loads.get(e.id, 0),
                under_investigation=e.id in investigated,
            ),
            record,
            rules,
            today,
        )
        for e in experts
    }


def rules_from_config(config: Mapping[str, Any]) -> Rules:
    """`Rules` with any field overridden by a `MATCH_<FIELD>` setting (e.g. MATCH_PANEL_SIZE)."""
    overrides = {
        f.name: config[f"MATCH_{f.name.upper()}"]
        for f in fields(Rules)
        if f"MATCH_{f.name.upper()}" in config
    }
    return Rules(**overrides)


def exclusion_dicts(reasons: Iterable[Exclusion]) -> list[dict[str, Any]]:
    """JSON-friendly form of exclusions, for storing beside a skipped alternate."""
    return [{"code": r.code, "params": _jsonable(r.params)} for r in reasons]


def _jsonable(params: Mapping[str, object]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple | frozenset | set) else v for k, v in params.items()}
