"""The change history reads as sentences in the reader's language; the audit log filters."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from expertpool.core import audit
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import audit_queries, history
from expertpool.experts import operations as ops
from expertpool.experts.operations import ReviewFields

AT = dt.datetime(2026, 12, 4, 9, 30)
_ids = iter(range(1000, 100000))


def row(entity_type, action, changes, *, actor_id=1, actor_name="zhang", expert_id=7, **kw):
    return SimpleNamespace(
        id=kw.pop("id", next(_ids)),
        at=kw.pop("at", AT),
        actor_id=actor_id,
        actor_name=actor_name,
        entity_type=entity_type,
        entity_id=kw.pop("entity_id", 3),
        subject_type="expert" if expert_id is not None else None,
        subject_id=expert_id,
        action=action,
        changes=changes,
        note=kw.pop("note", None),
    )


ADMIN_ZHANG = history.Actor(name="张三", roles=frozenset({"admin"}))


def ctx(**kw):
    return history.Context(actors={1: ADMIN_ZHANG}, **kw)


def sentences(rows, context=None, locale="zh_CN"):
    with force_locale(locale):
        return [s for e in history.render(rows, context or ctx()) for s in e.sentences]


def test_category_change_reads_from_old_to_new_in_chinese_and_english(app):
    log = {7: [(1, "create", 8)]}
    rows = [row("ExpertCategory", "create", {"id": [None, 5], "code": [None, 10]}, id=2)]
    zh = sentences(rows, ctx(category_log=log))
    assert zh == ["管理员 张三 将审评类别（GBW）由 08 环境化学 改为 08、10"]
    en = sentences(rows, ctx(category_log=log), "en")
    assert en == [
        "Administrator 张三 changed GBW categories from 08 Environmental chemistry to 08, 10"
    ]


def test_field_values_are_rendered_as_people_read_them(app):
    rows = [
        row(
            "Expert",
            "update",
            {
                "title_grade": ["副高级", "正高级"],
                "metrology_competent": [False, True],
                "status": ["active", "suspended"],
                "term_end": [None, "2031-05-01"],
                "institution_id": [4, 9],
            },
        )
    ]
    context = ctx(institutions={4: "中国计量科学研究院", 9: "国家地质实验测试中心"})
    zh = sentences(rows, context)
    assert "管理员 张三 将职称等级由 副高级 改为 正高级" in zh
    assert "管理员 张三 将具备计量/统计专业能力由 否 改为 是" in zh
    assert "管理员 张三 将状态由 在库 改为 已暂停" in zh
    assert "管理员 张三 将聘期结束设为 2031-05-01" in zh
    assert "管理员 张三 将单位由 中国计量科学研究院 改为 国家地质实验测试中心" in zh
    en = " ".join(sentences(rows, context, "en"))
    assert "Senior (associate)" in en and "Senior (full)" in en
    assert "from No to Yes" in en and "Suspended" in en
    assert "副高级" not in en


def test_parts_added_and_removed_read_as_sentences(app):
    rows = [
        row("Publication", "create", {"title": [None, "土壤中镉的测定"], "year": [None, 2024]}),
        row(
            "UnavailablePeriod",
            "delete",
            {"start": ["2026-01-01", None], "end": ["2026-02-01", None]},
        ),
        row("Specialty", "create", {"kind": [None, "analyte"], "name": [None, "铅"]}),
        row("Specialty", "create", {"kind": [None, "analyte"], "name": [None, "镉"]}),
    ]
    zh = sentences(rows)
    assert "管理员 张三 添加了论文《土壤中镉的测定》" in zh
    assert "管理员 张三 删除了不可用时段 2026-01-01 至 2026-02-01" in zh
    assert "管理员 张三 添加了分析物：铅、镉" in zh


def test_no_actor_reads_as_system_or_import(app):
    assert sentences(
        [row("Publication", "create", {"title": [None, "X"]}, actor_id=None, actor_name="system")]
    )[0].startswith("系统 ")
    imported = row(
        "Publication",
        "create",
        {"title": [None, "X"]},
        actor_id=None,
        actor_name="system",
        note="import experts.xlsx",
    )
    assert sentences([imported])[0].startswith("导入 ")


def test_personal_data_is_masked_unless_visible(app):
    rows = [row("Expert", "update", {"phone": ["13800001234", "13912345678"]})]
    hidden = history.render(rows, ctx())
    text = " ".join(hidden[0].sentences) + str(hidden[0].raw[0][1])
    assert "13912345678" not in text and "13800001234" not in text
    shown = history.render(rows, ctx(personal_visible=lambda expert_id: True))
    assert "13912345678" in shown[0].sentences[0]


def test_real_changes_render_on_the_expert_page(client, auth, admin, make_expert):
    expert = make_expert(categories=[8])
    audit.set_actor(db.session, admin)
    fields = ReviewFields.of(expert)
    fields.categories = [8, 10]
    ops.apply_review_fields(expert, fields)
    db.session.commit()
    auth.login()
    page = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "将审评类别（GBW）由 08 环境化学 改为 08、10" in page
    assert "<details" in page  # the raw diff is still there for auditors


# --- the audit log's filters ----------------------------------------------------------------


@pytest.fixture
def logged(app, admin, make_user, make_expert):
    other = make_user(username="li", name="李四")
    expert = make_expert(name="王五")
    db.session.query(AuditLog).delete()

    def add(actor, entity_type, entity_id, action, at, expert_id=None, note=None):
        db.session.add(
            AuditLog(
                actor_id=actor.id if actor else None,
                actor_name=actor.username if actor else "system",
                entity_type=entity_type,
                entity_id=entity_id,
                subject_type="expert" if expert_id is not None else None,
                subject_id=expert_id,
                action=action,
                changes={"name": ["a", "b"]},
                note=note,
                at=at,
            )
        )

    add(admin, "Expert", expert.id, "update", dt.datetime(2026, 1, 5, 10), expert.id)
    add(other, "Publication", 40, "create", dt.datetime(2026, 2, 5, 10), expert.id)
    add(other, "Submission", 9, "delete", dt.datetime(2026, 3, 5, 10))
    add(None, "Expert", 77, "create", dt.datetime(2026, 3, 6, 10), 77, note="import a.xlsx")
    db.session.commit()
    return SimpleNamespace(admin=admin, other=other, expert=expert)


def _found(**args):
    flt = audit_queries.AuditFilter.from_args(args)
    return [(r.entity_type, r.entity_id) for r in db.session.scalars(flt.statement())]


def test_filter_by_person(logged):
    assert _found(actor="李四") == [("Submission", 9), ("Publication", 40)]
    assert _found(actor="admin") == [("Expert", logged.expert.id)]


def test_filter_by_object(logged):
    assert _found(entity_type="Submission") == [("Submission", 9)]
    assert _found(entity_type="Publication", entity_id="40") == [("Publication", 40)]
    assert _found(expert=str(logged.expert.id)) == [
        ("Publication", 40),
        ("Expert", logged.expert.id),
    ]
    assert _found(expert="王五") == _found(expert=str(logged.expert.id))


def test_filter_by_action_and_operation(logged):
    assert _found(action="delete") == [("Submission", 9)]
    assert _found(action="import") == [("Expert", 77)]


def test_filter_by_date_range(logged):
    assert _found(date_from="2026-02-01", date_to="2026-03-05") == [
        ("Submission", 9),
        ("Publication", 40),
    ]
    assert _found(date_to="2026-01-05") == [("Expert", logged.expert.id)]
    assert len(_found(date_from="not a date")) == 4


def test_audit_page_filters_and_keeps_them_in_pagination(client, auth, logged):
    auth.login()
    page = client.get("/experts/audit?actor=李四&action=create").get_data(as_text=True)
    assert "(1)" in page and 'name="actor"' in page and "<label" in page
    for _ in range(60):
        db.session.add(
            AuditLog(
                actor_id=logged.other.id,
                actor_name="li",
                entity_type="Submission",
                entity_id=1,
                action="update",
                changes={},
                at=dt.datetime(2026, 4, 1),
            )
        )
    db.session.commit()
    page = client.get("/experts/audit?actor=li&entity_type=Submission").get_data(as_text=True)
    assert "entity_type=Submission" in page and "actor=li" in page and "page=2" in page


def test_backups_and_restores_read_as_sentences(app):
    def event(action, archive):
        changes = {"archive": [None, archive]}
        return row("Backup", action, changes, actor_id=None, actor_name="system", expert_id=None)

    made = event("create", "/srv/backups/expertpool-20261204T093000Z.tar.gz")
    restored = event("restore", "/srv/backups/old.tar.gz")
    assert sentences([made], locale="en") == [
        "System made the backup expertpool-20261204T093000Z.tar.gz"
    ]
    assert sentences([restored]) == ["系统 恢复了备份 old.tar.gz"]
