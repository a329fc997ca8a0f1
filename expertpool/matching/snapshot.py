"""The matching pool as plain records and arrays, kept per process and current through stamps.

A ranking needs, for every expert, what the recusal and load rules and the category and
specialty scores read. It comes from a few column-only SELECTs (`reviews.eligibility.
file_records`, the co-authors, the specialties, the yearly loads, the training holders), never
from ORM entities, and a process keeps it between requests in five parts:

| part        | holds                                      | moved by a commit that changed        |
|-------------|--------------------------------------------|---------------------------------------|
| experts     | records and their columnar table           | an expert's status, term, institution,|
|             | (without co-authors)                       | province, categories, unavailable     |
|             |                                            | periods, conflicts, RMs developed,    |
|             |                                            | former employers, violation cases,    |
|             |                                            | e-mail; an expert added or removed    |
| papers      | each expert's recent co-authors and their  | a publication; an expert's name       |
|             | keys (aligned with "experts")              |                                       |
| specialties | the specialty index                        | a specialty                           |
| loads       | reviews per expert in the calendar year    | an assignment (invitation, answer...) |
| training    | who holds every required course (today)    | a course or a certificate             |

Each commit that changes a part writes a new random stamp into its `PoolState` row, in the same
transaction. Each ranking reads the stamps (one small SELECT) and rebuilds only the parts whose
stamp moved, so several processes and hosts on one database agree: a change is seen by the next
ranking anywhere, as when every request loaded the pool. The parts follow the flushes of the
rows they read, more finely than `signals.expert_files_changed` (which names the experts, not
what changed): an edited summary leaves the pool as it is (explanations read those texts per
request); a publication moves "papers", since its authors and year decide co-authorship
recusal, and so does the expert's name (an author who may be the expert is not a co-author);
the expert's e-mail moves "experts" (its domain is compared with the applicant's). Papers are
a part of their own because experts add and remove them all the time: with them in "experts",
every worker re-read every expert's whole file after each such edit (issue 11's load bench: a
candidates page p50 of ~1 s under 50 users, against ~0.3 s without edits). A transaction that
changed a part itself
(flushed, not yet committed) loads everything from the database and caches nothing: it must see
its own change, and no other request may. A part without a row (a database made by `create_all`
that nothing has changed yet) is never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, groupby
from operator import itemgetter
from typing import Any, TypeVar

import numpy as np
from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, inspect, select, update
from sqlalchemy.orm import Session

from courses.models import Certificate, Course

from ..core import signals
from ..core.assignment.constraints import (
    TRAINING_DONE,
    TRAINING_LAPSED,
    TRAINING_MISSING,
    ExpertTable,
    coauthor_index,
)
from ..core.assignment.records import ExpertRecord, Rules
from ..core.features import listen
from ..db import utcnow
from ..experts import models as files
from ..reviews.eligibility import coauthors_by_expert, file_records, yearly_loads
from ..reviews.models import Assignment
from .models import PoolState
from .scoring import SpecialtyIndex

PARTS = ("experts", "papers", "specialties", "loads", "training")
_NOTED = "matching_pool_noted"  # session.info: parts a flush of this transaction changed
_BUMPED = "matching_pool_bumped"  # session.info: parts whose stamp this transaction moved
_CACHE = "expertpool.matching.pool"
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Experts:
    """Every expert's record as the matching core reads it, in id order."""

    records: tuple[ExpertRecord, ...]  # no load, training, co-authors: `Pool.record` adds them
    ids: np.ndarray
    table: ExpertTable

    @classmethod
    def load(cls, session: Session) -> Experts:
        records = file_records(session, papers=False)
        ids = np.fromiter((r.id for r in records), np.int64, len(records))
        return cls(tuple(records), ids, ExpertTable.from_records(records))

    @cached_property
    def index(self) -> dict[int, int]:
        return {int(expert_id): row for row, expert_id in enumerate(self.ids)}


@dataclass(frozen=True, eq=False)
class Papers:
    """Each pool row's `ExpertRecord.coauthors` and the table's co-author keys."""

    coauthors: tuple[tuple[tuple[str, str, int | None], ...], ...]  # per row of `experts`
    keys: dict[str, tuple[np.ndarray, np.ndarray]]  # ExpertTable.coauthor_keys

    @classmethod
    def load(cls, session: Session, experts: Experts) -> Papers:
        found = coauthors_by_expert(session)
        rows = tuple(found.get(int(expert_id), ()) for expert_id in experts.ids)
        return cls(rows, coauthor_index(rows))


@dataclass(frozen=True, eq=False)
class Specialties:
    """The specialties of every expert who lists any, by expert id (not by pool position)."""

    ids: np.ndarray  # experts with at least one specialty, ascending
    index: SpecialtyIndex  # row i = ids[i]
    kinds: dict[int, tuple[tuple[str, str], ...]]  # expert id -> (kind, name), file order

    @classmethod
    def load(cls, session: Session) -> Specialties:
        spec = files.Specialty.__table__.c
        stmt = select(spec.expert_id, spec.kind, spec.name).order_by(spec.expert_id, spec.id)
        kinds = {
            expert_id: tuple((kind, name) for _e, kind, name in rows)
            for expert_id, rows in groupby(session.execute(stmt).all(), key=itemgetter(0))
        }
        ids = list(kinds)  # ascending: the rows come by expert
        return cls(
            np.asarray(ids, dtype=np.int64),
            SpecialtyIndex([[name for _kind, name in kinds[i]] for i in ids]),
            kinds,
        )


@dataclass(eq=False)
class Pool:
    """The experts a ranking considers, in id order, with this year's loads and training."""

    experts: Experts
    papers: Papers
    specialty_data: Specialties
    loads: np.ndarray  # int64 reviews this calendar year, per row
    # int8 per row (the core's TRAINING_* codes: 1 held, 0 missing, 2 lapsed); None when the
    # rules do not ask for training
    training: np.ndarray | None

    @classmethod
    def load_current(cls, session: Session, today: dt.date, rules: Rules) -> Pool:
        """The pool as the database holds it now (from this process's snapshot when current)."""
        stamps = current_stamps(session)  # autoflushes: pending changes are noted first
        if changed_here(session) or not has_app_context():
            return cls._build(session, today, rules, _Uncached())
        return cls._build(session, today, rules, _Cached(_cache(current_app), stamps))

    @classmethod
    def _build(cls, session: Session, today: dt.date, rules: Rules, parts: _Parts) -> Pool:
        experts = parts.get("experts", (), lambda: Experts.load(session))
        papers = parts.get("papers", (), lambda: Papers.load(session, experts), experts)
        specialties = parts.get("specialties", (), lambda: Specialties.load(session))
        loads = parts.get(
            "loads", (today.year,), lambda: _load_column(session, experts, today.year), experts
        )
        training = None
        if rules.require_training:
            training = parts.get(
                "training", (today,), lambda: _training_column(session, experts, today), experts
            )
        return cls(experts, papers, specialties, loads, training)

    # Pool.load(session, today, rules) is how the service and the rounds ask for it.
    load = load_current

    def __len__(self) -> int:
        return len(self.experts.ids)

    @property
    def ids(self) -> np.ndarray:
        return self.experts.ids

    @property
    def index(self) -> dict[int, int]:
        """Expert id -> position."""
        return self.experts.index

    @cached_property
    def table(self) -> ExpertTable:
        training = (
            np.full(len(self), -1, np.int8)
            if self.training is None
            else self.training.astype(np.int8)
        )
        return dataclasses.replace(
            self.experts.table, load=self.loads, training=training, coauthor_keys=self.papers.keys
        )

    def record(self, i: int) -> ExpertRecord:
        """The full record of the expert at position `i` (as `reviews.eligibility` builds it)."""
        return dataclasses.replace(
            self.experts.records[i],
            load_this_year=int(self.loads[i]),
            training_ok=None if self.training is None else bool(self.training[i] == TRAINING_DONE),
            training_lapsed=self.training is not None and bool(self.training[i] == TRAINING_LAPSED),
            coauthors=self.papers.coauthors[i],
        )

    def specialties(self, expert_id: int) -> tuple[tuple[str, str], ...]:
        """The expert's specialties as (kind, name), in the file's order."""
        return self.specialty_data.kinds.get(expert_id, ())

    def specialty_overlap(self, terms: list[str]) -> np.ndarray:
        """`scoring.specialty_overlap` of every pool expert, in pool order."""
        data = self.specialty_data
        return self.spread(data.ids, data.index.overlap(terms))

    def positions(self, expert_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Pool position of each expert id, -1 for experts not in the pool (vectorised)."""
        ids = np.asarray(expert_ids, dtype=np.int64)
        if not len(self) or not ids.size:
            return np.full(ids.shape, -1, dtype=np.int64)
        sorted_ids, order = self._id_order
        at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
        return np.where(sorted_ids[at] == ids, order[at], -1)

    def spread(self, expert_ids: Sequence[int], values: np.ndarray) -> np.ndarray:
        """A pool-ordered array holding `values` at the given experts' positions, 0 elsewhere."""
        out = np.zeros(len(self))
        at = self.positions(expert_ids)
        known = at >= 0
        out[at[known]] = np.asarray(values, dtype=np.float64)[known]
        return out

    @cached_property
    def _id_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Expert ids sorted, and the pool position of each."""
        order = np.argsort(self.ids, kind="stable")
        return self.ids[order], order


def _load_column(session: Session, experts: Experts, year: int) -> np.ndarray:
    out = np.zeros(len(experts.ids), dtype=np.int64)
    for expert_id, count in yearly_loads(session, year).items():
        row = experts.index.get(expert_id)
        if row is not None:
            out[row] = count
    return out


def _training_column(session: Session, experts: Experts, today: dt.date) -> np.ndarray:
    from courses.queries import training as required

    codes = {required.HELD: TRAINING_DONE, required.LAPSED_ONLY: TRAINING_LAPSED}
    states = required.required_training_states(session, experts.ids.tolist(), today=today)
    return np.fromiter(
        (codes.get(states.get(int(i), ""), TRAINING_MISSING) for i in experts.ids),
        np.int8,
        len(experts.ids),
    )


# --- the per-process cache --------------------------------------------------------------------


class _Parts:
    def get(self, part: str, key: tuple, build: Callable[[], T], base: Any = None) -> T:
        """Part `part` for `key` (and for the `base` part it is aligned with, if any)."""
        raise NotImplementedError


class _Uncached(_Parts):
    def get(self, part: str, key: tuple, build: Callable[[], T], base: Any = None) -> T:
        return build()


class _Cached(_Parts):
    """Parts from the process's cache while their stamps (and the part they align with) hold."""

    def __init__(self, cache: dict[str, tuple[Hashable, Any]], stamps: dict[str, str]) -> None:
        self.cache, self.stamps = cache, stamps

    def get(self, part: str, key: tuple, build: Callable[[], T], base: Any = None) -> T:
        stamp = self.stamps.get(part)
        if not stamp:  # never moved: nothing tells this state apart from another database's
            return build()
        full = (stamp, *key)
        entry = self.cache.get(part)
        # A column of loads or training belongs to the experts it was aligned with.
        if entry is not None and entry[0] == full and entry[2] is base:
            return entry[1]
        value = build()
        self.cache[part] = (full, value, base)  # one assignment: atomic for other threads
        return value


def _cache(app: Flask) -> dict[str, Any]:
    return app.extensions.setdefault(_CACHE, {})


# --- stamps ------------------------------------------------------------------------------------


def current_stamps(session: Session) -> dict[str, str]:
    return {part: stamp for part, stamp in session.execute(select(PoolState.part, PoolState.stamp))}


def changed_here(session: Session) -> bool:
    """Whether this transaction has changed a part of the pool that it has not committed yet."""
    return bool(session.info.get(_NOTED) or session.info.get(_BUMPED))


def bump(session: Session, part: str) -> None:
    """Move `part`'s stamp in this transaction (once per transaction is enough)."""
    if part in session.info.get(_BUMPED, ()):
        return
    stamp = secrets.token_hex(16)
    values = {"version": PoolState.version + 1, "stamp": stamp, "updated_at": utcnow()}
    stmt = (
        update(PoolState)
        .where(PoolState.part == part)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not session.execute(stmt).rowcount:
        _insert_ignore(session, part, stamp)
        session.execute(stmt)
    session.info.setdefault(_BUMPED, set()).add(part)


def _insert_ignore(session: Session, part: str, stamp: str) -> None:
    """Create the part's row unless a concurrent transaction just did."""
    values = {"part": part, "version": 0, "stamp": stamp, "updated_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        session.execute(insert(PoolState).values(**values))
        return
    session.execute(dialect_insert(PoolState).values(**values).on_conflict_do_nothing())


# Expert columns and relationships that no part of the pool reads (the page reads them per
# request): changing only these leaves the stamps as they are. Anything else moves "experts".
_IGNORED = frozenset(
    {
        "gender", "birth_date", "id_number", "phone", "id_number_hash",
        "department", "city", "title", "title_grade", "education", "years_experience", "summary", "status_reason",
        "status_changed_at", "created_at", "file_updated_at", "version",
        "past_reviews", "assessments", "status_events",
    }
)  # fmt: skip
_RECORD_PARTS = (
    files.ExpertCategory,
    files.UnavailablePeriod,
    files.ConflictOfInterest,
    files.DevelopedRM,
    files.Employment,
    files.Violation,  # a case opened or closed changes who is under investigation
)
# Expert attributes read by one other part only: the name by the co-author rule (an author who
# may be the expert is left out); the collections by the parts of their rows.
_OTHER_PART = {"name": "papers", "publications": "papers", "specialties": "specialties"}


def _parts_of(session: Session, obj: Any, created: bool = False) -> tuple[str, ...]:
    if isinstance(obj, Assignment):
        return ("loads",)
    if isinstance(obj, Certificate | Course):
        return ("training",)
    if isinstance(obj, files.Specialty):
        return ("specialties",)
    if isinstance(obj, files.Publication):  # its authors and year: recusal by co-authorship
        return ("papers",)
    if isinstance(obj, _RECORD_PARTS):
        return ("experts",)
    if isinstance(obj, files.Expert):
        if created or obj in session.new or obj in session.deleted:
            return ("experts", "specialties")
        changed = (a.key for a in inspect(obj).attrs if a.history.has_changes())
        return tuple({_OTHER_PART.get(key, "experts") for key in changed if key not in _IGNORED})
    return ()


def _note_flush(session: Session, _flush_context: Any) -> None:
    # After a flush, before its history is reset: `inspect(obj).attrs` still shows the changes.
    for obj in chain(session.new, session.dirty, session.deleted):
        parts = _parts_of(session, obj)
        if parts:
            session.info.setdefault(_NOTED, set()).update(parts)


def _note_inserted(session: Session, *, objects: list[Any], **_kw: Any) -> None:
    """Rows written by `core.bulk` (an import) without a flush: noted as `_note_flush` would
    (a new row's parts depend on its type alone)."""
    first_of_type = {type(obj): obj for obj in reversed(objects)}
    parts = {p for obj in first_of_type.values() for p in _parts_of(session, obj, created=True)}
    if parts:
        session.info.setdefault(_NOTED, set()).update(parts)


def _bump_before_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint's release: wait for the real commit
        return
    session.flush()
    for part in sorted(session.info.get(_NOTED, ())):
        bump(session, part)


def _forget_transaction(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended (commit or rollback)
        session.info.pop(_NOTED, None)
        session.info.pop(_BUMPED, None)


def init_app(app: Flask) -> None:
    listen("after_flush", _note_flush)
    signals.rows_inserted.connect(_note_inserted)
    listen("before_commit", _bump_before_commit)
    listen("after_transaction_end", _forget_transaction)
