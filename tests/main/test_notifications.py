"""Decisions that concern a person reach their inbox (and e-mail when SMTP is configured)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from courses import operations as ops
from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts import operations as expert_ops
from expertpool.notifications.models import Notification
from expertpool.reviews import operations as review_ops

TODAY = dt.date.today()


def _notes(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


def _applicant(make_user: Any, make_expert: Any, username: str, locale: str = "en") -> Any:
    user = make_user(Role.EXPERT, username=username, locale=locale)
    return make_expert(status="applicant", user_id=user.id, email=f"{username}@pool.cn"), user


def test_vetting_approval_reaches_the_expert_and_is_emailed(
    app: Any, admin: Any, make_user: Any, make_expert: Any, fake_smtp: Any
) -> None:
    expert, user = _applicant(make_user, make_expert, "okay")
    expert_ops.change_status(db.session, admin, expert, "approve")
    db.session.commit()
    (note,) = _notes("vetting_approved")
    assert note.user_id == user.id and note.expert_id == expert.id
    assert note.link == "/me/file" and "approved" in note.subject
    assert expert.term_end.isoformat() in note.body
    (sent,) = [m for s in fake_smtp.instances for m in s.sent]
    assert sent["To"] == "okay@pool.cn" and sent["Subject"] == note.subject
    assert note.emailed_at is not None


def test_vetting_rejection_carries_the_reason_in_the_readers_language(
    app: Any, admin: Any, make_user: Any, make_expert: Any
) -> None:
    expert, user = _applicant(make_user, make_expert, "nope", locale="zh_CN")
    expert_ops.change_status(db.session, admin, expert, "reject", reason="职称不符合条件")
    db.session.commit()
    (note,) = _notes("vetting_rejected")
    assert note.user_id == user.id and "职称不符合条件" in note.body
    assert "未通过" in note.subject  # written in the expert's language, Chinese
    assert note.emailed_at is None  # no SMTP configured: in-app only


def test_other_status_changes_do_not_notify_as_vetting(
    app: Any, admin: Any, make_expert: Any
) -> None:
    expert = make_expert()
    expert_ops.change_status(db.session, admin, expert, "suspend", reason="调查中")
    db.session.commit()
    assert not _notes("vetting_approved") and not _notes("vetting_rejected")


def test_decided_changes_reach_the_expert(
    app: Any, admin: Any, make_user: Any, make_expert: Any, fake_smtp: Any
) -> None:
    user = make_user(Role.EXPERT, username="changer", locale="en")
    expert = make_expert(user_id=user.id, email="changer@pool.cn")
    fields = expert_ops.ReviewFields([8, 10], {}, False)
    change = expert_ops.request_review_fields(db.session, user, expert, fields, expert.version)
    expert_ops.decide_change(db.session, admin, change, approve=True)
    second = expert_ops.request_review_fields(
        db.session, user, expert, expert_ops.ReviewFields([1], {}, False), expert.version
    )
    expert_ops.decide_change(db.session, admin, second, approve=False, reason="缺少证明材料")
    db.session.commit()
    (approved,) = _notes("change_approved")
    (rejected,) = _notes("change_rejected")
    assert approved.user_id == rejected.user_id == user.id
    assert "review fields was approved" in approved.subject
    assert "rejected" in rejected.subject and "缺少证明材料" in rejected.body
    assert len([m for s in fake_smtp.instances for m in s.sent]) == 2


def test_certificate_issued_and_revoked_reach_the_learner(
    app: Any, admin: Any, trainee: Any, make_course: Any, fake_smtp: Any
) -> None:
    course = make_course(lessons=1, questions=[])
    enrollment = ops.enrol(db.session, trainee, course)
    certificate = ops.mark_done(db.session, enrollment, course.lessons[0])
    db.session.commit()
    (issued,) = _notes("certificate_issued")
    assert issued.user_id == trainee.id and certificate.code in issued.body
    assert issued.link == f"/certificates/{certificate.code}.pdf"
    ops.revoke_certificate(db.session, admin, certificate, "考试舞弊")
    db.session.commit()
    (revoked,) = _notes("certificate_revoked")
    assert revoked.user_id == trainee.id and "考试舞弊" in revoked.body
    assert revoked.link == "/me/transcript"
    sent = [m["To"] for s in fake_smtp.instances for m in s.sent]
    assert sent == [trainee.email, trainee.email]


def test_accepting_an_invitation_confirms_the_assignment(
    app: Any, admin: Any, make_submission: Any, expert_user: Any
) -> None:
    expert = expert_user("accepter")
    user = db.session.get(User, expert.user_id)
    submission = make_submission()
    (assignment,) = review_ops.assign_panel(
        db.session, admin, submission, [(expert.id, 0.9, {})], [], TODAY + dt.timedelta(days=30)
    )
    assert not _notes("accepted")
    review_ops.accept(db.session, user, assignment, no_conflict=True)
    db.session.commit()
    (note,) = _notes("accepted")
    assert note.user_id == user.id and note.assignment_id == assignment.id
    assert note.link == f"/reviews/assignments/{assignment.id}/review"
    assert submission.title in note.subject


def test_a_new_notification_shows_in_the_inbox_badge(
    client: Any, login: Any, admin: Any, trainee: Any, make_course: Any
) -> None:
    course = make_course(lessons=1, questions=[])
    enrollment = ops.enrol(db.session, trainee, course)
    ops.mark_done(db.session, enrollment, course.lessons[0])
    db.session.commit()
    login(trainee)
    page = client.get("/inbox").get_data(as_text=True)
    assert "data-unread>1<" in page and "Certificate issued" in page
