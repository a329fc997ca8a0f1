"""Rate-limit counters in the application's database, shared by every worker and host.

Flask-Limiter keeps its counters in the storage named by RATELIMIT_STORAGE_URI. `memory://` is
per process: three gunicorn workers allowed three times the sign-in limit. Redis is shared but is
one more server; without one (`config.rate_limit_storage`), the counters live in the
`rate_limit_counter` table through this storage, scheme `expertpool+db://`. Each count is one
short statement in its own transaction (an upsert that returns the new count), on the engine of
the app serving the request; the fixed-window strategy (Flask-Limiter's default) is all it
supports.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import Float, String, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..db import db

_PRUNE_SECONDS = 60.0  # how often one process deletes expired counters


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix time


class DatabaseStorage(Storage):
    """limits storage on the app's database (`expertpool+db://`); used inside requests only."""

    STORAGE_SCHEME = ["expertpool+db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._pruned_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            insert = _insert_for(connection.dialect.name)(table).values(
                key=key, count=amount, expires_at=now + expiry
            )
            expired = table.c.expires_at <= now
            statement = insert.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "count": case((expired, amount), else_=table.c.count + amount),
                    "expires_at": case((expired, now + expiry), else_=table.c.expires_at),
                },
            ).returning(table.c.count)
            count = int(connection.execute(statement).scalar_one())
            if now - self._pruned_at > _PRUNE_SECONDS:
                self._pruned_at = now
                connection.execute(delete(table).where(table.c.expires_at <= now))
        return count

    def get(self, key: str) -> int:
        row = self._row(key)
        return int(row.count) if row is not None and row.expires_at > time.time() else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return float(row.expires_at) if row is not None else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key == key))

    def _row(self, key: str) -> Any:
        table = RateLimitCounter.__table__
        with db.engine.connect() as connection:
            return connection.execute(
                select(table.c.count, table.c.expires_at).where(table.c.key == key)
            ).first()


def register() -> None:
    """Nothing to do but import this module: `Storage` subclasses register their scheme."""
    assert "expertpool+db" in DatabaseStorage.STORAGE_SCHEME


def _insert_for(dialect: str) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite 3.24+, PostgreSQL 9.5+)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
