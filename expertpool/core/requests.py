"""Request helpers shared by every feature's handlers."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort, flash, g
from sqlalchemy.orm import Session

T = TypeVar("T")

# SQLite and PostgreSQL keep integer keys in 64 bits; a larger number in a URL names no row
# (and SQLite's driver raises OverflowError for it, which would be a 500).
SQL_INT_MIN = -(2**63)
SQL_INT_MAX = 2**63 - 1


def fail(message: str) -> None:
    """Show an error and roll the request's changes back.

    The app factory commits once per request in `after_request`; `g.rollback` makes it roll back
    instead, also for a response that renders a page (status 200) after a refused operation.
    """
    flash(message, "danger")
    g.rollback = True


def is_sql_int(value: object) -> bool:
    """Whether `value` is an integer a database key can hold (64-bit signed)."""
    return isinstance(value, int) and SQL_INT_MIN <= value <= SQL_INT_MAX


def get_row(session: Session, model: type[T], ident: Any) -> T | None:
    """`session.get`, but None for an id no database key can hold (from a URL, form or file)."""
    return session.get(model, ident) if is_sql_int(ident) else None


def get_or_404(session: Session, model: type[T], ident: Any, **belongs: Any) -> T:
    """The row of `model` with primary key `ident`, or 404.

    `belongs` are attributes the row must have (e.g. `submission_id=...` for an attachment
    reached through its submission's URL): a row of another parent is 404 too, so its
    existence stays private. An id outside the 64-bit range is 404, not an OverflowError.
    """
    row = get_row(session, model, ident)
    if row is None or any(getattr(row, name) != value for name, value in belongs.items()):
        abort(404)
    return row
