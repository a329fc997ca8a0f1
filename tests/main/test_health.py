"""/healthz (liveness, no database) and /readyz (database, job queue, model, search indexes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from expertpool.core import health
from expertpool.core.embeddings.store import get_store
from expertpool.core.search.app import rebuild_index, registered_indexes
from expertpool.db import db, utcnow


@pytest.fixture
def indexed(app: Flask) -> None:
    """Every registered search index built (empty), as `flask search reindex` leaves them."""
    for name in registered_indexes():
        rebuild_index(name, progress=False)


@pytest.fixture
def broken_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionRefusedError("database host 10.0.0.5 unreachable")

    monkeypatch.setattr(db.session, "execute", refuse)


def _checks(response: Any) -> dict[str, dict[str, Any]]:
    return response.get_json()["checks"]


def test_liveness_touches_no_database(client: Any, broken_database: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_when_every_check_passes(client: Any, indexed: None) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    checks = _checks(response)
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["detail"] == "sqlite"
    assert checks["model"]["detail"] == "loadable hashing"  # not loaded just for the probe
    assert sorted(checks["search"]["detail"].split()) == ["experts=0", "materials=0"]
    assert checks["jobs"]["detail"] == "0 queued, 0 running"
    assert all(c["status"] == "ok" for c in checks.values())


def test_an_unreachable_database_is_not_ready(client: Any, indexed: None, broken_database) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = _checks(response)
    assert checks["database"]["status"] == "fail"
    # a public answer: the exception's class, not its message (host names, paths)
    assert checks["database"]["detail"] == "ConnectionRefusedError"
    assert "10.0.0.5" not in response.get_data(as_text=True)


def test_a_missing_search_index_is_not_ready(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "fail"
    assert _checks(response)["search"] == {
        "status": "fail",
        "detail": "FileNotFoundError",
        "ms": _checks(response)["search"]["ms"],
    }
    assert _checks(response)["database"]["status"] == "ok"


def test_the_model_is_reported_loaded_once_loaded(app: Flask, client: Any, indexed: None) -> None:
    get_store(app)
    assert _checks(client.get("/readyz"))["model"]["detail"] == "loaded hashing-256-v1"


def test_a_model_that_is_not_there_is_not_ready(app: Flask, client: Any, indexed: None) -> None:
    app.config["EMBEDDING_MODEL"] = "no-such-model"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert _checks(response)["model"] == {
        "status": "fail",
        "detail": "ModelNotFound",
        "ms": _checks(response)["model"]["ms"],
    }


def test_the_job_queue_reports_a_queue_nobody_works_on(
    app: Flask, client: Any, indexed: None
) -> None:
    from expertpool.core.jobs.models import Job

    app.config["JOBS_EAGER"] = False
    db.session.add(Job(task="matching.index_experts", run_after=utcnow() - dt.timedelta(minutes=5)))
    db.session.commit()
    detail = _checks(client.get("/readyz"))["jobs"]["detail"]
    assert detail.startswith("1 queued, 0 running, oldest due 30") and detail.endswith(" s ago")


def test_redis_down_makes_the_rq_queue_not_ready(app: Flask, client: Any, indexed: None, tmp_path):
    app.config.update(JOBS_BACKEND="rq", REDIS_URL=f"unix://{tmp_path / 'none.sock'}")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert _checks(response)["jobs"]["status"] == "fail"


def test_a_feature_adds_its_own_check(app: Flask, client: Any, indexed: None) -> None:
    def queue_broker() -> str:
        raise TimeoutError("no answer from redis")

    health.register_check(app, "broker", queue_broker)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert _checks(response)["broker"]["detail"] == "TimeoutError"
    health.register_check(app, "broker", lambda: "redis 7")
    assert client.get("/readyz").status_code == 200
    assert _checks(client.get("/readyz"))["broker"]["detail"] == "redis 7"
