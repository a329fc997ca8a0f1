"""The demo loader: real demo courses imported and learners given some history."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from courses import demo
from courses.models import Certificate, Course, Enrollment, QuizAttempt
from courses.queries.recertification import open_certificates
from courses.queries.training import training_status
from expertpool.core.access import Role
from expertpool.core.features import demo_loaders
from expertpool.db import db


def test_demo_loaders_are_registered_in_layer_order(app):
    from expertpool.assessment import demo as assessment_demo
    from expertpool.matching import demo as supervision_demo
    from expertpool.reviews import demo as review_demo
    from expertpool.submissions import demo as submission_demo

    loaders = demo_loaders(app)
    assert loaders == [
        demo.load_demo,
        submission_demo.load_demo,
        review_demo.load_demo,
        supervision_demo.load_demo,
        assessment_demo.load_demo,
    ]


def test_demo_courses_and_learning_history(client, login, admin, make_user, make_expert):
    trainees = [
        make_user(Role.TRAINEE, audience=audience, province=province)
        for audience, province in (
            ("technician", "江苏省"),
            ("reviewer", "北京市"),
            ("regulator", "广东省"),
            ("manager", "上海市"),
        )
    ]
    expert_users = [make_user(Role.EXPERT) for _ in range(2)]
    experts = [make_expert() for _ in expert_users]
    for expert, user in zip(experts, expert_users, strict=True):
        expert.user_id = user.id
    db.session.commit()
    expert_ids = {u.id for u in expert_users}

    demo.load_demo(db.session, admin, progress=False)
    db.session.commit()

    count = db.session.scalar(select(func.count()).select_from(Course))
    assert count >= 20
    assert db.session.scalar(select(func.count()).select_from(Certificate)) >= 4
    assert (
        db.session.scalar(
            select(func.count()).select_from(QuizAttempt).where(QuizAttempt.passed.is_(False))
        )
        >= 1
    )  # someone failed first
    for user in trainees:
        assert (
            db.session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.user_id == user.id)
            )
            >= 2
        )
    holder, on_the_way = experts
    assert all(record.ok for record in training_status(holder))
    # Re-certification: courses with a validity, the holder's renewal due soon, some lapsed.
    assert any(record.expiring for record in training_status(holder))
    states = Counter(
        cert.state() for cert in open_certificates(db.session) if cert.user_id not in expert_ids
    )
    assert states["lapsed"] >= 1 and states["expiring"] >= 1
    assert not all(record.ok for record in training_status(on_the_way))

    login(admin)
    for url in (
        "/courses/",
        "/admin/training/reports",
        "/admin/training/required",
        "/admin/courses/",
        f"/experts/{holder.id}",
    ):
        assert client.get(url).status_code == 200, url
    login(trainees[0])
    assert client.get("/me/learning").status_code == 200
    assert client.get("/me/transcript.pdf").status_code == 200
