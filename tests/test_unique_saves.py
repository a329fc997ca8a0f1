"""Every unique rule a form can reach answers with a form error, or lets both saves through.

Issue 12, item 2, beyond user names: a course's short name, an expert's e-mail, an institution's
name. The races run really concurrently (tests/racing.py); before, each ended in a 500
(`IntegrityError`), and the expert e-mail even without a race.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from courses.models import Course
from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts.models import Expert, Institution
from tests.conftest import PASSWORD
from tests.racing import client_of, of_type, race, server_errors


def _new_expert(client: Any, n: int, institution: str) -> Any:
    data = {"name": f"专家{n}", "email": f"expert{n}@example.cn", "institution": institution}
    return lambda: client.post("/experts/new", data=data)


def test_two_experts_from_one_new_institution_at_once_are_both_saved(app, admin, make_user):
    """Both admins looked the institution up before either created it: one row, both experts."""
    make_user(Role.ADMIN, username="admin2")
    requests = [
        _new_expert(client_of(app, name), n, "西部计量新研究所")
        for n, name in enumerate(("admin", "admin2"), start=1)
    ]
    outcomes = race(app, requests, lambda s: of_type(s, Institution, new=True))
    assert not server_errors(outcomes), outcomes
    assert [o.status for o in outcomes] == [302, 302]
    institutions = db.session.scalars(select(Institution)).all()
    assert [i.name for i in institutions] == ["西部计量新研究所"]
    experts = db.session.scalars(select(Expert).order_by(Expert.name)).all()
    assert [(e.name, e.institution_id) for e in experts] == [
        ("专家1", institutions[0].id),
        ("专家2", institutions[0].id),
    ]


def _new_course(client: Any, title: str) -> Any:
    data = {
        "slug": "same-slug",
        "title": title,
        "summary": "简介",
        "language": "zh",
        "topic": "statistics",
        "audience": ["technician"],
        "level": "beginner",
        "hours": "3",
        "instructor": "王老师",
        "tags": "统计",
        "validity_years": "",
    }
    return lambda: client.post("/admin/courses/new", data=data)


def test_two_courses_with_one_short_name_at_once_one_is_refused(app, admin, make_user):
    make_user(Role.ADMIN, username="admin2")
    requests = [
        _new_course(client_of(app, "admin"), "甲的课程"),
        _new_course(client_of(app, "admin2"), "乙的课程"),
    ]
    outcomes = race(app, requests, lambda s: of_type(s, Course, new=True))
    assert not server_errors(outcomes), outcomes
    assert sorted(o.status for o in outcomes) == [200, 302]
    refused = next(o for o in outcomes if o.status == 200)
    assert "same-slug" in refused.body and "已存在" in refused.body
    assert db.session.scalar(select(func.count()).select_from(Course)) == 1


def test_an_expert_email_another_file_has_is_a_form_error(client, auth, admin, make_expert):
    make_expert(email="taken@example.cn")
    auth.login()
    response = client.post(
        "/experts/new",
        data={"name": "新专家", "email": "taken@example.cn", "institution": "中国计量科学研究院"},
    )
    assert response.status_code == 400
    assert "taken@example.cn" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Expert)) == 1


def test_an_applicant_whose_email_an_expert_file_has_is_refused_cleanly(client, make_expert):
    make_expert(email="known@example.cn")
    response = client.post(
        "/register",
        data={
            "kind": "expert",
            "username": "known",
            "name": "已知专家",
            "email": "known@example.cn",
            "audience": "reviewer",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "known@example.cn" in response.get_data(as_text=True)
    assert (
        db.session.scalar(select(func.count()).select_from(User).filter_by(username="known")) == 0
    )
