"""Authoring operations: outline editing, prerequisites without loops, publishing rules."""

from __future__ import annotations

import pytest

from courses import operations as ops
from courses.errors import CourseError, StaleEdit
from expertpool.db import db


def test_chapters_and_lessons_are_reordered_and_guarded(client, login, admin, make_course):
    course = make_course(lessons=2)
    first_chapter = course.chapters[0]
    second_chapter = ops.add_chapter(db.session, course, "第二章")
    db.session.commit()
    login(admin)
    client.post(f"/admin/courses/chapters/{second_chapter.id}", data={"action": "up"})
    db.session.expire_all()
    assert [c.title for c in course.chapters] == ["第二章", "第一章"]
    response = client.post(
        f"/admin/courses/chapters/{first_chapter.id}",
        data={"action": "delete"},
        follow_redirects=True,
    )
    assert "Delete or move the chapter" in response.get_data(as_text=True)
    a, b = course.lessons
    client.post(f"/admin/courses/lessons/{b.id}/action", data={"action": "up"})
    db.session.expire_all()
    assert [lesson.id for lesson in course.lessons] == [b.id, a.id]
    client.post(f"/admin/courses/lessons/{a.id}/action", data={"action": "delete"})
    client.post(
        f"/admin/courses/chapters/{second_chapter.id}", data={"action": "rename", "title": "附录"}
    )
    db.session.expire_all()
    assert [lesson.id for lesson in course.lessons] == [b.id]
    assert course.chapters[0].title == "附录"


def test_prerequisites_cannot_loop(make_course):
    a = make_course()
    b = make_course(prerequisites=(a,))
    c = make_course(prerequisites=(b,))
    with pytest.raises(CourseError):
        ops.set_prerequisites(db.session, a, [c])
    with pytest.raises(CourseError):
        ops.set_prerequisites(db.session, a, [a])


def test_publishing_rules(admin, make_course):
    empty = make_course(lessons=0, questions=[], publish=False)
    with pytest.raises(CourseError):
        ops.set_status(db.session, admin, empty, True)
    course = make_course(publish=False, quiz={"draw_size": 10})  # bank of 4
    with pytest.raises(CourseError):
        ops.set_status(db.session, admin, course, True)
    ops.set_quiz(db.session, course, pass_mark=60, time_limit=None, attempt_limit=None, draw_size=4)
    assert ops.set_status(db.session, admin, course, True).is_published
    assert not ops.set_status(db.session, admin, course, False).is_published


def test_course_fields_are_checked(admin, make_course):
    with pytest.raises(CourseError) as refused:
        ops.create_course(
            db.session,
            admin,
            {"slug": "Bad Slug", "title": "", "hours": 0, "topic": "x", "audience": ["aliens"]},
        )
    message = str(refused.value)
    for field in ("slug", "title", "hours", "topic", "audience", "level", "instructor"):
        assert f"{field}:" in message
    course = make_course()
    with pytest.raises(CourseError):  # duplicate slug
        ops.create_course(db.session, admin, {**_fields(course), "title": "另一个"})
    with pytest.raises(CourseError, match="catalogue page"):  # /courses/search is a page
        ops.create_course(
            db.session, admin, {**_fields(course), "slug": "search", "title": "另一个"}
        )
    with pytest.raises(StaleEdit):
        ops.update_course(
            db.session, admin, course, {"title": "新"}, expected_version=course.version + 1
        )


def _fields(course):
    return {f: getattr(course, f) for f in ops.COURSE_FIELDS}
