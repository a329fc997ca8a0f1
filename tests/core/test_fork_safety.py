"""Fork safety (core/forking.py): a child forked from a loaded app, as gunicorn forks its workers
after `preload_app`, gets its own database connections and a working encoder.

Each test forks this process; the child runs one function and sends back its result as JSON
through a pipe, then `os._exit`s (never returning into pytest). A child that hangs (a lock held
across the fork, torch's thread pool) is killed after CHILD_TIMEOUT and the test fails.
"""

from __future__ import annotations

import json
import os
import select
import signal
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import create_engine, func, text
from sqlalchemy import select as sql_select

from expertpool import create_app
from expertpool.accounts.models import User
from expertpool.core import forking
from expertpool.core.embeddings.encoder import SentenceTransformerEncoder
from expertpool.db import db
from tests import pg

pg_server, pg_database_url = pg.pg_server, pg.pg_database_url  # fixtures

CHILD_TIMEOUT = 120.0  # seconds; a healthy child answers in well under one


def in_child(fn: Callable[[], Any]) -> Any:
    """fn() run in a forked child; its JSON result, or pytest.fail with the child's error."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return from here
        code = 1
        try:
            os.close(read_fd)
            payload = json.dumps({"result": fn()})
            code = 0
        except BaseException as exc:
            payload = json.dumps({"error": repr(exc)})
        finally:
            try:
                os.write(write_fd, payload.encode())
            finally:
                os._exit(code)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], CHILD_TIMEOUT)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the forked child did not answer within {CHILD_TIMEOUT:.0f} s")
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks) or b"{}")
    if "error" in answer or os.waitstatus_to_exitcode(status) != 0:
        pytest.fail(f"the forked child failed: {answer.get('error')} (status {status})")
    return answer["result"]


def _pooled_connection(engine: Any) -> Any:
    """The DB-API connection the pool hands out next (given back to the pool at once)."""
    proxy = engine.raw_connection()
    try:
        return proxy.dbapi_connection
    finally:
        proxy.close()


def test_a_forked_child_gets_a_fresh_connection_pool(app: Flask, make_user: Any) -> None:
    make_user(username="before-fork")  # the parent has used (and pooled) a connection
    engine = db.engine
    parent_pool = engine.pool
    parent_connection = _pooled_connection(engine)
    assert parent_pool.checkedin() == 1

    def child() -> dict[str, Any]:
        connection = _pooled_connection(engine)
        users = db.session.scalar(sql_select(func.count()).select_from(User))
        db.session.rollback()
        return {
            "fresh_pool": engine.pool is not parent_pool,
            "own_connection": connection is not parent_connection,
            "users": users,
        }

    assert in_child(child) == {"fresh_pool": True, "own_connection": True, "users": 1}
    # close=False: the child left the parent's connection open, and the parent keeps using it
    assert engine.pool is parent_pool
    assert _pooled_connection(engine) is parent_connection
    assert db.session.scalar(sql_select(func.count()).select_from(User)) == 1


def test_before_fork_closes_the_parents_connections(app: Flask, make_user: Any) -> None:
    make_user()
    assert db.engine.pool.checkedin() == 1
    forking.before_fork()
    assert db.engine.pool.checkedin() == 0
    assert db.session.scalar(sql_select(func.count()).select_from(User)) == 1  # reconnects


@pytest.mark.postgres
def test_on_postgresql_parent_and_child_use_separate_server_sessions(
    pg_database_url: str, tmp_path: Any
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": pg_database_url,
            "SECRET_KEY": "test",
            "EMBEDDING_MODEL": "hashing",
        },
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        backend = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.commit()

        def child() -> int:
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            db.session.commit()
            return pid

        child_backend = in_child(child)
        assert child_backend != backend
        # the parent's server session survived the child (a shared socket closed by the child
        # would have ended it, or mixed the two processes' messages)
        assert db.session.scalar(text("SELECT pg_backend_pid()")) == backend
        db.session.remove()
        db.engine.dispose()


def test_the_hook_runs_for_every_tracked_engine(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    forking._engines.add(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    pool = engine.pool

    def child() -> bool:
        return engine.pool is not pool

    assert in_child(child) is True
    engine.dispose()


def test_torch_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_THREADS", "3")
    assert forking.torch_threads() == 3
    for unset in ("", "0", "many"):
        monkeypatch.setenv("TORCH_THREADS", unset)
        assert forking.torch_threads() is None


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_the_encoder_works_in_a_forked_child(
    e5_encoder: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    texts = ["土壤中铅、镉的测定", "reference material homogeneity", "乳粉中三聚氰胺"]
    before = torch.get_num_threads()
    parent = e5_encoder.encode_document(texts)  # the parent's thread pool has run work
    query = e5_encoder.encode_query(texts[0])
    monkeypatch.setenv("TORCH_THREADS", "1")  # what gunicorn.conf.py sets for many workers

    def child() -> dict[str, Any]:
        return {
            "threads": torch.get_num_threads(),
            "documents": e5_encoder.encode_document(texts).tolist(),
            "query": e5_encoder.encode_query(texts[0]).tolist(),
        }

    result = in_child(child)
    assert result["threads"] == 1
    np.testing.assert_allclose(np.array(result["documents"]), parent, atol=1e-5)
    np.testing.assert_allclose(np.array(result["query"]), query, atol=1e-5)
    assert torch.get_num_threads() == before  # the parent's own setting is untouched
    np.testing.assert_allclose(e5_encoder.encode_document(texts), parent, atol=1e-5)
