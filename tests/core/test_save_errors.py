"""Errors while saving are pages, not crashes (issue 12, item 2).

A save that fails inside a request (a concurrent edit, a flush error) rolls the whole request back
and renders our error page, whose navigation bar (current user, inbox count) reads the database
again: before, the page itself crashed on the failed session (`PendingRollbackError`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts.models import Expert


@contextmanager
def on_first_flush_of(model: type, action: Any) -> Iterator[list[int]]:
    """Run `action(session)` inside the request's first flush that changes a `model` row."""
    calls: list[int] = []

    def before_flush(session: Session, *_: Any) -> None:
        if not calls and any(isinstance(obj, model) for obj in session.dirty):
            calls.append(1)
            action(session)

    event.listen(db.session, "before_flush", before_flush)
    try:
        yield calls
    finally:
        event.remove(db.session, "before_flush", before_flush)


def _save_profile(client: Any, expert: Expert, department: str) -> Any:
    return client.post(
        f"/experts/{expert.id}/profile",
        data={
            "name": expert.name,
            "email": expert.email,
            "department": department,
            "version": expert.version,
        },
        headers={"Referer": f"http://localhost/experts/{expert.id}/edit"},
    )


def _audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog))


def test_a_save_that_loses_a_race_is_a_409_page_with_a_reload_link(client, auth, make_expert):
    """Another administrator's save lands between our read and our write: one 409, theirs kept."""
    expert = make_expert(department="原部门")
    auth.login()
    audit_before = _audit_rows()

    def the_other_admin_saves(_session: Session) -> None:
        with Session(db.engine) as other:
            other.get(Expert, expert.id).department = "别人的修改"
            other.commit()

    with on_first_flush_of(Expert, the_other_admin_saves) as raced:
        response = _save_profile(client, expert, "我的修改")
    assert raced, "the race was not staged"
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "重新" in page or "Reload" in page
    assert f'href="/experts/{expert.id}/edit" data-reload' in page
    assert 'data-menu="account"' in page  # our page, with the signed-in administrator's menus
    db.session.expire_all()
    stored = db.session.get(Expert, expert.id)
    assert stored.department == "别人的修改"
    assert _audit_rows() == audit_before + 1  # the other admin's change only


def test_a_failed_flush_renders_our_500_page_and_changes_nothing(app, client, auth, make_expert):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not a traceback
    expert = make_expert(department="原部门")
    auth.login()
    audit_before = _audit_rows()

    def disk_fails(session: Session, *_: Any) -> None:
        raise OperationalError("UPDATE expert", {}, Exception("disk I/O error"))

    event.listen(db.session, "after_flush", disk_fails)
    try:
        response = _save_profile(client, expert, "不会保存")
    finally:
        event.remove(db.session, "after_flush", disk_fails)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出现错误，未作任何修改。" in page
    assert 'data-menu="account"' in page  # base.html rendered: user and inbox read after rollback
    assert "data-plain-error" not in page
    db.session.expire_all()
    assert db.session.get(Expert, expert.id).department == "原部门"
    assert _audit_rows() == audit_before


def test_the_plain_page_is_shown_when_the_full_one_cannot_render(
    app, client, auth, make_expert, monkeypatch
):
    """Even a page whose own queries fail (the database went away) is ours, not a bare 500."""
    from expertpool.reviews import notices

    app.config["PROPAGATE_EXCEPTIONS"] = False
    expert = make_expert()
    auth.login()

    def broken(*_: Any, **__: Any) -> int:
        raise RuntimeError("the navigation bar failed")

    monkeypatch.setattr(notices, "unread_count", broken)
    response = client.get(f"/experts/{expert.id + 1000}")
    assert response.status_code == 404
    assert "data-plain-error" in response.get_data(as_text=True)


def test_a_database_too_busy_to_write_is_a_503_page_and_saves_nothing(
    client, auth, make_expert, monkeypatch
):
    """A write that waited its full turn for SQLite's lock (another process's long write) was a
    500 "database is locked"; now a 503 page that says to try again, with Retry-After."""
    import importlib
    import sqlite3

    db_module = importlib.import_module("expertpool.db")  # the module, not the `db` it exports

    expert = make_expert(department="原部门")
    auth.login()
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 200)  # new connections wait 0.2 s
    expert_id = expert.id
    db.session.remove()
    db.engine.dispose()
    expert = db.session.get(Expert, expert_id)
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the other writer holds the lock throughout
        response = _save_profile(client, expert, "不会保存")
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "系统繁忙" in page and 'data-menu="account"' in page
    db.session.expire_all()
    assert db.session.get(Expert, expert.id).department == "原部门"


# Calls that roll the request back (core.requests.fail, core.errorpages.conflict, and the
# features' wrappers of them) or end it with an error status (abort, a re-raise).
ROLLS_BACK = {"fail", "conflict", "_refuse", "_stale", "_invalid", "form_errors", "abort"}


def _refusal_handlers() -> list[tuple[str, int, bool]]:
    """(file, line, rolls back?) for every `except ...Error` in the controllers."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [*root.glob("expertpool/*/controllers.py"), *root.glob("courses/controllers/*.py")]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            names = {
                n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")
                for n in ast.walk(node.type)
            }
            if not any(name.endswith("Error") or name == "StaleEdit" for name in names):
                continue
            inner = list(ast.walk(ast.Module(body=node.body, type_ignores=[])))
            called = {
                c.func.attr if isinstance(c.func, ast.Attribute) else getattr(c.func, "id", "")
                for c in inner
                if isinstance(c, ast.Call)
            }
            sets_rollback = any(
                isinstance(t, ast.Attribute) and t.attr == "rollback"
                for a in inner
                if isinstance(a, ast.Assign)
                for t in a.targets
            )
            raises = any(isinstance(n, ast.Raise) for n in inner)
            found.append(
                (
                    str(path.relative_to(root)),
                    node.lineno,
                    bool(called & ROLLS_BACK) or sets_rollback or raises,
                )
            )
    return found


def test_every_refusal_in_a_controller_rolls_the_request_back():
    """Issue 12, item 9, in general: an operation may have changed rows before it refused, and a
    page rendered with status 200 would be committed; each handler of a refusal must roll back."""
    handlers = _refusal_handlers()
    assert len(handlers) > 30  # the scan finds the controllers' handlers
    assert [h[:2] for h in handlers if not h[2]] == []
