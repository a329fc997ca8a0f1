"""Writing many new ORM objects with Core bulk INSERTs: a short write transaction for imports.

An import builds its rows as ORM objects through the features' operations (one code path for a
form, the demo data and a file), with nothing written. `prepare` turns them into plain rows
(column defaults applied) before any transaction starts; `write` then writes them table by
table with multi-row INSERT ... RETURNING (insertmanyvalues, SQLite >= 3.35 and PostgreSQL),
filling each child's foreign keys from its parent's new id. 3,000 experts with their parts
(~30,000 rows) hold SQLite's write lock about a second instead of ~12 s for the ORM's flush.

A Core INSERT fires no flush events, so what listens to flushes is done here, in bulk and in the
same transaction: the audit log's "create" rows (`audit.created_rows`), and
`signals.rows_inserted` for the features that note which of their rows changed (the experts'
files, the matching pool's stamps). Afterwards the objects are attached to the session as
persistent rows, as a flush would leave them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, func, insert, inspect, select
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY

from ..db import db
from . import audit, signals

CHUNK = 1000  # rows per executemany call (insertmanyvalues splits further by bound parameters)


@dataclass
class _Table:
    """The new objects of one mapper and their rows, in insert order."""

    mapper: Mapper[Any]
    objects: list[Any] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Prepared:
    """New objects as rows, parents' tables first; `write` writes them."""

    tables: list[_Table]
    row_of: dict[int, dict[str, Any]]  # id(object) -> its row

    @property
    def objects(self) -> list[Any]:
        return [obj for table in self.tables for obj in table.objects]


def prepare(objects: Sequence[Any]) -> Prepared:
    """The rows of `objects` (transient or expunged, never flushed): no database access."""
    by_mapper: dict[Mapper[Any], _Table] = {}
    for obj in objects:
        mapper = inspect(obj).mapper
        table = by_mapper.setdefault(mapper, _Table(mapper))
        table.objects.append(obj)
        table.rows.append(_row(mapper, obj))
    order = {t: i for i, t in enumerate(db.metadata.sorted_tables)}
    tables = sorted(by_mapper.values(), key=lambda t: order[t.mapper.local_table])
    row_of = {id(obj): row for t in tables for obj, row in zip(t.objects, t.rows, strict=True)}
    return Prepared(tables, row_of)


def _row(mapper: Mapper[Any], obj: Any) -> dict[str, Any]:
    """The column values of `obj` as its attributes hold them, else the columns' defaults."""
    state = inspect(obj).dict
    row: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state:
            row[column.key] = state[prop.key]
        elif column.default is not None and column.default.is_scalar:
            row[column.key] = column.default.arg
        elif column.default is not None and column.default.is_callable:
            row[column.key] = column.default.arg(None)  # (wrapped: takes an execution context)
        elif column.server_default is None and not column.primary_key:
            row[column.key] = None
    return row


def write(session: Session, prepared: Prepared) -> list[Any]:
    """Write the prepared rows (inside the caller's transaction), audit them, announce them and
    attach the objects to `session` as persistent; returns the objects."""
    for table in prepared.tables:
        _link_parents(table)
        _insert_table(session, table)
        _link_children(table, prepared.row_of)
    created = [pair for table in prepared.tables for pair in _pairs(table)]
    _attach(session, created)
    objects = [obj for obj, _values in created]
    audit.write_created(session, created)
    signals.rows_inserted.send(session, objects=objects)
    return objects


def _pairs(table: _Table) -> list[tuple[Any, dict[str, Any]]]:
    keys = {p.columns[0].key: p.key for p in table.mapper.column_attrs}
    return [
        (obj, {keys[k]: v for k, v in row.items()})
        for obj, row in zip(table.objects, table.rows, strict=True)
    ]


def _attr(mapper: Mapper[Any], column: Column[Any]) -> str:
    return mapper.get_property_by_column(column).key


def _link_parents(table: _Table) -> None:
    """Foreign keys from the objects' many-to-one relationships (parents written or loaded)."""
    relationships = [r for r in table.mapper.relationships if r.direction is MANYTOONE]
    for obj, row in zip(table.objects, table.rows, strict=True):
        state = inspect(obj).dict
        for rel in relationships:
            parent = state.get(rel.key)
            if parent is None:
                continue
            parent_mapper = inspect(parent).mapper
            for local, remote in rel.local_remote_pairs:
                row[local.key] = _value(parent, _attr(parent_mapper, remote))


def _link_children(table: _Table, row_of: dict[int, dict[str, Any]]) -> None:
    """Children held in one-to-many collections get their parent's new id."""
    relationships = [r for r in table.mapper.relationships if r.direction is ONETOMANY]
    for obj in table.objects:
        state = inspect(obj).dict
        for rel in relationships:
            children = [c for c in state.get(rel.key) or () if id(c) in row_of]
            for local, remote in rel.local_remote_pairs:
                value = _value(obj, _attr(table.mapper, local))
                for child in children:
                    row_of[id(child)][remote.key] = value


def _value(obj: Any, key: str) -> Any:
    """An attribute without loading it when it is there (a parent loaded earlier, or just
    written)."""
    found = obj.__dict__.get(key)
    return found if found is not None else getattr(obj, key)


def _insert_table(session: Session, table: _Table) -> None:
    """One table's rows in chunks, each row's new id set in its row and on its object."""
    mapper = table.mapper
    (pk,) = mapper.local_table.primary_key.columns
    pk_attr = _attr(mapper, pk)
    if session.get_bind().dialect.name == "sqlite":
        _insert_numbered(session, table, pk)
    else:
        _insert_returning(session, table, pk)
    for obj, row in zip(table.objects, table.rows, strict=True):
        obj.__dict__[pk_attr] = row[pk.key]  # read by the children's `_link_parents`


def _insert_numbered(session: Session, table: _Table, pk: Column[Any]) -> None:
    """SQLite: ids numbered here, after the highest, then plain executemany INSERTs.

    SQLite does not say in which order INSERT ... RETURNING gives a multi-row insert's ids, so
    SQLAlchemy would insert row by row to match them; the transaction holds the write lock
    from its BEGIN IMMEDIATE (`db.savepoint`), so no one else can take these ids meanwhile."""
    start = session.scalar(select(func.max(pk))) or 0
    for number, row in enumerate(table.rows, start=start + 1):
        row[pk.key] = number
    for keys, indexes in _groups(table.rows):
        stmt = insert(table.mapper.local_table)
        for begin in range(0, len(indexes), CHUNK):
            params = [{k: table.rows[i][k] for k in keys} for i in indexes[begin : begin + CHUNK]]
            session.execute(stmt, params)


def _insert_returning(session: Session, table: _Table, pk: Column[Any]) -> None:
    """PostgreSQL: multi-row INSERT ... RETURNING the ids in the rows' order (insertmanyvalues)."""
    for keys, indexes in _groups(table.rows):
        stmt = insert(table.mapper.local_table).returning(pk, sort_by_parameter_order=True)
        for begin in range(0, len(indexes), CHUNK):
            chunk = indexes[begin : begin + CHUNK]
            params = [{k: table.rows[i][k] for k in keys} for i in chunk]
            ids = session.execute(stmt, params).scalars().all()
            for i, new_id in zip(chunk, ids, strict=True):
                table.rows[i][pk.key] = new_id


def _groups(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[int]]]:
    """Row indexes by the columns they give (an executemany takes one set of columns)."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[tuple(sorted(row))].append(index)
    return list(groups.items())


def _attach(session: Session, created: list[tuple[Any, dict[str, Any]]]) -> None:
    """Make the written objects persistent in `session`, their attributes as written."""
    for obj, values in created:
        for key, value in values.items():
            set_committed_value(obj, key, value)
    for obj, _values in created:
        make_transient_to_detached(obj)
        # An object the session still holds for a row deleted since with a bare DELETE, whose
        # id the database gave out again: it no longer stands for anything (a flush replaces it).
        stale = session.identity_map.get(inspect(obj).key)
        if stale is not None and stale is not obj:
            session.expunge(stale)
    for obj, _values in created:
        session.add(obj)
