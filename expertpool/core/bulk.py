"""Writing many new ORM objects with Core bulk INSERTs: a short write transaction for imports.

An import builds its rows as ORM objects through the features' operations (one code path for a
form, the demo data and a file), with nothing written. `prepare` turns them, before any
transaction starts, into what the database is sent: their rows with the column defaults
applied, numbered (SQLite: after the highest id; PostgreSQL: ids reserved from the sequences),
each child's foreign keys filled from its parent's id, their audit rows, every value converted
for the driver. `write` then only sends them, table by table, as multi-row INSERTs: the write
lock is held for those alone (3,000 experts with their parts, ~23,000 rows and as many audit
rows: 1.6 s on a 2-core machine loaded 12, against 138 s for the ORM's flush; BENCHMARKS.md,
"Issue 12: short write transactions"). On SQLite, when
another connection added rows to one of the tables in between, `write` numbers them again.

A Core INSERT fires no flush events, so what listens to flushes is done here, in bulk and in
the same transaction: the audit log's "create" rows, and `signals.rows_inserted` for the
features that note which of their rows changed (the experts' files and their index job, the
matching pool's stamps). After the commit the objects join the session as persistent rows, as
a flush leaves them (until then they are detached copies holding their ids and values).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, func, insert, inspect, select, text
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY

from ..db import db
from . import audit, audit_chain, signals
from .features import listen

CHUNK = 1000  # rows per executemany call (insertmanyvalues splits further by bound parameters)
_ATTACH = "bulk_attach_after_commit"  # session.info: objects written, to attach once committed


@dataclass
class _Link:
    """A foreign key of a new row, taken from its parent's row once that is written."""

    child: Any
    child_row: dict[str, Any]
    child_column: str
    child_attr: str
    parent_row: dict[str, Any]
    parent_column: str


@dataclass
class _Table:
    """The new objects of one mapper, their rows and audit changes, in insert order."""

    mapper: Mapper[Any]
    pk: Column[Any]
    pk_attr: str
    objects: list[Any] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, list[Any]] | None] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)


@dataclass
class Prepared:
    """New objects as rows, parents' tables first; `write` writes them."""

    tables: list[_Table]
    dialect: Any = None
    highest: dict[str, int] = field(default_factory=dict)  # SQLite: table -> max id when numbered
    batches: list[tuple[str, list[Any]]] = field(default_factory=list)  # (driver SQL, params)

    @property
    def objects(self) -> list[Any]:
        return [obj for table in self.tables for obj in table.objects]


def prepare(session: Session, objects: Sequence[Any]) -> Prepared:
    """What writing `objects` (transient or expunged, never flushed) sends to the database.

    Reads the tables' highest ids (SQLite) or reserves ids (PostgreSQL), with no lock taken.
    Column defaults and ids are applied to the objects too, so they hold what is written."""
    by_mapper: dict[Mapper[Any], _Table] = {}
    row_of: dict[int, dict[str, Any]] = {}
    for obj in objects:
        mapper = inspect(obj).mapper
        table = by_mapper.get(mapper)
        if table is None:
            (pk,) = mapper.local_table.primary_key.columns
            table = by_mapper[mapper] = _Table(mapper, pk, _attr(mapper, pk))
        row = _row(mapper, obj)
        table.objects.append(obj)
        table.rows.append(row)
        row_of[id(obj)] = row
    for table in by_mapper.values():
        _find_links(table, by_mapper, row_of)
        keys = {link.child_column for link in table.links} | {table.pk.key}
        attrs = {p.columns[0].key: p.key for p in table.mapper.column_attrs}
        for obj, row in zip(table.objects, table.rows, strict=True):
            table.changes.append(
                audit.created_changes(
                    {attrs[k]: v for k, v in row.items() if k not in keys}, table.mapper
                )
                if audit.is_audited(obj)
                else None
            )
    order = {t: i for i, t in enumerate(db.metadata.sorted_tables)}
    tables = sorted(by_mapper.values(), key=lambda t: order[t.mapper.local_table])
    prepared = Prepared(tables, session.get_bind().dialect)
    _number(session, prepared)
    return prepared


def _attr(mapper: Mapper[Any], column: Column[Any]) -> str:
    return mapper.get_property_by_column(column).key


def _row(mapper: Mapper[Any], obj: Any) -> dict[str, Any]:
    """The column values of `obj` as its attributes hold them, else the columns' defaults."""
    values = obj.__dict__
    row: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in values:
            row[column.key] = values[prop.key]
            continue
        if column.default is not None and column.default.is_scalar:
            value = column.default.arg
        elif column.default is not None and column.default.is_callable:
            value = column.default.arg(None)  # (wrapped: takes an execution context)
        elif column.server_default is None and not column.primary_key:
            value = None
        else:
            continue
        row[column.key] = values[prop.key] = value
    return row


def _find_links(
    table: _Table, by_mapper: dict[Mapper[Any], _Table], row_of: dict[int, dict[str, Any]]
) -> None:
    """Foreign keys through many-to-one relationships (a new parent: linked, written first; a
    loaded one: copied now) and through the one-to-many collections of new parents."""
    mapper = table.mapper
    for rel in mapper.relationships:
        if rel.direction is MANYTOONE:
            for obj, row in zip(table.objects, table.rows, strict=True):
                parent = obj.__dict__.get(rel.key)
                if parent is None:
                    continue
                parent_row = row_of.get(id(parent))
                parent_mapper = inspect(parent).mapper
                for local, remote in rel.local_remote_pairs:
                    attr = _attr(mapper, local)
                    if parent_row is not None:
                        table.links.append(_Link(obj, row, local.key, attr, parent_row, remote.key))
                    else:
                        value = getattr(parent, _attr(parent_mapper, remote))
                        row[local.key] = obj.__dict__[attr] = value
        elif rel.direction is ONETOMANY:
            for row, obj in zip(table.rows, table.objects, strict=True):
                for child in obj.__dict__.get(rel.key) or ():
                    child_row = row_of.get(id(child))
                    if child_row is None:
                        continue
                    child_table = by_mapper[inspect(child).mapper]
                    for local, remote in rel.local_remote_pairs:
                        attr = _attr(child_table.mapper, remote)
                        link = _Link(child, child_row, remote.key, attr, row, local.key)
                        child_table.links.append(link)


def write(session: Session, prepared: Prepared) -> list[Any]:
    """Send the prepared rows and their audit rows, inside the caller's transaction (which holds
    the write lock from its start on SQLite: `db.savepoint(immediate=True)`), and announce them;
    the objects join the session after the commit. Returns the objects."""
    if prepared.highest and prepared.highest != _highest(session, prepared.tables):
        _number(session, prepared)  # another connection added rows since: number them again
    connection = session.connection()
    for sql, params in prepared.batches:
        connection.exec_driver_sql(sql, params)
    # Raw INSERTs pass no ORM hook: the commit must still seal the audit rows among them.
    audit_chain.mark_unsealed(session)
    objects = prepared.objects
    signals.rows_inserted.send(session, objects=objects)
    session.info.setdefault(_ATTACH, []).extend(objects)
    return objects


def _highest(session: Session, tables: list[_Table]) -> dict[str, int]:
    return {t.mapper.local_table.name: session.scalar(select(func.max(t.pk))) or 0 for t in tables}


def _ids(session: Session, prepared: Prepared, table: _Table) -> list[int]:
    """New ids for a table's rows: after the highest (SQLite, checked again by `write`), or
    taken from its sequence (PostgreSQL: never given out twice, whoever commits first)."""
    n = len(table.rows)
    name = table.mapper.local_table.name
    if prepared.dialect.name == "sqlite":
        start = prepared.highest[name]
        return list(range(start + 1, start + n + 1))
    sequence = session.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": name, "column": table.pk.name},
    )
    return list(
        session.scalars(
            text("SELECT nextval(:sequence) FROM generate_series(1, :n)"),
            {"sequence": sequence, "n": n},
        )
    )


def _number(session: Session, prepared: Prepared) -> None:
    """Give the rows their ids, their children the foreign keys, and build the batches."""
    if prepared.dialect.name == "sqlite":
        prepared.highest = _highest(session, prepared.tables)
    for table in prepared.tables:
        for link in table.links:
            value = link.parent_row[link.parent_column]
            link.child_row[link.child_column] = link.child.__dict__[link.child_attr] = value
        pk, pk_attr = table.pk.key, table.pk_attr
        for obj, row, new_id in zip(
            table.objects, table.rows, _ids(session, prepared, table), strict=True
        ):
            row[pk] = obj.__dict__[pk_attr] = new_id
    prepared.batches = [
        batch
        for table in prepared.tables
        for batch in _batches(prepared.dialect, table.mapper.local_table, table.rows)
    ]
    audit_rows = audit.created_rows(session, _audited(prepared))
    prepared.batches += _batches(prepared.dialect, audit.AuditLog.__table__, audit_rows)


def _audited(prepared: Prepared) -> list[tuple[Any, dict[str, list[Any]]]]:
    """The audited objects with their changes, completed by their ids and foreign keys."""
    created = []
    for table in prepared.tables:
        late = {table.pk.key: table.pk_attr} | {
            link.child_column: link.child_attr for link in table.links
        }
        for obj, row, changes in zip(table.objects, table.rows, table.changes, strict=True):
            if changes is None:
                continue
            for column, attr in late.items():
                if row.get(column) is not None:
                    changes[attr] = [None, row[column]]
            created.append((obj, changes))
    return created


def _batches(dialect: Any, table: Table, rows: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """The driver's INSERT statements and parameters for `rows`, values already converted (as
    SQLAlchemy would convert them while the lock is held), in chunks of CHUNK rows."""
    batches = []
    for keys, indexes in _groups(rows):
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        processors = {
            key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys
        }
        names = list(compiled.positiontup or ()) if compiled.positional else list(keys)
        converted = []
        for i in indexes:
            values = {
                k: (p(rows[i][k]) if p is not None else rows[i][k]) for k, p in processors.items()
            }
            converted.append(tuple(values[n] for n in names) if compiled.positional else values)
        for begin in range(0, len(converted), CHUNK):
            batches.append((compiled.string, converted[begin : begin + CHUNK]))
    return batches


def _groups(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[int]]]:
    """Row indexes by the columns they give (an executemany takes one set of columns)."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[tuple(sorted(row))].append(index)
    return list(groups.items())


def _attach_after_commit(session: Session) -> None:
    """The written objects join the session once committed (outside the write lock)."""
    if session.in_nested_transaction():  # a savepoint's release: wait for the real commit
        return
    objects = session.info.pop(_ATTACH, None)
    if not objects:
        return
    for obj in objects:
        make_transient_to_detached(obj)
        # An object the session still holds for a row deleted since with a bare DELETE, whose
        # id the database gave out again: it no longer stands for anything (a flush replaces it).
        stale = session.identity_map.get(inspect(obj).key)
        if stale is not None and stale is not obj:
            session.expunge(stale)
    for obj in objects:
        session.add(obj)


def _forget(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_ATTACH, None)


def connect() -> None:
    """Attach the session handlers (the core's `init_app` calls this)."""
    listen("after_commit", _attach_after_commit)
    listen("after_rollback", _forget)
