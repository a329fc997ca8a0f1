"""Liveness and readiness: what a load balancer or systemd asks before sending people here.

Liveness (`/healthz`) says only that the process answers: it touches no database, so a slow
database never gets healthy processes restarted. Readiness (`/readyz`) runs every check and is
ready only when all pass: the database answers, the job queue is reachable, the embedding model
is loaded or loadable, and every registered search index is open. A feature adds its own check
with `register_check(app, name, fn)` (`fn()` returns a short detail, or raises when not ready);
the checks run in an app context.

The JSON answer names each check, its status and time; a failure shows only the exception's
class (the answer is public), and the full error goes to the log with the request id.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import text

from ..db import db
from .features import registry

log = logging.getLogger(__name__)

Check = Callable[[], Any]  # returns a detail (or None); raises when not ready


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", "detail": self.detail, "ms": self.ms}


def register_check(app: Flask, name: str, check: Check) -> None:
    """Add (or replace) readiness check `name`; checks run in registration order."""
    registry(app, "readiness_checks")[name] = check


def checks(app: Flask) -> dict[str, Check]:
    """The core's checks, then those features registered (a feature may replace one)."""
    found: dict[str, Check] = {"database": check_database}
    found["model"] = check_model
    found["search"] = check_search_indexes
    found.update(registry(app, "readiness_checks"))
    return found


def liveness() -> dict[str, Any]:
    return {"status": "ok"}


def readiness(app: Flask | None = None) -> tuple[bool, dict[str, Any]]:
    """(ready, JSON body): every check's result; ready only if all passed."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    results = [run_check(name, check) for name, check in checks(app).items()]
    ready = all(r.ok for r in results)
    body = {"status": "ok" if ready else "fail", "checks": {r.name: r.as_json() for r in results}}
    return ready, body


def run_check(name: str, check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = str(check() or "ok"), True
    except Exception as exc:
        log.warning("readiness check %r failed", name, exc_info=True)
        detail, ok = type(exc).__name__, False
    finally:
        # a check leaves no transaction open; a dead connection may refuse even the rollback
        with contextlib.suppress(Exception):
            db.session.rollback()
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


# -- the core's checks -----------------------------------------------------------------------


def check_database() -> str:
    db.session.execute(text("SELECT 1")).scalar_one()
    return db.engine.dialect.name


def check_model() -> str:
    """Loaded in this process, or a folder that loads (not loaded here: that takes seconds)."""
    from .embeddings.encoder import HASHING, resolve_model_path
    from .embeddings.store import loaded_store

    store = loaded_store(current_app)
    if store is not None:
        return f"loaded {store.model_id}"
    setting = current_app.config["EMBEDDING_MODEL"]
    if str(setting).startswith(HASHING):
        return f"loadable {setting}"
    path = resolve_model_path(setting, Path(current_app.instance_path))
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a sentence-transformers model folder")
    return f"loadable {path.name}"


def check_search_indexes() -> str:
    """Every registered keyword index exists and opens (a missing one: `flask search reindex`)."""
    from .search.app import get_index, registered_indexes

    counts = []
    for name in registered_indexes():
        index = get_index(name)
        if index.current_generation() is None:
            raise FileNotFoundError(f"search index {name!r} missing: run `flask search reindex`")
        counts.append(f"{name}={index.doc_count()}")
    return " ".join(counts) or "none registered"
