"""Every change to an expert's record lands in the audit log with who, when, old and new."""

from __future__ import annotations

from sqlalchemy import select

from expertpool.core import audit
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import operations as ops


def _entries(expert_id):
    return db.session.scalars(
        select(AuditLog).where(AuditLog.of_subject("expert", expert_id)).order_by(AuditLog.id)
    ).all()


def test_creation_and_update_are_logged_with_old_and_new(app, admin, make_expert):
    expert = make_expert(title="高级工程师")
    audit.set_actor(db.session, admin)
    ops.update_ordinary(db.session, admin, expert, {"title": "正高级工程师"}, expert.version)
    db.session.commit()
    entries = _entries(expert.id)
    assert entries[0].action == "create" and entries[0].entity_type == "Expert"
    update = [e for e in entries if e.action == "update" and "title" in e.changes][-1]
    assert update.changes["title"] == ["高级工程师", "正高级工程师"]
    assert update.actor_name == "admin" and update.actor_id == admin.id


def test_status_change_logged_with_reason(app, admin, make_expert):
    expert = make_expert()
    audit.set_actor(db.session, admin)
    ops.change_status(db.session, admin, expert, "suspend", reason="违规")
    db.session.commit()
    entry = [e for e in _entries(expert.id) if "status" in e.changes][-1]
    assert entry.changes["status"] == ["active", "suspended"]
    assert entry.note == "违规"


def test_child_rows_are_logged_under_the_expert(app, admin, make_expert):
    expert = make_expert()
    audit.set_actor(db.session, admin)
    part = ops.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "土壤中镉的同位素稀释质谱测定", "year": 2024, "language": "zh"},
    )
    db.session.commit()
    ops.remove_part(db.session, admin, expert, "publication", part.id)
    db.session.commit()
    actions = [(e.entity_type, e.action) for e in _entries(expert.id)]
    assert ("Publication", "create") in actions and ("Publication", "delete") in actions


def test_rolled_back_changes_leave_no_entries(app, admin, make_expert):
    expert = make_expert()
    before = len(_entries(expert.id))
    expert.department = "临时"
    db.session.flush()
    db.session.rollback()
    assert len(_entries(expert.id)) == before
