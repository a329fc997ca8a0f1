"""Request helpers shared by every feature's handlers: ids in URLs, numbers in query strings,
rows or 404, refusing an operation."""

from __future__ import annotations

import builtins
import re
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, flash, g
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter, Map

T = TypeVar("T")

# SQLite and PostgreSQL keep integer keys in 64 bits; a larger number in a URL names no row
# (and SQLite's driver raises OverflowError for it, which would be a 500).
SQL_INT_MIN = -(2**63)
SQL_INT_MAX = 2**63 - 1


# Browsers read a backslash as "/" and drop tabs and line breaks inside a URL, so a backslash
# after the first "/", or "/<tab>/evil.example", leads to another site: both are refused.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: object, fallback: str) -> str:
    """Where to go back to (a `next` parameter): a path on this site, else `fallback`.

    Only a relative path starting with one "/" is kept: "//evil.example", "https://evil.example",
    "/\\evil.example", "javascript:..." and anything with a control character or a
    backslash fall back. Every handler that reads `next` goes through here (open redirect,
    issue 12 item 13).
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return fallback
    if _UNSAFE_IN_NEXT.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


class IdConverter(IntegerConverter):
    """`<int:…>` in every route (registered app-wide by `init_app`): a database id.

    Only ASCII digits, and nothing past the 64-bit range: a larger number matches no route, so
    it is a 404 before any view runs, whether or not the view uses `get_or_404` (issue 12 item
    8: 49 routes answered 500 for ids from 2**63).
    """

    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        low = SQL_INT_MIN if min is None else builtins.max(min, SQL_INT_MIN)
        high = SQL_INT_MAX if max is None else builtins.min(max, SQL_INT_MAX)
        super().__init__(map, fixed_digits, low, high, signed)


def init_app(app: Flask) -> None:
    """Replace the `int` URL converter before any feature adds a route."""
    app.url_map.converters["int"] = IdConverter


def whole_number(value: Any, maximum: int = SQL_INT_MAX) -> int | None:
    """A whole number from 0 up to `maximum` written in ASCII digits, else None.

    For numbers in query strings and forms read by hand: `str.isdigit()` accepts "²" and "١",
    which `int()` then refuses or reads, and a number past 64 bits overflows the database driver.
    """
    text = str(value if value is not None else "").strip()
    if not text or len(text) > len(str(maximum)) or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= maximum else None


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
