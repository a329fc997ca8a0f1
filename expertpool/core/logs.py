"""Structured logs: one JSON line per request, a request id on every line and in the response.

`init_app(app)` (called by the app factory) gives each request an id, returned in the
`X-Request-ID` header; a client's own `X-Request-ID` is kept only when TRUST_REQUEST_ID is on
(the proxy in front sets it, see deploy/nginx). When the response is ready, the logger
`expertpool.request` writes one record: time, request id, method, path, status, duration in ms,
user id and remote address. Personal data never reaches the log: the query string is left out
(it may hold a searched ID number or phone number), and long digit runs in a path are masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import inspect as sa_inspect

REQUEST_LOGGER = "expertpool.request"
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Resident ID numbers (15 or 18 characters), phone numbers, bank cards: any run of 7+ digits
# (record ids stay far below that), with an ID number's final X.
_LONG_NUMBER = re.compile(r"\d{7,}[Xx]?")
MASK = "[redacted]"
# Attributes every LogRecord has; anything else on a record is an `extra` field to print.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def init_app(app: Flask) -> None:
    """Request ids and the per-request log line; the handlers too, outside tests."""
    if not app.testing:
        configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))
    app.before_request(_start)
    app.after_request(_finish)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """One stderr handler on the root logger (once per process; later calls set the level)."""
    root = logging.getLogger()
    root.setLevel(str(level).upper())
    if any(getattr(h, "expertpool", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.expertpool = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    if fmt == "text":
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request's id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time, level, logger, message, then its extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def request_id() -> str | None:
    """The current request's id, or None outside a request."""
    return g.get("request_id") if has_request_context() else None


def new_request_id(header: str | None, trust: bool) -> str:
    """The client's id when trusted and well formed, else a new random one."""
    if trust and header and _VALID_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def safe_path(path: str) -> str:
    """`path` with anything that could be an ID number or a phone number masked."""
    return _LONG_NUMBER.sub(MASK, path)


def _start() -> None:
    g.request_started = time.perf_counter()
    trust = bool(current_app.config.get("TRUST_REQUEST_ID"))
    g.request_id = new_request_id(request.headers.get(HEADER), trust)


def _finish(response: Response) -> Response:
    rid = g.get("request_id") or new_request_id(None, False)
    response.headers[HEADER] = rid
    started = g.get("request_started")
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    logging.getLogger(REQUEST_LOGGER).info(
        "%s %s %s",
        request.method,
        safe_path(request.path),
        response.status_code,
        extra={
            "request_id": rid,
            "method": request.method,
            "path": safe_path(request.path),
            "status": response.status_code,
            "duration_ms": round(duration, 1) if duration is not None else None,
            "user_id": _user_id(),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _user_id() -> int | None:
    """The signed-in user's id, if the request loaded one (never loads it just for the log).

    Read from the row's identity: the request has committed by now, so the user's attributes
    are expired, and reading `id` or `is_authenticated` would load the user and its roles
    again (two statements on every request, for one log field)."""
    user = g.get("_login_user")  # where flask-login keeps the request's user once loaded
    if user is None or getattr(user, "is_anonymous", True):
        return None
    state = sa_inspect(user, raiseerr=False)
    if state is not None and state.identity:
        return state.identity[0]
    return getattr(user, "id", None)
