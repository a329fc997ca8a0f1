"""The annual assessment in the app: the gathering job on a known data set, grades with reasons,
closing into the technical file and the audit log, consequences proposed (never executed),
the export, the chart's counts and the pages."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from courses.models import Certificate, Course, Enrollment
from expertpool.assessment import demo, queries
from expertpool.assessment import operations as ops
from expertpool.assessment.models import AssessmentDraft, AssessmentRound
from expertpool.assessment.rules import counts_by
from expertpool.core import signals
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import operations as expert_ops
from expertpool.experts.models import Assessment, Expert, PendingChange
from expertpool.reviews.models import Assignment, Review
from tests.conftest import PASSWORD, submission_maker

YEAR = 2025
T = dt.datetime


@pytest.fixture
def data(app: Any, admin: Any, make_user: Any, make_expert: Any) -> dict[str, Any]:
    """Expert A (北京, 08): 3 reviews (one late), one overdue, a decline, ratings 2 and 3, a
    required course done; B (上海, 08 and 10): nothing; a suspended expert, left out."""
    user = make_user(Role.EXPERT, username="ea")
    a = make_expert(name="甲专家", user_id=user.id, province="北京市", categories=[8])
    b = make_expert(name="乙专家", province="上海市", categories=[8, 10])
    make_expert(name="停用专家", status="suspended")
    make = submission_maker(admin)
    rows = [
        ("completed", dt.date(YEAR, 3, 1), T(YEAR, 2, 1), None),
        ("completed", dt.date(YEAR, 4, 1), T(YEAR, 4, 20), None),  # late
        ("completed", dt.date(YEAR, 6, 1), T(YEAR, 5, 1), None),
        ("accepted", dt.date(YEAR, 10, 1), None, None),  # overdue
        ("declined", None, None, "时间冲突"),
    ]
    for n, (status, due, submitted, reason) in enumerate(rows):
        sub = make(title=f"样品{n}")
        assignment = Assignment(
            submission_id=sub.id,
            expert_id=a.id,
            status=status,
            due_date=due,
            decline_reason=reason,
            responded_at=T(YEAR, 3, 3) if reason else None,
        )
        db.session.add(assignment)
        db.session.flush()
        if submitted:
            db.session.add(
                Review(
                    assignment_id=assignment.id,
                    expert_id=a.id,
                    status="submitted",
                    submitted_at=submitted,
                )
            )
    for rating in (2, 3):
        db.session.add(Assessment(expert_id=a.id, kind="review_quality", year=YEAR, rating=rating))
    course = Course(
        slug="req",
        title="审评规则",
        topic="review",
        status="published",
        required_for_experts=True,
        hours=6,
    )
    db.session.add(course)
    db.session.flush()
    enrol = Enrollment(user_id=user.id, course_id=course.id, status="completed")
    db.session.add(enrol)
    db.session.flush()
    db.session.add(
        Certificate(
            code="C1",
            enrollment_id=enrol.id,
            user_id=user.id,
            course_id=course.id,
            learner_name="甲",
            course_title="审评规则",
            hours=6,
            issued_at=T(YEAR, 5, 5),
        )
    )
    db.session.commit()
    return {"a": a, "b": b, "user": user}


def start(admin: Any, year: int = YEAR) -> AssessmentRound:
    round_ = ops.start_round(db.session, admin, year, today=dt.date(year + 1, 1, 10))
    db.session.commit()  # the job runs (JOBS_EAGER)
    db.session.expire_all()
    return db.session.get(AssessmentRound, round_.id)


def draft_of(round_: AssessmentRound, expert: Any) -> AssessmentDraft:
    return db.session.scalar(
        select(AssessmentDraft).where(
            AssessmentDraft.round_id == round_.id, AssessmentDraft.expert_id == expert.id
        )
    )


def test_the_job_gathers_every_active_experts_facts(data, admin):
    round_ = start(admin)
    assert round_.status == "open" and round_.as_of == dt.date(YEAR, 12, 31)
    assert {d.expert_id for d in round_.drafts} == {data["a"].id, data["b"].id}
    f = draft_of(round_, data["a"]).facts
    assert (f["reviews_done"], f["on_time"], f["late"], f["overdue_open"]) == (3, 2, 1, 1)
    assert f["late_share"] == 0.5
    assert (f["declined"], f["decline_reasons"]) == (1, ["时间冲突"])
    assert (f["ratings_count"], f["rating_average"]) == (2, 2.5)
    assert (f["training_hours"], f["required_complete"]) == (6.0, True)
    assert draft_of(round_, data["a"]).suggested_grade == "不合格"  # half late or overdue
    fb = draft_of(round_, data["b"]).facts
    assert (fb["reviews_done"], fb["required_complete"], fb["required_missing"]) == (
        0,
        False,
        ["审评规则"],
    )
    assert draft_of(round_, data["b"]).suggested_grade == "基本合格"


def test_a_year_has_one_round_and_no_future_round(data, admin):
    start(admin)
    with pytest.raises(ops.AssessmentError):
        ops.start_round(db.session, admin, YEAR, today=dt.date(YEAR + 1, 1, 10))
    with pytest.raises(ops.AssessmentError):
        ops.start_round(db.session, admin, YEAR + 2, today=dt.date(YEAR + 1, 1, 10))


def test_other_features_contribute_facts_through_the_signal(data, admin):
    b_id = data["b"].id

    def violations(_session, *, expert_ids, year, **_kw):
        assert b_id in expert_ids
        return {b_id: {"violations": [{"date": f"{year}-06-01", "kind": "泄密"}]}}

    signals.assessment_facts.connect(violations)
    try:
        round_ = start(admin)
    finally:
        signals.assessment_facts.disconnect(violations)
    b = draft_of(round_, data["b"])
    assert b.facts["violations"] == [{"date": f"{YEAR}-06-01", "kind": "泄密"}]
    assert b.suggested_grade == "不合格"


def test_a_grade_must_be_known_and_needs_a_reason(data, admin):
    round_ = start(admin)
    item = draft_of(round_, data["a"])
    with pytest.raises(ops.AssessmentError):
        ops.record_grade(db.session, admin, item, "很好", "理由")
    with pytest.raises(ops.AssessmentError):
        ops.record_grade(db.session, admin, item, "合格", "   ")
    ops.record_grade(db.session, admin, item, "合格", "按时完成大部分审评")
    db.session.commit()
    logged = db.session.scalars(
        select(AuditLog).where(
            AuditLog.entity_type == "AssessmentDraft", AuditLog.entity_id == item.id
        )
    ).all()
    assert any(row.changes.get("grade") == [None, "合格"] for row in logged)
    assert all(row.subject_id == data["a"].id for row in logged)


def grade_all(round_: AssessmentRound, admin: Any, grades: dict[int, str]) -> None:
    for item in round_.drafts:
        ops.record_grade(db.session, admin, item, grades[item.expert_id], f"理由{item.expert_id}")
    db.session.commit()


def test_closing_needs_every_grade(data, admin):
    round_ = start(admin)
    ops.record_grade(db.session, admin, draft_of(round_, data["a"]), "合格", "理由")
    with pytest.raises(ops.AssessmentError, match="1"):
        ops.close_round(db.session, admin, round_)


def test_closing_files_the_grades_and_proposes_suspension_without_suspending(
    data, admin, make_user
):
    round_ = start(admin)
    a, b = data["a"], data["b"]
    grade_all(round_, admin, {a.id: "不合格", b.id: "合格"})
    result = ops.close_round(db.session, admin, round_)
    db.session.commit()
    assert (result.filed, result.proposed) == (2, 1)
    db.session.expire_all()
    assert round_.status == "closed"
    annual = {
        e.expert_id: e
        for e in db.session.scalars(select(Assessment).where(Assessment.kind == "annual"))
    }
    assert annual[a.id].rating == 1 and annual[a.id].comment == f"不合格：理由{a.id}"
    assert annual[b.id].rating == 4 and annual[a.id].year == YEAR
    assert db.session.scalar(
        select(AuditLog).where(
            AuditLog.entity_type == "assessment_round", AuditLog.action == "close"
        )
    )
    # the file's history holds the entry, under the expert
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "Assessment", AuditLog.subject_id == a.id)
    )
    # proposed, not executed: the expert is still active, a pending change waits
    expert = db.session.get(Expert, a.id)
    assert expert.status == "active"
    proposal = db.session.get(PendingChange, draft_of(round_, a).proposal_id)
    assert (proposal.kind, proposal.status, proposal.after["action"]) == (
        "status",
        "pending",
        "suspend",
    )
    assert db.session.get(Expert, b.id).status == "active"
    assert draft_of(round_, b).proposal_id is None
    # the grading administrator cannot approve their own proposal; a second one can
    with pytest.raises(expert_ops.ExpertError):
        expert_ops.decide_change(db.session, admin, proposal, True)
    assert expert.status == "active"
    second = make_user(Role.ADMIN, username="admin2")
    expert_ops.decide_change(db.session, second, proposal, True)
    db.session.commit()
    assert db.session.get(Expert, a.id).status == "suspended"
    # and a closed round takes no more grades
    with pytest.raises(ops.AssessmentError):
        ops.record_grade(db.session, admin, draft_of(round_, b), "优秀", "改")


def test_a_rejected_proposal_leaves_the_expert_active(data, admin, make_user):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "不合格", data["b"].id: "不合格"})
    ops.close_round(db.session, admin, round_)
    db.session.commit()
    second = make_user(Role.ADMIN, username="admin2")
    proposal = db.session.get(PendingChange, draft_of(round_, data["b"]).proposal_id)
    expert_ops.decide_change(db.session, second, proposal, False, "考虑其历年表现")
    db.session.commit()
    assert db.session.get(Expert, data["b"].id).status == "active"


def test_chart_counts_by_category_and_province(data, admin):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "不合格", data["b"].id: "合格"})
    rows = queries.graded_rows(db.session, round_.id)
    assert counts_by(rows, "category") == {8: {"不合格": 1, "合格": 1}, 10: {"合格": 1}}
    assert counts_by(rows, "province") == {"上海市": {"合格": 1}, "北京市": {"不合格": 1}}


@pytest.fixture
def signed_in(client, admin):
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    return client


def test_the_export_opens_with_openpyxl_and_has_a_row_per_expert(data, admin, signed_in):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "不合格", data["b"].id: "合格"})
    response = signed_in.get(f"/assessment/{round_.id}/export.xlsx")
    assert response.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert len(rows) == 3
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"甲专家", "乙专家"}
    header = list(rows[0])
    assert by_name["甲专家"][header.index("审评完成数")] == 3
    assert by_name["甲专家"][header.index("考核等级")] == "不合格"
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "export"))


def test_the_pages_and_the_grade_form(data, admin, signed_in):
    assert "年度考核" in signed_in.get("/").get_data(as_text=True)  # menu and work queue
    page = signed_in.post("/assessment/new", data={"year": YEAR}, follow_redirects=True)
    assert page.status_code == 200
    round_ = db.session.scalar(select(AssessmentRound))
    html = signed_in.get(f"/assessment/{round_.id}").get_data(as_text=True)
    assert "甲专家" in html and 'id="chart-category"' not in html  # no grade yet: no bars
    assert "甲专家" not in signed_in.get(f"/assessment/{round_.id}?province=上海").get_data(
        as_text=True
    )
    item = draft_of(round_, data["a"])
    assert "时间冲突" in signed_in.get(f"/assessment/drafts/{item.id}").get_data(as_text=True)
    refused = signed_in.post(f"/assessment/drafts/{item.id}", data={"grade": "合格", "reason": ""})
    assert refused.status_code == 400
    db.session.expire_all()
    assert draft_of(round_, data["a"]).grade is None
    saved = signed_in.post(
        f"/assessment/drafts/{item.id}", data={"grade": "合格", "reason": "认真"}
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert draft_of(round_, data["a"]).grade == "合格"
    html = signed_in.get(f"/assessment/{round_.id}").get_data(as_text=True)
    assert 'id="chart-category"' in html and 'data-chart-table="chart-province"' in html
    assert "甲专家" not in signed_in.get(f"/assessment/{round_.id}?grade=none").get_data(
        as_text=True
    )


def test_an_expert_sees_their_own_closed_result_only(data, admin, client):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "合格", data["b"].id: "优秀"})
    client.post("/login", data={"username": "ea", "password": PASSWORD})
    assert "合格" not in client.get("/me/assessments").get_data(as_text=True).split("<h1")[1]
    ops.close_round(db.session, admin, round_)
    db.session.commit()
    page = client.get("/me/assessments").get_data(as_text=True)
    assert f'data-result="{YEAR}"' in page and "理由" in page
    assert "优秀" not in page.split("<h1")[1]  # B's grade
    assert f'data-result="{YEAR}"' in client.get("/me/file").get_data(as_text=True)
    assert client.get(f"/assessment/{round_.id}").status_code == 403


def test_demo_data_has_a_closed_round_and_an_open_one(app, admin, make_expert):
    for n in range(4):
        make_expert(name=f"示例{n}")
    demo.load_demo(db.session, admin, today=dt.date(2026, 12, 5))
    db.session.commit()
    rounds = {r.year: r for r in queries.rounds(db.session)}
    assert rounds[2025].status == "closed" and rounds[2026].status == "open"
    assert queries.round_counts(db.session, rounds[2025].id) == {
        "total": 4,
        "graded": 4,
        "ungraded": 0,
    }
    assert db.session.scalar(select(PendingChange).where(PendingChange.kind == "status"))


def test_a_proposal_is_refused_when_the_step_is_not_possible_and_a_new_one_supersedes(
    app, admin, make_expert
):
    retired = make_expert(status="retired")
    with pytest.raises(expert_ops.InvalidTransition):
        expert_ops.propose_status_change(db.session, admin, retired, "suspend", "理由")
    active = make_expert()
    with pytest.raises(expert_ops.InvalidTransition):
        expert_ops.propose_status_change(db.session, admin, active, "approve", "理由")
    with pytest.raises(expert_ops.ExpertError):
        expert_ops.propose_status_change(db.session, admin, active, "suspend", " ")
    first = expert_ops.propose_status_change(db.session, admin, active, "suspend", "逾期")
    second = expert_ops.propose_status_change(db.session, admin, active, "remove", "违规")
    assert (first.status, second.status) == ("superseded", "pending")
    assert active.status == "active"


def test_the_proposer_cannot_approve_on_the_change_page(data, admin, signed_in):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "不合格", data["b"].id: "合格"})
    ops.close_round(db.session, admin, round_)
    db.session.commit()
    change_id = draft_of(round_, data["a"]).proposal_id
    page = signed_in.get(f"/experts/changes/{change_id}").get_data(as_text=True)
    assert "状态变更提议" in page and "暂停" in page
    signed_in.post(f"/experts/changes/{change_id}", data={"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(PendingChange, change_id).status == "pending"
    assert db.session.get(Expert, data["a"].id).status == "active"


def test_closing_from_the_page_runs_as_a_job_and_says_what_it_did(data, admin, signed_in):
    round_ = start(admin)
    grade_all(round_, admin, {data["a"].id: "不合格", data["b"].id: "合格"})
    response = signed_in.post(f"/assessment/{round_.id}/close", follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    round_ = db.session.get(AssessmentRound, round_.id)
    assert round_.status == "closed" and round_.job.task == ops.CLOSE_TASK
    assert round_.job.result == {"filed": 2, "proposed": 1}
    html = signed_in.get(f"/assessment/{round_.id}").get_data(as_text=True)
    assert "data-closing" in html
    closer = db.session.scalar(
        select(AuditLog).where(
            AuditLog.entity_type == "assessment_round", AuditLog.action == "close"
        )
    )
    assert closer.actor_name == admin.username or "admin" in closer.actor_name
    with pytest.raises(ops.AssessmentError):
        ops.queue_gathering(db.session, admin, round_)
