"""Errors are pages, not crashes: every failed request rolls back and renders a clear page.

A save can fail where no controller catches it: two people saved one versioned record at the same
instant (`StaleDataError` from the flush or the commit), or a row broke a unique rule that a check
before it could not see because another request inserted the same value meanwhile
(`IntegrityError`). Both answer 409 with a reload link, after the transaction is rolled back, so
nothing is half-saved. Every error page rolls the session back *before* rendering: the page's
navigation bar reads the current user and the inbox count, and a session whose flush failed
refuses every query until then (`PendingRollbackError`). If the page still cannot be rendered
(the database is gone), a plain page that reads nothing is shown instead.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import InternalServerError

from ..db import db

log = logging.getLogger(__name__)

HTTP_ERRORS = (400, 403, 404, 409, 413, 429, 500)
# A database too busy to take the write, rather than broken: SQLite's lock wait ran out, or
# PostgreSQL's lock_not_available, deadlock_detected, serialization_failure.
BUSY_SQLITE = ("database is locked", "database table is locked")
BUSY_SQLSTATES = {"55P03", "40P01", "40001"}
RETRY_AFTER_S = 5


def init_app(app: Flask) -> None:
    """Register the error pages (the app factory's core `init_app` calls this)."""
    for code in HTTP_ERRORS:
        app.register_error_handler(code, error_page)
    app.register_error_handler(StaleDataError, _stale_data)
    app.register_error_handler(IntegrityError, _integrity)
    app.register_error_handler(OperationalError, _operational)


def rollback() -> None:
    """Roll the request's session back; a rollback that fails itself is logged, never raised."""
    g.rollback = True
    try:
        db.session.rollback()
    except SQLAlchemyError:
        log.exception("rollback failed on %r", request.path)


def stale_message() -> str:
    return _(
        "Someone else changed this record while you were editing it. Nothing of your change "
        "was saved. Reload the page to see their changes, then edit again."
    )


def duplicate_message() -> str:
    return _(
        "The change conflicts with data saved meanwhile (a name or number that must be unique "
        "is already used) and was not saved. Reload the page and try again."
    )


def conflict(message: str) -> Response:
    """409 after a rollback: the message, and a link back to the page the form was on."""
    rollback()
    return _render(409, message, reload_url())


def reload_url() -> str | None:
    """Where "reload" leads: the page that sent the form (same site only), or this page for a GET."""
    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc in ("", request.host) and parts.path.startswith("/"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return None


def error_page(error: Any) -> Response:
    """The page of an HTTP error (`abort(404)`, an unhandled exception as 500)."""
    code = getattr(error, "code", None) or 500
    rollback()
    return _render(code, getattr(error, "description", "") or "")


def _stale_data(error: StaleDataError) -> Response:
    log.info("concurrent edit refused on %r: %s", request.path, error)
    return conflict(stale_message())


def _integrity(error: IntegrityError) -> Response:
    log.warning("integrity error on %r: %r", request.path, error.orig)
    return conflict(duplicate_message())


def busy_message() -> str:
    return _(
        "The system is busy and could not save this just now. Nothing was saved. Try again in a moment."
    )


def is_busy(error: OperationalError) -> bool:
    """Whether the database refused for being busy (worth a retry), not for being broken."""
    if getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    return any(text in str(error.orig) for text in BUSY_SQLITE)


def _operational(error: OperationalError) -> Response:
    if not is_busy(error):  # a real failure: what Flask does with any unhandled exception
        propagate = current_app.config.get("PROPAGATE_EXCEPTIONS")
        if propagate or (propagate is None and (current_app.testing or current_app.debug)):
            raise error
        current_app.log_exception((type(error), error, error.__traceback__))
        return error_page(InternalServerError(original_exception=error))
    log.warning("database busy on %r: %s", request.path, error.orig)
    rollback()
    response = _render(503, busy_message(), reload_url())
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _render(code: int, message: str, reload: str | None = None) -> Response:
    try:
        body = render_template("error.html", code=code, message=message, reload_url=reload)
    except Exception:  # the page's own queries failed: show one that reads nothing
        log.exception("the error page failed on %r; showing the plain one", request.path)
        rollback()
        body = render_template("error_plain.html", code=code, message=message, reload_url=reload)
    return Response(body, status=code)
