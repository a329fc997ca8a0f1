"""Database objects shared by every feature: the declarative base and the session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """Naive UTC timestamp (SQLite keeps no zone; PostgreSQL columns are 'without time zone')."""
    return datetime.now(UTC).replace(tzinfo=None)


SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for SQLite's write lock


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave like PostgreSQL where it matters to us.

    Foreign keys are off by default in SQLite; WAL lets readers in other server processes go on
    while one writes; a busy timeout makes a writer wait for the lock instead of failing. (We keep
    pysqlite's lazy BEGIN so plain reads hold no lock; code that opens a SAVEPOINT first issues
    BEGIN itself, see experts.importer.commit.)
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@contextmanager
def savepoint(session: Session, *, immediate: bool = False) -> Iterator[None]:
    """All-or-nothing block: a SAVEPOINT inside a real transaction.

    pysqlite (in its default, legacy mode) only sends BEGIN before the first INSERT/UPDATE; a
    SAVEPOINT sent earlier opens the transaction itself and its RELEASE then commits the whole
    block, so the caller could no longer roll it back. Imports and bulk operations use this.
    `immediate`: on SQLite the transaction it begins takes the write lock at once (BEGIN
    IMMEDIATE, waiting for it like any writer), so what it reads stays true until the commit.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not getattr(dbapi, "in_transaction", True):
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    with session.begin_nested():
        yield


@contextmanager
def short_lock_wait(session: Session, milliseconds: int) -> Iterator[None]:
    """Wait at most `milliseconds` for SQLite's write lock inside the block (then "locked").

    For writes a page can do without (where a learner was last): such a page should not wait the
    full SQLITE_BUSY_TIMEOUT_MS behind a long writer. PostgreSQL locks rows, not the database, so
    nothing changes there.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(milliseconds)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
