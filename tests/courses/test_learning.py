"""Enrolment, prerequisites, progress with resume, the completion rule and certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from courses import operations as ops
from courses import queries
from courses.demo import right_answers
from courses.errors import CourseError, PrerequisiteMissing
from courses.models import Certificate, Enrollment
from expertpool.core.access import Role
from expertpool.db import db, utcnow


def _finish_lessons(enrollment):
    for lesson in enrollment.course.lessons:
        ops.mark_done(db.session, enrollment, lesson)


def _pass_quiz(enrollment, now=None):
    attempt = ops.start_attempt(db.session, enrollment, now=now)
    return ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt)), now=now
    )


def _complete(user, course):
    enrollment = ops.enrol(db.session, user, course)
    _finish_lessons(enrollment)
    _pass_quiz(enrollment)
    db.session.commit()
    return enrollment


def test_self_enrolment_is_idempotent(trainee, make_course):
    course = make_course()
    first = ops.enrol(db.session, trainee, course)
    assert ops.enrol(db.session, trainee, course) is first
    assert first.assigned_by_id is None and first.cycle == 1
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 1


def test_draft_courses_refuse_enrolment(trainee, make_course):
    with pytest.raises(CourseError):
        ops.enrol(db.session, trainee, make_course(publish=False))


def test_prerequisite_blocks_self_enrolment_and_names_the_course(trainee, make_course):
    basics = make_course(title="标准物质基础")
    advanced = make_course(prerequisites=(basics,))
    with pytest.raises(PrerequisiteMissing) as refused:
        ops.enrol(db.session, trainee, advanced)
    assert "标准物质基础" in str(refused.value)
    assert refused.value.missing == [basics.slug]
    _complete(trainee, basics)
    assert ops.enrol(db.session, trainee, advanced).course is advanced


def test_assignment_by_admin_skips_the_check_but_the_quiz_enforces_it(admin, trainee, make_course):
    basics = make_course(title="标准物质基础")
    advanced = make_course(prerequisites=(basics,))
    enrollment = ops.enrol(
        db.session, admin, advanced, learner=trainee, due_date=dt.date(2030, 1, 1)
    )
    assert enrollment.assigned_by_id == admin.id and enrollment.due_date == dt.date(2030, 1, 1)
    with pytest.raises(PrerequisiteMissing):
        ops.start_attempt(db.session, enrollment)


def test_only_admins_assign(make_user, trainee, make_course):
    other = make_user(Role.TRAINEE)
    with pytest.raises(CourseError):
        ops.enrol(db.session, other, make_course(), learner=trainee)


def test_progress_and_resume_point(trainee, make_course):
    course = make_course(lessons=3)
    first, second, third = course.lessons
    enrollment = ops.enrol(db.session, trainee, course)
    assert queries.resume_lesson(enrollment) is first
    ops.mark_done(db.session, enrollment, first)
    assert queries.resume_lesson(enrollment) is second
    ops.record_visit(db.session, enrollment, third)
    assert queries.resume_lesson(enrollment) is third  # where the learner was last
    ops.save_position(db.session, enrollment, third, 83.5)
    assert enrollment.progress_of(third.id).position == 83.5
    ops.mark_done(db.session, enrollment, third)
    assert queries.resume_lesson(enrollment) is second  # wraps to the one still open
    state = queries.progress(db.session, enrollment)
    assert (state.done, state.total, state.percent) == (2, 3, 67)


def test_completion_needs_every_lesson_and_the_quiz(trainee, make_course):
    course = make_course(lessons=2, quiz={"lessons_first": False})
    enrollment = ops.enrol(db.session, trainee, course)
    _pass_quiz(enrollment)  # quiz first (this quiz allows it): passes but lessons are missing
    assert not enrollment.is_completed
    assert ops.mark_done(db.session, enrollment, course.lessons[0]) is None
    certificate = ops.mark_done(db.session, enrollment, course.lessons[1])
    assert certificate is not None and enrollment.is_completed
    assert certificate.hours == 6 and certificate.learner_name == "李小梅"


def test_lessons_alone_do_not_complete_a_course_with_a_quiz(trainee, make_course):
    enrollment = ops.enrol(db.session, trainee, make_course())
    _finish_lessons(enrollment)
    assert not enrollment.is_completed
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_course_without_quiz_completes_with_its_lessons(trainee, make_course):
    enrollment = ops.enrol(db.session, trainee, make_course(questions=[]))
    _finish_lessons(enrollment)
    assert enrollment.is_completed


def test_certificate_is_issued_once(trainee, make_course):
    enrollment = _complete(trainee, make_course())
    assert ops.check_completion(db.session, enrollment) is None
    for lesson in enrollment.course.lessons:  # ticking again changes nothing
        assert ops.mark_done(db.session, enrollment, lesson) is None
    again = ops.issue_certificate(db.session, enrollment)
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert again.enrollment_id == enrollment.id


def test_completed_course_cannot_be_retaken_until_the_certificate_lapses(
    admin, trainee, make_course
):
    course = make_course()
    first = _complete(trainee, course)
    with pytest.raises(CourseError):
        ops.enrol(db.session, trainee, course)
    assert ops.enrol(db.session, admin, course, learner=trainee) is first  # assignment
    cert = db.session.scalar(select(Certificate))
    ops.revoke_certificate(db.session, admin, cert, "考试作弊")
    second = ops.enrol(db.session, trainee, course)
    assert second.cycle == 2 and second.progress == [] and not second.is_completed


def test_expired_certificate_allows_renewal(trainee, make_course):
    course = make_course(validity_years=2)
    _complete(trainee, course)
    cert = db.session.scalar(select(Certificate))
    cert.issued_at = utcnow() - dt.timedelta(days=3 * 365)
    assert not queries.certificate_is_current(cert)
    assert ops.enrol(db.session, trainee, course).cycle == 2


def test_assign_required_to_active_experts(admin, make_user, make_expert, make_course):
    required = make_course(required=True)
    with_login = make_expert(name="有账号")
    user = make_user(Role.EXPERT)
    with_login.user_id = user.id
    make_expert(name="无账号")
    suspended = make_expert(status="suspended")
    suspended.user_id = make_user(Role.EXPERT).id
    db.session.commit()
    result = ops.assign_required_to_experts(db.session, admin)
    assert [e.user_id for e in result.created] == [user.id]
    assert result.without_account == ["无账号"]
    again = ops.assign_required_to_experts(db.session, admin, courses=[required])
    assert again.count == 0 and again.unchanged == [user]
