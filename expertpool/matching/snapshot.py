"""The matching pool as plain records and arrays, kept per process and current through stamps.

A ranking needs, for every expert, what the recusal and load rules and the category and
specialty scores read. It comes from a few column-only SELECTs (`reviews.eligibility.
file_records`, the specialties, the yearly loads, the training holders), never from ORM
entities, and a process keeps it between requests in three parts:

| part     | holds                                      | moved by a commit that changed           |
|----------|--------------------------------------------|------------------------------------------|
| files    | records, columnar table, specialty index   | an expert's file, status, term or        |
|          |                                            | institution (`signals.expert_files_changed`) |
| loads    | reviews per expert in the calendar year    | an assignment (invitation, answer, ...)  |
| training | who holds every required course (today)    | a course or a certificate                |

Each commit that changes a part writes a new random stamp into its `PoolState` row, in the same
transaction. Each ranking reads the three stamps (one small SELECT) and rebuilds only the parts
whose stamp moved, so several processes and hosts on one database agree: a change is seen by the
next ranking anywhere, as with the old per-request loading. A transaction that changed a part
itself (flushed, not yet committed) loads everything from the database and caches nothing: it
must see its own change, and no other request may. A part without a row yet (a database made
by `create_all` that nothing has changed) is never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Any, TypeVar

import numpy as np
from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from courses.models import Certificate, Course

from ..core import signals
from ..core.assignment.constraints import ExpertTable
from ..core.assignment.records import ExpertRecord, Rules
from ..core.features import listen
from ..db import utcnow
from ..experts.models import Specialty
from ..experts.tracking import expert_of
from ..reviews.eligibility import file_records, yearly_loads
from ..reviews.models import Assignment
from .models import PoolState
from .scoring import SpecialtyIndex

PARTS = ("files", "loads", "training")
_NOTED = "matching_pool_noted"  # session.info: parts a flush of this transaction changed
_BUMPED = "matching_pool_bumped"  # session.info: parts whose stamp this transaction moved
_CACHE = "expertpool.matching.pool"
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Files:
    """Every expert's file as the matching core reads it, in id order."""

    records: tuple[ExpertRecord, ...]  # load 0, training unknown: `Pool.record` adds them
    ids: np.ndarray
    table: ExpertTable
    specialties: SpecialtyIndex
    specialty_names: dict[int, tuple[str, ...]]  # expert id -> names, in the file's order

    @classmethod
    def load(cls, session: Session) -> Files:
        records = file_records(session)
        names: dict[int, list[str]] = defaultdict(list)
        stmt = select(Specialty.expert_id, Specialty.name).order_by(
            Specialty.expert_id, Specialty.id
        )
        for expert_id, name in session.execute(stmt):
            names[expert_id].append(name)
        return cls(
            tuple(records),
            np.fromiter((r.id for r in records), np.int64, len(records)),
            ExpertTable.from_records(records),
            SpecialtyIndex([names.get(r.id, ()) for r in records]),
            {expert_id: tuple(n) for expert_id, n in names.items()},
        )

    @cached_property
    def index(self) -> dict[int, int]:
        return {int(expert_id): row for row, expert_id in enumerate(self.ids)}


@dataclass(eq=False)
class Pool:
    """The experts a ranking considers, in id order, with this year's loads and training."""

    files: Files
    loads: np.ndarray  # int64 reviews this calendar year, per row
    training: np.ndarray | None  # bool per row; None when the rules do not ask for training

    @classmethod
    def load_current(cls, session: Session, today: dt.date, rules: Rules) -> Pool:
        """The pool as the database holds it now (from this process's snapshot when current)."""
        stamps = current_stamps(session)  # autoflushes: pending changes are noted first
        if changed_here(session) or not has_app_context():
            return cls._build(session, today, rules, _Uncached())
        return cls._build(session, today, rules, _Cached(_cache(current_app), stamps))

    @classmethod
    def _build(cls, session: Session, today: dt.date, rules: Rules, parts: _Parts) -> Pool:
        files = parts.get("files", (), lambda: Files.load(session))
        loads = parts.get(
            "loads", (today.year,), lambda: _load_column(session, files, today.year), files
        )
        training = None
        if rules.require_training:
            training = parts.get(
                "training", (today,), lambda: _training_column(session, files, today), files
            )
        return cls(files, loads, training)

    # Pool.load(session, today, rules) is how the service and the rounds ask for it.
    load = load_current

    def __len__(self) -> int:
        return len(self.files.ids)

    @property
    def ids(self) -> np.ndarray:
        return self.files.ids

    @property
    def index(self) -> dict[int, int]:
        """Expert id -> position."""
        return self.files.index

    @cached_property
    def table(self) -> ExpertTable:
        training = (
            np.full(len(self), -1, np.int8)
            if self.training is None
            else self.training.astype(np.int8)
        )
        return dataclasses.replace(self.files.table, load=self.loads, training=training)

    def record(self, i: int) -> ExpertRecord:
        """The full record of the expert at position `i` (as `reviews.eligibility` builds it)."""
        return dataclasses.replace(
            self.files.records[i],
            load_this_year=int(self.loads[i]),
            training_ok=None if self.training is None else bool(self.training[i]),
        )

    def specialties(self, expert_id: int) -> tuple[str, ...]:
        return self.files.specialty_names.get(expert_id, ())

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


def _load_column(session: Session, files: Files, year: int) -> np.ndarray:
    out = np.zeros(len(files.ids), dtype=np.int64)
    for expert_id, count in yearly_loads(session, year).items():
        row = files.index.get(expert_id)
        if row is not None:
            out[row] = count
    return out


def _training_column(session: Session, files: Files, today: dt.date) -> np.ndarray:
    from courses.queries import experts_with_required_training

    held = experts_with_required_training(session, files.ids.tolist(), today=today)
    return np.fromiter((int(i) in held for i in files.ids), bool, len(files.ids))


# --- the per-process cache --------------------------------------------------------------------


class _Parts:
    def get(self, part: str, key: tuple, build: Callable[[], T], files: Files | None = None) -> T:
        raise NotImplementedError


class _Uncached(_Parts):
    def get(self, part: str, key: tuple, build: Callable[[], T], files: Files | None = None) -> T:
        return build()


class _Cached(_Parts):
    """Parts from the process's cache while their stamps (and the files they index) hold."""

    def __init__(self, cache: dict[str, tuple[Hashable, Any]], stamps: dict[str, str]) -> None:
        self.cache, self.stamps = cache, stamps

    def get(self, part: str, key: tuple, build: Callable[[], T], files: Files | None = None) -> T:
        stamp = self.stamps.get(part)
        if not stamp:  # never moved: nothing tells this state apart from another database's
            return build()
        full = (stamp, *key)
        entry = self.cache.get(part)
        # A column of loads or training belongs to the files it was indexed by.
        if entry is not None and entry[0] == full and entry[2] is files:
            return entry[1]
        value = build()
        self.cache[part] = (full, value, files)  # one assignment: atomic for other threads
        return value


def _cache(app: Flask) -> dict[str, Any]:
    return app.extensions.setdefault(_CACHE, {})


def forget(app: Flask) -> None:
    """Drop this process's snapshot (the next ranking loads the pool from the database)."""
    _cache(app).clear()


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


def _part_of(obj: Any) -> str | None:
    if isinstance(obj, Assignment):
        return "loads"
    if isinstance(obj, Certificate | Course):
        return "training"
    return "files" if expert_of(obj) is not None else None


def _note_flush(session: Session, _flush_context: Any) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        part = _part_of(obj)
        if part is not None:
            session.info.setdefault(_NOTED, set()).add(part)


def on_expert_files_changed(session: Session, **_kw: Any) -> None:
    """An expert's file changed in this transaction: move the files stamp with it."""
    bump(session, "files")


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
    signals.expert_files_changed.connect(on_expert_files_changed)
    listen("after_flush", _note_flush)
    listen("before_commit", _bump_before_commit)
    listen("after_transaction_end", _forget_transaction)
