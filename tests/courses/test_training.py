"""Required training for experts: status, the matching set, the report and the technical file."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from courses import operations as ops
from courses.queries.training import (
    TrainingRule,
    counts,
    experts_missing_training,
    experts_missing_training_count,
    experts_with_required_training,
    training_status,
)
from expertpool.db import db, utcnow
from tests.courses.conftest import complete_course

TODAY = dt.date(2026, 6, 1)


def test_counts_rule():
    rule = TrainingRule()
    issued = dt.date(2024, 6, 1)
    assert counts(issued, False, None, None, rule, TODAY)
    assert not counts(issued, True, None, None, rule, TODAY)  # revoked
    assert counts(issued, False, 2, None, rule, TODAY)  # exactly two years
    assert not counts(issued, False, 1, None, rule, TODAY)  # expired
    within_term = TrainingRule(within_term=True)
    assert not counts(issued, False, None, dt.date(2025, 1, 1), within_term, TODAY)
    assert counts(issued, False, None, dt.date(2024, 1, 1), within_term, TODAY)
    assert counts(issued, False, None, dt.date(2025, 1, 1), rule, TODAY)


def test_status_per_required_course(expert_with_login, make_course):
    expert, user = expert_with_login()
    rules = make_course(title="审评规则", required=True)
    make_course(title="选修课")
    make_course(title="未发布的必修课", required=True, publish=False)
    records = training_status(expert)
    assert [(r.course.title, r.ok, r.certificate) for r in records] == [("审评规则", False, None)]
    cert = complete_course(user, rules)
    ((course, ok, certificate, state, expires),) = training_status(expert)
    assert course is rules and ok and certificate is cert
    assert state == "valid" and expires is None  # no validity period: never expires


def test_revoked_and_expired_certificates_do_not_count(admin, expert_with_login, make_course):
    expert, user = expert_with_login()
    course = make_course(required=True, validity_years=3)
    cert = complete_course(user, course)
    cert.issued_at = utcnow() - dt.timedelta(days=4 * 365)
    db.session.commit()
    (record,) = training_status(expert)
    assert not record.ok and record.certificate is cert  # held, but no longer counts
    cert.issued_at = utcnow()
    ops.revoke_certificate(db.session, admin, cert, "撤销")
    assert not training_status(expert)[0].ok


def test_within_term_rule_from_config(app, expert_with_login, make_course):
    expert, user = expert_with_login(term_start=dt.date.today() + dt.timedelta(days=1))
    complete_course(user, make_course(required=True))
    assert training_status(expert)[0].ok
    app.config["TRAINING_WITHIN_TERM"] = True
    assert not training_status(expert)[0].ok  # issued before the term began


def test_experts_with_required_training(expert_with_login, make_expert, make_course):
    done, done_user = expert_with_login()
    half, half_user = expert_with_login()
    no_login = make_expert()
    ids = [done.id, half.id, no_login.id]
    assert experts_with_required_training(db.session, ids) == set(ids)  # nothing required
    first = make_course(required=True)
    second = make_course(required=True)
    for course in (first, second):
        complete_course(done_user, course)
    complete_course(half_user, first)
    assert experts_with_required_training(db.session, ids) == {done.id}
    assert experts_with_required_training(db.session, []) == set()
    missing = experts_missing_training(db.session)
    assert {e.id for e, _records in missing} == {half.id, no_login.id}
    # the home page's count agrees with the report it links to
    assert experts_missing_training_count(db.session) == len(missing) == 2
    make_expert(status="retired")  # only active experts are counted
    assert experts_missing_training_count(db.session) == 2


def test_technical_file_shows_training(client, login, admin, expert_with_login, make_course):
    expert, user = expert_with_login()
    course = make_course(title="审评专家必修：审评规则", required=True)
    login(admin)
    html = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "审评专家必修：审评规则" in html and "✘" in html
    cert = complete_course(user, course)
    html = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert cert.code in html and "✔" in html
    login(user)
    assert cert.code in client.get("/me/file").get_data(as_text=True)


def test_admin_report_of_missing_training(client, login, admin, expert_with_login, make_course):
    done, done_user = expert_with_login(name="已培训专家")
    expert_with_login(name="未培训专家")
    course = make_course(title="必修课程", required=True)
    complete_course(done_user, course)
    login(admin)
    html = client.get("/admin/training/required").get_data(as_text=True)
    assert "必修课程" in html and "未培训专家" in html and "已培训专家" not in html
    response = client.post("/admin/training/required/assign", data={})
    assert response.status_code == 302
    from courses.models import Enrollment

    assert db.session.scalar(
        select(Enrollment).where(
            Enrollment.user_id != done_user.id, Enrollment.course_id == course.id
        )
    )
