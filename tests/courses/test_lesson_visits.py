"""A lesson page (a GET) takes the write lock only when the resume point moves, and never fails
because of it (load-bench defect: 200 learners on SQLite, "database is locked" → 500).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from courses import operations as ops
from courses.models import Enrollment
from expertpool.core.audit import AuditLog
from expertpool.db import db
from tests.conftest import running_app


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    """A database file (the courses tests' in-memory one cannot be locked from outside)."""
    with running_app(tmp_path, UPLOAD_FOLDER=str(tmp_path / "uploads")) as app:
        yield app


@contextmanager
def writes() -> Iterator[list[str]]:
    """The INSERT/UPDATE/DELETE statements sent meanwhile."""
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


@contextmanager
def write_lock_held_elsewhere(app: Flask) -> Iterator[None]:
    """Another process's long write transaction: SQLite's write lock, held until the block ends."""
    path = db.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@pytest.fixture
def reading(trainee: Any, make_course: Any, login: Any) -> tuple[Any, list[Any]]:
    course = make_course(lessons=3)
    ops.enrol(db.session, trainee, course)
    db.session.commit()
    login(trainee)
    return course, course.lessons


def _last_lesson(course: Any) -> int | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Enrollment.last_lesson_id).where(Enrollment.course_id == course.id)
    )


def test_a_lesson_page_writes_only_when_the_learner_moves(client, reading):
    course, (first, second, _third) = reading
    url = f"/courses/{course.slug}/lessons/{{}}"
    audit_before = db.session.scalar(select(func.count()).select_from(AuditLog))
    with writes() as moved:
        assert client.get(url.format(first.id)).status_code == 200
    assert len(moved) == 1 and moved[0].lstrip().upper().startswith("UPDATE COURSE_ENROLLMENT")
    assert _last_lesson(course) == first.id
    with writes() as again:
        assert client.get(url.format(first.id)).status_code == 200
    assert again == []  # the same lesson again: no write, no lock
    with writes() as next_one:
        assert client.get(url.format(second.id)).status_code == 200
    assert len(next_one) == 1 and _last_lesson(course) == second.id
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == audit_before


def test_a_locked_database_costs_the_resume_point_not_the_page(app, client, reading, caplog):
    course, (first, second, _third) = reading
    client.get(f"/courses/{course.slug}/lessons/{first.id}")
    assert _last_lesson(course) == first.id
    with caplog.at_level(logging.WARNING, "courses"), write_lock_held_elsewhere(app):
        response = client.get(f"/courses/{course.slug}/lessons/{second.id}")
    assert response.status_code == 200
    assert second.title in response.get_data(as_text=True)
    assert "not recorded" in caplog.text and "locked" in caplog.text
    assert _last_lesson(course) == first.id  # not recorded; nothing else broken
    client.get(f"/courses/{course.slug}/lessons/{second.id}")  # the lock is gone: recorded
    assert _last_lesson(course) == second.id
