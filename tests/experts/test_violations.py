"""Violations (违规处理): the workflow and its audit trail, decisions through the life cycle,
objections, evidence files, and what the expert (and no other expert) may see."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core import audit
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import operations as ops
from expertpool.experts import violations as vio
from expertpool.experts.models import StatusEvent, Violation
from expertpool.notifications.models import Notification

TODAY = dt.date.today()
SECRET_NOTE = "内部备注：线人身份保密"
PENDING_DESCRIPTION = "尚在调查中的举报内容"


@pytest.fixture
def expert_user(make_user: Any) -> Any:
    return make_user(Role.EXPERT, username="accused")


@pytest.fixture
def accused(make_expert: Any, expert_user: Any) -> Any:
    expert = make_expert()
    expert.user_id = expert_user.id
    db.session.commit()
    return expert


def _case(admin: Any, expert: Any, **kw: Any) -> Violation:
    data = {"kind": "late_reviews", "description": "三次逾期", "reporter": "审评办公室"} | kw
    case = vio.report(db.session, admin, expert, **data)
    db.session.commit()
    return case


def _decided(admin: Any, expert: Any, consequence: str = "warning", **kw: Any) -> Violation:
    case = _case(admin, expert, **kw)
    vio.investigate(db.session, admin, case, SECRET_NOTE)
    vio.decide(db.session, admin, case, decision="书面警告", consequence=consequence)
    db.session.commit()
    return case


def _audit(case: Violation) -> list[AuditLog]:
    stmt = select(AuditLog).where(
        AuditLog.entity_type == "Violation", AuditLog.entity_id == case.id
    )
    return list(db.session.scalars(stmt.order_by(AuditLog.id)))


# --- the workflow -------------------------------------------------------------------------------


def test_each_step_is_audited_under_the_expert(admin, accused):
    audit.set_actor(db.session, admin)  # as the request handling does for the signed-in user
    case = _decided(admin, accused)
    rows = _audit(case)
    assert [r.action for r in rows] == ["create", "update", "update"]
    assert all((r.subject_type, r.subject_id) == ("expert", accused.id) for r in rows)
    assert all(r.actor_id == admin.id for r in rows)
    states = [r.changes.get("state") for r in rows]
    assert states == [
        [None, "reported"],
        ["reported", "investigating"],
        ["investigating", "decided"],
    ]


def test_a_warning_is_a_life_cycle_step_that_keeps_the_status(admin, accused):
    _decided(admin, accused, "warning")
    db.session.refresh(accused)
    last = accused.status_events[-1]
    assert accused.status == "active"
    assert (last.from_status, last.to_status) == ("active", "active")
    assert "书面警告" in last.reason and last.actor_id == admin.id


@pytest.mark.parametrize(
    ("consequence", "action", "status"),
    [("suspension", "suspend", "suspended"), ("removal", "remove", "removed")],
)
def test_suspension_and_removal_go_through_change_status(
    admin, accused, monkeypatch, consequence, action, status
):
    calls = []
    real = ops.change_status
    monkeypatch.setattr(ops, "change_status", lambda *a, **kw: calls.append(a[3]) or real(*a, **kw))
    case = _decided(admin, accused, consequence)
    assert calls == [action]
    assert accused.status == status and f"#{case.id}" in accused.status_reason
    assert accused.status_events[-1].to_status == status


def test_decision_refused_by_the_life_cycle_leaves_the_case_open(admin, accused):
    ops.change_status(db.session, admin, accused, "remove", reason="退库")
    db.session.commit()
    case = _case(admin, accused)
    vio.investigate(db.session, admin, case)
    with pytest.raises(vio.ViolationError):
        vio.decide(db.session, admin, case, decision="暂停", consequence="suspension")
    assert case.state == "investigating" and case.decided_at is None


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ((), "decide"),  # reported: investigate first
        (("investigate", "decide"), "investigate"),
        (("investigate", "decide"), "dismiss"),
        (("dismiss",), "investigate"),
        (("dismiss",), "decide"),
    ],
)
def test_illegal_transitions_are_refused(admin, accused, steps, refused):
    case = _case(admin, accused)
    run = {
        "investigate": lambda: vio.investigate(db.session, admin, case),
        "decide": lambda: vio.decide(
            db.session, admin, case, decision="警告", consequence="warning"
        ),
        "dismiss": lambda: vio.dismiss(db.session, admin, case, "查无实据"),
    }
    for name in steps:
        run[name]()
    before = case.state
    with pytest.raises(vio.ViolationError):
        run[refused]()
    assert case.state == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "gossip"),
        ("description", "  "),
        ("occurred_on", TODAY + dt.timedelta(days=1)),
    ],
)
def test_a_report_needs_a_known_kind_a_description_and_a_past_date(admin, accused, field, value):
    with pytest.raises(vio.ViolationError):
        _case(admin, accused, **{field: value})
    assert db.session.scalar(select(Violation.id)) is None


def test_a_decision_needs_its_text_and_a_consequence(admin, accused):
    case = _case(admin, accused)
    vio.investigate(db.session, admin, case)
    with pytest.raises(vio.ViolationError):
        vio.decide(db.session, admin, case, decision=" ", consequence="warning")
    with pytest.raises(vio.ViolationError):
        vio.decide(db.session, admin, case, decision="警告", consequence="fine")


def test_dismissal_changes_nothing_for_the_expert_and_tells_them_nothing(admin, accused):
    events = len(accused.status_events)
    case = _case(admin, accused)
    vio.investigate(db.session, admin, case)
    vio.dismiss(db.session, admin, case, "查无实据")
    db.session.commit()
    assert accused.status == "active" and len(accused.status_events) == events
    assert db.session.scalars(vio.visible_to_expert(accused.id)).all() == []
    assert db.session.scalar(select(Notification.id)) is None


def test_the_expert_is_notified_of_the_decision_without_the_internal_note(admin, accused):
    _decided(admin, accused)
    note = db.session.scalar(select(Notification).where(Notification.kind == "violation_decided"))
    assert note.user_id == accused.user_id and "书面警告" in note.body
    assert SECRET_NOTE not in note.body and note.link == "/me/violations"


# --- objections ---------------------------------------------------------------------------------


def test_only_the_expert_concerned_may_object(admin, accused, make_user):
    case = _decided(admin, accused)
    other = make_user(Role.EXPERT, username="bystander")
    with pytest.raises(vio.ViolationError):
        vio.object_to(db.session, other, case, "不服", today=TODAY, days=15)
    with pytest.raises(vio.ViolationError):
        vio.object_to(db.session, admin, case, "不服", today=TODAY, days=15)
    assert case.objection_at is None


def test_only_a_decision_may_be_objected_to_and_only_once(admin, accused, expert_user):
    case = _case(admin, accused)
    vio.investigate(db.session, admin, case)
    with pytest.raises(vio.ViolationError):
        vio.object_to(db.session, expert_user, case, "不服", today=TODAY, days=15)
    vio.decide(db.session, admin, case, decision="警告", consequence="warning")
    vio.object_to(db.session, expert_user, case, "不服", today=TODAY, days=15)
    with pytest.raises(vio.ViolationError):
        vio.object_to(db.session, expert_user, case, "再次不服", today=TODAY, days=15)


def test_objections_close_after_the_configured_days(admin, accused, expert_user):
    case = _decided(admin, accused)
    last_day = case.decided_at.date() + dt.timedelta(days=15)
    assert vio.may_object(case, last_day, 15)
    with pytest.raises(vio.ViolationError):
        vio.object_to(
            db.session, expert_user, case, "不服", today=last_day + dt.timedelta(days=1), days=15
        )
    assert case.objection_at is None
    vio.object_to(db.session, expert_user, case, "不服", today=last_day, days=15)
    assert case.objection_reason == "不服"


def test_upholding_an_objection_to_a_suspension_reinstates_through_the_life_cycle(
    admin, accused, expert_user
):
    case = _decided(admin, accused, "suspension")
    vio.object_to(db.session, expert_user, case, "我没有泄露", today=TODAY, days=15)
    vio.answer_objection(db.session, admin, case, answer="经复核，撤销暂停", outcome="upheld")
    db.session.commit()
    assert accused.status == "active"
    assert [e.to_status for e in accused.status_events[-2:]] == ["suspended", "active"]
    note = db.session.scalar(select(Notification).where(Notification.kind == "objection_answered"))
    assert note is not None and "撤销暂停" in note.body
    with pytest.raises(vio.ViolationError):  # answered once
        vio.answer_objection(db.session, admin, case, answer="再答", outcome="rejected")


def test_a_rejected_objection_keeps_the_suspension(admin, accused, expert_user):
    case = _decided(admin, accused, "suspension")
    vio.object_to(db.session, expert_user, case, "不服", today=TODAY, days=15)
    vio.answer_objection(db.session, admin, case, answer="维持原决定", outcome="rejected")
    assert accused.status == "suspended" and case.objection_outcome == "rejected"


# --- evidence files -----------------------------------------------------------------------------


def test_evidence_file_is_stored_and_served_to_administrators_only(
    app, client, auth, admin, accused
):
    auth.login()
    response = client.post(
        f"/experts/{accused.id}/violations/new",
        data={
            "kind": "leaked_content",
            "description": "透露评审意见",
            "evidence_file": (io.BytesIO(b"%PDF-1.4 evidence"), "proof.pdf"),
        },
        content_type="multipart/form-data",
    )
    case = db.session.scalar(select(Violation))
    assert response.status_code == 302 and case.evidence_path.startswith(
        f"violations/{accused.id}/"
    )
    assert case.evidence_filename == "proof.pdf" and case.evidence_size == 17
    assert [r.action for r in _audit(case)] == ["create"]  # the report is one step
    download = client.get(f"/experts/violations/{case.id}/evidence")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 evidence"
    assert download.mimetype == "application/pdf"
    download.close()  # send_file streams from an open file
    auth.logout()
    auth.login("accused")
    assert client.get(f"/experts/violations/{case.id}/evidence").status_code == 403


@pytest.mark.parametrize(
    ("name", "data"),
    [("page.html", b"<script>"), ("fake.pdf", b"not a pdf"), ("big.txt", b"x" * 2048)],
)
def test_evidence_of_a_refused_type_or_size_is_not_kept(app, admin, accused, name, data):
    with pytest.raises(vio.ViolationError):
        vio.report(
            db.session,
            admin,
            accused,
            kind="other",
            description="材料",
            evidence_file=vio.Evidence(name, data),
            upload_folder=app.config["UPLOAD_FOLDER"],
            max_bytes=1024,
        )


# --- pages --------------------------------------------------------------------------------------


def _three_cases(admin: Any, expert: Any) -> dict[str, Violation]:
    reported = _case(admin, expert, description="刚收到的举报")
    pending = _case(admin, expert, description=PENDING_DESCRIPTION)
    vio.investigate(db.session, admin, pending, SECRET_NOTE)
    db.session.commit()
    decided = _decided(admin, expert, description="已决定的违规")
    return {"reported": reported, "pending": pending, "decided": decided}


def test_the_expert_sees_decided_cases_only_and_never_the_internal_note(
    client, auth, admin, accused
):
    _three_cases(admin, accused)
    auth.login("accused")
    html = client.get("/me/violations").get_data(as_text=True)
    assert "已决定的违规" in html and "书面警告" in html
    assert PENDING_DESCRIPTION not in html and "刚收到的举报" not in html
    assert SECRET_NOTE not in html


def test_the_experts_own_file_and_history_do_not_leak_open_cases(client, auth, admin, accused):
    _three_cases(admin, accused)
    auth.login("accused")
    html = client.get("/me/file").get_data(as_text=True)
    assert html.count("/me/violations") == 1  # the link to the decided cases
    for secret in (PENDING_DESCRIPTION, SECRET_NOTE, "刚收到的举报", "violation case", "违规案件"):
        assert secret not in html
    auth.logout()
    auth.login()
    admin_view = client.get(f"/experts/{accused.id}").get_data(as_text=True)
    assert PENDING_DESCRIPTION in admin_view  # the office's history keeps every step
    assert "Open violation cases" in admin_view or "未结违规案件" in admin_view
    alert = admin_view.split('alert-danger">', 1)[1].split("</div>", 1)[0]
    assert alert.count("/experts/violations/") == 2  # reported and under investigation


def test_another_expert_cannot_see_or_object_to_a_case(client, auth, admin, accused, make_user):
    cases = _three_cases(admin, accused)
    make_user(Role.EXPERT, username="colleague")
    auth.login("colleague")
    assert client.get("/me/violations").status_code == 404  # no file of their own
    response = client.post(
        f"/me/violations/{cases['decided'].id}/objection", data={"reason": "替他申诉"}
    )
    assert response.status_code == 404 and cases["decided"].objection_at is None


def test_the_expert_objects_from_their_page(client, auth, admin, accused):
    cases = _three_cases(admin, accused)
    auth.login("accused")
    response = client.post(
        f"/me/violations/{cases['decided'].id}/objection", data={"reason": "事实有误"}
    )
    assert response.status_code == 302
    db.session.refresh(cases["decided"])
    assert cases["decided"].objection_reason == "事实有误"
    pending = client.post(f"/me/violations/{cases['pending'].id}/objection", data={"reason": "x"})
    assert pending.status_code == 404  # a case under investigation does not exist for them


def test_admin_list_filters_by_state_and_kind(client, auth, admin, accused):
    _three_cases(admin, accused)
    _case(admin, accused, kind="false_information", description="虚假学历")
    auth.login()
    page = client.get("/experts/violations?state=investigating").get_data(as_text=True)
    assert PENDING_DESCRIPTION not in page  # the list shows kinds and states, not texts
    rows = page.split("<tbody>")[-1].split("</tbody>")[0]
    assert rows.count("<tr>") == 1
    kinds = client.get("/experts/violations?kind=false_information").get_data(as_text=True)
    assert kinds.split("<tbody>")[-1].split("</tbody>")[0].count("<tr>") == 1
    everything = client.get("/experts/violations").get_data(as_text=True)
    assert everything.split("<tbody>")[-1].split("</tbody>")[0].count("<tr>") == 4


def test_admin_runs_the_workflow_from_the_case_page(client, auth, admin, accused):
    case = _case(admin, accused)
    auth.login()
    assert 'value="investigate"' in client.get(f"/experts/violations/{case.id}").get_data(
        as_text=True
    )
    client.post(f"/experts/violations/{case.id}/step", data={"step": "investigate", "note": "x"})
    client.post(
        f"/experts/violations/{case.id}/step",
        data={"step": "decide", "decision": "暂停六个月", "consequence": "suspension"},
    )
    db.session.refresh(case)
    db.session.refresh(accused)
    assert case.state == "decided" and accused.status == "suspended"
    reasons = db.session.scalars(
        select(StatusEvent.reason).where(StatusEvent.expert_id == accused.id)
    ).all()
    assert any("暂停六个月" in r for r in reasons)


def test_the_admin_home_counts_open_cases_and_objections(client, auth, admin, accused):
    cases = _three_cases(admin, accused)
    assert vio.open_count(db.session) == 2
    vio.object_to(
        db.session,
        db.session.get(type(admin), accused.user_id),
        cases["decided"],
        "不服",
        today=TODAY,
        days=15,
    )
    db.session.commit()
    assert vio.open_count(db.session) == 3
    vio.answer_objection(db.session, admin, cases["decided"], answer="维持", outcome="rejected")
    db.session.commit()
    assert vio.open_count(db.session) == 2
    auth.login()
    html = client.get("/").get_data(as_text=True)
    card = html.split('data-queue="violations"', 1)[1].split("</div></div></div>", 1)[0]
    assert 'data-count="2"' in card and "/experts/violations?state=open" in card
    listed = client.get("/experts/violations?state=open").get_data(as_text=True)
    rows = listed.split("<tbody>")[-1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2
    assert f'/experts/violations/{cases["decided"].id}"' not in rows


def test_demo_cases_cover_every_state(app, admin, make_expert, make_user):
    experts = [make_expert() for _ in range(3)]
    for n in range(2):
        user = make_user(Role.EXPERT, username=f"demo-expert{n}")
        experts.append(make_expert(user_id=user.id))
    vio.load_demo(db.session, admin, experts)
    db.session.commit()
    cases = db.session.scalars(select(Violation).order_by(Violation.id)).all()
    assert [c.state for c in cases] == ["reported", "investigating", "decided", "decided"]
    assert [c.consequence for c in cases[2:]] == ["warning", "suspension"]
    assert cases[3].objection_reason and cases[3].expert.status == "suspended"
    assert cases[1].evidence_path  # the case page links its evidence file


def test_the_own_data_export_holds_decided_cases_without_the_office_papers(
    client, auth, admin, accused
):
    import json

    cases = _three_cases(admin, accused)
    auth.login("accused")
    data = json.loads(client.get("/account/data.json").data)
    rows = data["sections"]["violations"]["rows"]
    assert [r["id"] for r in rows] == [cases["decided"].id]
    assert "internal_note" not in rows[0] and "reporter" not in rows[0]
    assert SECRET_NOTE not in client.get("/account/data.json").get_data(as_text=True)


def test_the_case_page_renders_every_part(client, auth, admin, accused, expert_user):
    case = _decided(admin, accused, "suspension", evidence="会议记录")
    vio.object_to(db.session, expert_user, case, "申诉理由甲", today=TODAY, days=15)
    db.session.commit()
    auth.login()
    html = client.get(f"/experts/violations/{case.id}").get_data(as_text=True)
    for text in ("申诉理由甲", "会议记录", SECRET_NOTE, 'name="outcome"', "书面警告"):
        assert text in html, text
    assert 'value="decide"' not in html  # a decided case offers no more steps
    form = client.get(f"/experts/{accused.id}/violations/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'name="kind"' in form


# --- the annual assessment ----------------------------------------------------------------------


def test_the_assessment_counts_the_years_decided_cases_only(admin, accused, expert_user):
    from expertpool.core import signals

    kept = _decided(admin, accused, "warning", kind="leaked_content")
    upheld = _decided(admin, accused, "warning")
    vio.object_to(db.session, expert_user, upheld, "不服", today=TODAY, days=15)
    vio.answer_objection(db.session, admin, upheld, answer="撤销", outcome="upheld")
    dismissed = _case(admin, accused)
    vio.dismiss(db.session, admin, dismissed, "查无实据")
    _case(admin, accused)  # still open: not a violation yet
    db.session.commit()
    year = kept.decided_at.year

    def facts(y: int) -> list[dict]:
        merged = [
            result
            for _r, result in signals.assessment_facts.send(
                db.session, year=y, expert_ids=[accused.id], as_of=TODAY
            )
            if result
        ]
        return [v for r in merged for v in r.get(accused.id, {}).get("violations", [])]

    found = facts(year)
    assert len(found) == 1
    assert found[0]["date"] == kept.decided_at.date().isoformat()
    assert found[0]["kind"] == str(vio.KIND_LABELS["leaked_content"])
    assert facts(year - 1) == []
