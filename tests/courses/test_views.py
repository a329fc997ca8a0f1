"""The training pages through the test client: learner flow, files, quiz, exports, authoring."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from courses import operations as ops
from courses import queries
from courses.models import Course, Enrollment, Lesson, Question, QuizAttempt
from expertpool.core.access import Role
from expertpool.db import db, utcnow

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)


def _no_inline_script(html: str) -> None:
    """The CSP forbids inline scripts: every <script> has a src or is JSON data."""
    for attributes in SCRIPT_TAG.findall(html):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- catalogue and course page ----------------------------------------------------------------


def test_catalogue_facets_filters_and_sorting(client, login, trainee, make_course):
    make_course(title="甲 均匀性", hours=2, level="beginner")
    make_course(
        title="乙 不确定度", topic="uncertainty", audience=["regulator"], hours=12, level="advanced"
    )
    make_course(title="丙 草稿", publish=False)
    login(trainee)
    html = _text(client.get("/courses/"))
    assert "甲 均匀性" in html and "乙 不确定度" in html and "丙 草稿" not in html
    _no_inline_script(html)
    assert "甲 均匀性" not in _text(client.get("/courses/?topic=uncertainty"))
    assert "乙 不确定度" not in _text(client.get("/courses/?audience=technician"))
    assert "甲 均匀性" not in _text(client.get("/courses/?hours=8to16"))
    assert "乙 不确定度" not in _text(client.get("/courses/?level=beginner"))
    assert "甲 均匀性" not in _text(client.get("/courses/?q=不确定度"))
    by_hours = _text(client.get("/courses/?sort=hours"))
    assert by_hours.index("甲 均匀性") < by_hours.index("乙 不确定度")
    # facet counts consider the other filters: with topic=uncertainty one regulator course
    assert re.search(
        r"audience=regulator[^>]*>[^<]*</a> <span class=\"text-muted\">\(1\)",
        _text(client.get("/courses/?topic=uncertainty")),
    )


def test_catalogue_pages(client, login, trainee, make_course, monkeypatch):
    from courses.controllers import learning

    monkeypatch.setattr(learning, "CATALOGUE_PER_PAGE", 2)
    for letter in "ABCDE":
        make_course(title=f"课程{letter}", questions=[])
    login(trainee)
    first = _text(client.get("/courses/"))
    last = _text(client.get("/courses/?page=3"))
    assert "课程A" in first and "课程C" not in first and "课程E" in last


def test_course_page_and_prerequisite_message(client, login, trainee, make_course):
    basics = make_course(title="标准物质基础")
    advanced = make_course(title="进阶课程", prerequisites=(basics,))
    login(trainee)
    html = _text(client.get(f"/courses/{advanced.slug}"))
    assert "标准物质基础" in html and "1.1 课时" in html and "6" in html
    response = client.post(f"/courses/{advanced.slug}/enrol", follow_redirects=True)
    assert "标准物质基础" in _text(response)
    assert db.session.scalar(select(Enrollment)) is None
    client.post(f"/courses/{basics.slug}/enrol")
    assert db.session.scalar(select(Enrollment)).course_id == basics.id


def test_drafts_are_hidden_from_learners(client, login, trainee, admin, make_course):
    draft = make_course(publish=False)
    login(trainee)
    assert client.get(f"/courses/{draft.slug}").status_code == 404
    login(admin)
    assert client.get(f"/courses/{draft.slug}").status_code == 200


# --- lessons and files ------------------------------------------------------------------------


def test_lessons_need_an_enrolment_and_record_progress(client, login, trainee, make_course):
    course = make_course(lessons=2)
    first, second = course.lessons
    login(trainee)
    assert client.get(f"/courses/{course.slug}/lessons/{first.id}").status_code == 302
    client.post(f"/courses/{course.slug}/enrol")
    html = _text(client.get(f"/courses/{course.slug}/lessons/{first.id}"))
    assert '<h2 id="sec-1">为什么要做均匀性检验</h2>' in html
    response = client.post(f"/courses/{course.slug}/lessons/{first.id}/done")
    assert response.headers["Location"].endswith(f"/lessons/{second.id}")
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.done_lesson_ids == {first.id}
    assert (
        client.get(f"/courses/{course.slug}/resume")
        .headers["Location"]
        .endswith(f"/lessons/{second.id}")
    )
    client.post(f"/courses/{course.slug}/lessons/{first.id}/done", data={"action": "undo"})
    db.session.expire_all()
    assert enrollment.done_lesson_ids == set()


def test_lesson_markdown_is_sanitised(client, login, admin, make_course):
    course = make_course(lessons=1)
    lesson = course.lessons[0]
    ops.save_lesson(
        db.session,
        lesson.chapter,
        lesson,
        title="x",
        kind="text",
        minutes=5,
        markdown="## 标题\n\n<script>alert('x')</script>"
        "<img src=x onerror=alert(1)> [a](javascript:1)",
    )
    db.session.commit()
    login(admin)
    html = _text(client.get(f"/courses/{course.slug}/lessons/{lesson.id}"))
    assert "alert(" not in html and "onerror" not in html and "javascript:" not in html


@pytest.fixture
def video_course(app, make_course):
    course = make_course(lessons=1)
    chapter = course.chapters[0]
    data = bytes(range(256)) * 40
    lesson = ops.save_lesson(
        db.session,
        chapter,
        None,
        title="视频",
        kind="video",
        minutes=10,
        upload=ops.Upload("demo.mp4", data),
        upload_root=app.config["UPLOAD_FOLDER"],
    )
    db.session.commit()
    return course, lesson, data


def test_video_is_served_with_range_requests(client, login, trainee, video_course):
    course, lesson, data = video_course
    login(trainee)
    client.post(f"/courses/{course.slug}/enrol")
    url = f"/courses/{course.slug}/lessons/{lesson.id}/file"
    with client.get(url) as full:  # file responses are closed, as a server would
        assert full.status_code == 200 and full.data == data
        assert full.headers["Accept-Ranges"] == "bytes" and full.mimetype == "video/mp4"
    with client.get(url, headers={"Range": "bytes=1000-1099"}) as part:
        assert part.status_code == 206 and part.data == data[1000:1100]
        assert part.headers["Content-Range"] == f"bytes 1000-1099/{len(data)}"
    with client.get(url, headers={"Range": "bytes=-10"}) as tail:
        assert tail.status_code == 206 and tail.data == data[-10:]


def test_video_position_is_saved_for_resume(client, login, trainee, video_course):
    course, lesson, _data = video_course
    login(trainee)
    client.post(f"/courses/{course.slug}/enrol")
    response = client.post(
        f"/courses/{course.slug}/lessons/{lesson.id}/position", data={"position": "95.0"}
    )
    assert response.get_json() == {"saved": True}
    html = _text(client.get(f"/courses/{course.slug}/lessons/{lesson.id}"))
    assert 'data-position="95.0"' in html
    _no_inline_script(html)


def test_files_need_an_enrolment(client, login, trainee, video_course):
    course, lesson, _data = video_course
    login(trainee)
    response = client.get(f"/courses/{course.slug}/lessons/{lesson.id}/file")
    assert response.status_code == 302 and f"/courses/{course.slug}" in response.location


def test_pdf_lesson_upload_extracts_text(app, client, login, admin, make_course):
    from tests.courses.test_import import _pdf

    course = make_course(lessons=0, questions=[], publish=False)
    login(admin)
    response = client.post(
        f"/admin/courses/{course.id}/lessons/new",
        data={
            "chapter_id": course.chapters[0].id,
            "title": "PDF 讲义",
            "kind": "pdf",
            "minutes": 15,
            "file": (io.BytesIO(_pdf("定值方法与不确定度")), "handout.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, _text(response)
    lesson = db.session.scalar(select(Lesson).where(Lesson.title == "PDF 讲义"))
    assert "定值方法与不确定度" in lesson.pdf_text
    with client.get(f"/courses/{course.slug}/lessons/{lesson.id}/file") as pdf:
        assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    bad = client.post(
        f"/admin/courses/{course.id}/lessons/new",
        data={
            "chapter_id": course.chapters[0].id,
            "title": "假 PDF",
            "kind": "pdf",
            "minutes": 5,
            "file": (io.BytesIO(b"not a pdf"), "fake.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 200
    assert db.session.scalar(select(Lesson).where(Lesson.title == "假 PDF")) is None


# --- quiz -------------------------------------------------------------------------------------


def _start(client, course) -> QuizAttempt:
    """Enrol, do every lesson (the quiz opens then) and start an attempt."""
    client.post(f"/courses/{course.slug}/enrol")
    for lesson in course.lessons:
        client.post(f"/courses/{course.slug}/lessons/{lesson.id}/done")
    response = client.post(f"/courses/{course.slug}/quiz/start")
    assert response.status_code == 302
    return db.session.scalar(select(QuizAttempt).order_by(QuizAttempt.id.desc()))


def _strip_clock(html: str) -> str:
    html = re.sub(r'data-remaining="\d+"', "", html)
    return re.sub(r'<span class="js-clock">[^<]*</span>', "", html)


def test_the_quiz_page_leaks_no_answers(client, login, trainee, make_course):
    course = make_course()
    login(trainee)
    attempt = _start(client, course)
    url = f"/courses/{course.slug}/quiz/attempts/{attempt.id}"
    client.get(url)  # shows (and so clears) the flashed messages
    html = _text(client.get(url))
    assert "均匀性检验通常采用哪种统计方法" in html and "单因素方差分析" in html
    assert "EXPLAIN-" not in html and "GBW-XQZ" not in html
    assert "application/json" not in html
    _no_inline_script(html)
    # Change every answer and explanation: the page must not change at all.
    for q in db.session.scalars(select(Question)):
        q.answer = {"single": [0], "multiple": [3], "truefalse": True, "fill": ["OTHER"]}[q.kind]
        q.explanation = "CHANGED"
    db.session.commit()
    assert _strip_clock(_text(client.get(url))) == _strip_clock(html)


def test_submitting_shows_the_review(client, login, trainee, make_course):
    course = make_course(lessons=1)
    login(trainee)
    attempt = _start(client, course)
    from courses.demo import right_answers

    form = right_answers(queries.questions_of(db.session, attempt))
    response = client.post(
        f"/courses/{course.slug}/quiz/attempts/{attempt.id}/submit",
        data=form,
        follow_redirects=True,
    )
    html = _text(response)
    assert "EXPLAIN-SINGLE" in html and "100" in html
    db.session.expire_all()
    assert db.session.get(QuizAttempt, attempt.id).passed
    assert db.session.scalar(select(Enrollment)).is_completed  # lesson + quiz: completed


def test_late_submission_through_the_page(client, login, trainee, make_course):
    course = make_course()
    login(trainee)
    attempt = _start(client, course)
    attempt.deadline = utcnow().replace(microsecond=0) - __import__("datetime").timedelta(minutes=5)
    db.session.commit()
    response = client.post(
        f"/courses/{course.slug}/quiz/attempts/{attempt.id}/submit", data={}, follow_redirects=True
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(QuizAttempt, attempt.id).status == "expired"


def test_someone_elses_attempt_is_not_found(client, login, make_user, trainee, make_course):
    course = make_course()
    login(trainee)
    attempt = _start(client, course)
    login(make_user(Role.TRAINEE))
    assert client.get(f"/courses/{course.slug}/quiz/attempts/{attempt.id}").status_code == 404
    assert (
        client.post(f"/courses/{course.slug}/quiz/attempts/{attempt.id}/submit").status_code == 404
    )


# --- my learning, transcript, reports ---------------------------------------------------------


def _completed(trainee, course):
    enrollment = ops.enrol(db.session, trainee, course)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    attempt = ops.start_attempt(db.session, enrollment)
    from courses.demo import right_answers

    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt))
    )
    db.session.commit()


def test_my_learning_and_transcript_exports(client, login, trainee, make_course):
    done = make_course(title="已完成的课程", hours=6)
    ongoing = make_course(title="学习中的课程", hours=3)
    _completed(trainee, done)
    ops.enrol(db.session, trainee, ongoing)
    db.session.commit()
    login(trainee)
    html = _text(client.get("/me/learning"))
    assert "已完成的课程" in html and "学习中的课程" in html
    assert "已完成的课程" in _text(client.get("/me/transcript"))
    xlsx = client.get("/me/transcript.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert "已完成的课程" in {r[0] for r in rows}
    done_row = next(r for r in rows if r[0] == "已完成的课程")
    ongoing_row = next(r for r in rows if r[0] == "学习中的课程")
    assert done_row[4] == 6 and ongoing_row[4] == 0
    years = list(book.worksheets[1].iter_rows(values_only=True))
    assert years[1] == (utcnow().year, 6) and years[-1][1] == 6
    pdf = client.get("/me/transcript.pdf")
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "已完成的课程" in text and "李小梅" in text
    assert client.get("/me/transcript.doc").status_code == 404


def test_reports_page_and_export(client, login, admin, make_user, make_course):
    course = make_course(title="报表课程")
    for province in ("江苏省", "广东省"):
        _completed(make_user(Role.TRAINEE, audience="regulator", province=province), course)
    login(admin)
    html = _text(client.get("/admin/training/reports"))
    _no_inline_script(html)
    data = re.search(
        r'<script type="application/json" id="training-report-data">(.*?)</script>', html, re.S
    ).group(1)
    import json

    chart = json.loads(data)
    assert chart["completionRate"] == [100.0] and chart["passRate"] == [100.0]
    assert sorted(chart["provinces"]) == ["广东省", "江苏省"] and chart["provinceHours"] == [6, 6]
    assert sum(chart["enrolments"]) == 2
    book = openpyxl.load_workbook(io.BytesIO(client.get("/admin/training/reports.xlsx").data))
    assert len(book.worksheets) == 4
    assert list(book.worksheets[0].iter_rows(values_only=True))[1][:4] == (
        "报表课程",
        course.slug,
        2,
        2,
    )


# --- authoring --------------------------------------------------------------------------------


def test_authoring_a_course_through_the_forms(client, login, admin, trainee):
    login(admin)
    response = client.post(
        "/admin/courses/new",
        data={
            "slug": "rm-new",
            "title": "新课程",
            "summary": "简介",
            "language": "zh",
            "topic": "statistics",
            "audience": ["technician", "manager"],
            "level": "beginner",
            "hours": "3.5",
            "instructor": "王老师",
            "tags": "统计，方差",
            "validity_years": "",
        },
    )
    assert response.status_code == 302, _text(response)
    course = db.session.scalar(select(Course).where(Course.slug == "rm-new"))
    assert course.tags == ["统计", "方差"] and course.hours == 3.5 and not course.is_published
    assert (
        client.post(f"/admin/courses/{course.id}/publish", data={"action": "publish"}).status_code
        == 302
    )
    db.session.expire_all()
    assert not course.is_published  # no lesson yet: refused
    client.post(f"/admin/courses/{course.id}/chapters", data={"title": "第一章"})
    chapter = db.session.scalar(select(Course).where(Course.id == course.id)).chapters[0]
    client.post(
        f"/admin/courses/{course.id}/lessons/new",
        data={
            "chapter_id": chapter.id,
            "title": "1.1",
            "kind": "text",
            "minutes": 20,
            "markdown": "# 1.1\n\n## 要点\n\n方差分析。",
        },
    )
    client.post(f"/admin/courses/{course.id}/quiz", data={"pass_mark": 80, "attempt_limit": 2})
    questions = [
        {"kind": "single", "text": "单选", "options": "甲\n乙\n丙", "correct_options": "2"},
        {"kind": "multiple", "text": "多选", "options": "甲\n乙\n丙", "correct_options": "1, 3"},
        {"kind": "truefalse", "text": "判断", "truth": "false"},
        {"kind": "fill", "text": "填空", "accepted": "GBW\nGBW(E)"},
    ]
    for q in questions:
        assert client.post(f"/admin/courses/{course.id}/questions/new", data=q).status_code == 302
    bad = client.post(
        f"/admin/courses/{course.id}/questions/new",
        data={"kind": "single", "text": "坏题", "options": "甲\n乙", "correct_options": "5"},
    )
    assert bad.status_code == 200 and "out of range" in _text(bad)
    client.post(f"/admin/courses/{course.id}/publish", data={"action": "publish"})
    db.session.expire_all()
    course = db.session.get(Course, course.id)
    assert course.is_published and course.quiz.pass_mark == 80
    assert [(q.kind, q.answer) for q in course.questions] == [
        ("single", [1]),
        ("multiple", [0, 2]),
        ("truefalse", False),
        ("fill", ["GBW", "GBW(E)"]),
    ]
    edit = _text(client.get(f"/admin/courses/questions/{course.questions[1].id}"))
    assert "1, 3" in edit
    login(trainee)
    assert "新课程" in _text(client.get("/courses/"))


def test_stale_course_form_is_refused(client, login, admin, make_course):
    course = make_course()
    login(admin)
    data = {
        "slug": course.slug,
        "title": "改名",
        "language": "zh",
        "topic": course.topic,
        "audience": course.audience,
        "level": course.level,
        "hours": "6",
        "instructor": "王建平",
        "version": str(course.version - 1 if course.version > 1 else course.version + 5),
    }
    response = client.post(f"/admin/courses/{course.id}", data=data)
    assert response.status_code == 200 and "changed by someone else" in _text(response)
    db.session.expire_all()
    assert db.session.get(Course, course.id).title != "改名"


def test_admin_assigns_learners_with_a_due_date(client, login, admin, trainee, make_course):
    course = make_course()
    login(admin)
    response = client.post(
        f"/admin/courses/{course.id}/enrolments",
        data={"learners": "learner\nnobody", "due_date": "2030-01-31"},
    )
    assert response.status_code == 200 and "nobody" in _text(response)
    assert db.session.scalar(select(Enrollment)) is None  # unknown name: nothing assigned
    client.post(
        f"/admin/courses/{course.id}/enrolments",
        data={"learners": "learner", "due_date": "2030-01-31"},
    )
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.user_id == trainee.id and enrollment.assigned_by_id == admin.id
    assert str(enrollment.due_date) == "2030-01-31"
    assert "李小梅" in _text(client.get(f"/admin/courses/{course.id}/enrolments"))


def test_course_tags_follow_the_one_list_rule(client, login, admin):
    """A tag that is a chemical name keeps its comma, as in the expert and submission lists."""
    login(admin)
    data = {
        "slug": "rm-tags",
        "title": "农药残留",
        "summary": "",
        "language": "zh",
        "topic": "statistics",
        "audience": ["technician"],
        "level": "beginner",
        "hours": "1",
        "instructor": "王老师",
        "tags": "2,4-D，农药残留; 2,4-D",
        "validity_years": "",
    }
    response = client.post("/admin/courses/new", data=data)
    assert response.status_code == 302, _text(response)
    course = db.session.scalar(select(Course).where(Course.slug == "rm-tags"))
    assert course.tags == ["2,4-D", "农药残留"]


def test_stored_course_files_are_served_only_from_the_upload_folder(
    app: Any, client: Any, login: Callable[[Any], None], admin: Any, make_course: Any
) -> None:
    """Uploads land under courses/<id>/ whatever their names; a row whose path leads out of the
    upload folder (only a tampered database holds one) is 404 for the cover, a lesson file and
    a material alike."""
    from courses.operations.authoring import Upload

    root = app.config["UPLOAD_FOLDER"]
    course = make_course(lessons=1)
    lesson = course.lessons[0]
    ops.set_cover(db.session, course, Upload("../../cover.png", b"\x89PNG\r\n"), root)
    item = ops.add_material(db.session, course, lesson, "数据", Upload("../../d.csv", b"a,b"), root)
    lesson.file_path = item.file_path
    db.session.commit()
    assert course.cover_path.startswith(f"courses/{course.id}/") and ".." not in course.cover_path
    urls = [
        f"/courses/{course.slug}/cover",
        f"/courses/{course.slug}/materials/{item.id}",
        f"/courses/{course.slug}/lessons/{lesson.id}/file",
    ]
    login(admin)
    for url in urls:
        with client.get(url) as response:
            assert response.status_code == 200, url
    (Path(root).parent / "outside.txt").write_text("not an upload")
    course.cover_path = item.file_path = lesson.file_path = "../outside.txt"
    db.session.commit()
    assert [client.get(url).status_code for url in urls] == [404, 404, 404]
