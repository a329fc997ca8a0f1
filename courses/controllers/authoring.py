"""Authoring pages for administrators: courses, outline, lessons, files, quiz and questions.

There is no separate instructor role: administrators author courses (the course's instructor
is a name shown to learners).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from expertpool.core.access import Role, roles_required
from expertpool.core.requests import get_or_404, whole_number
from expertpool.core.textlists import split_list
from expertpool.db import db

from .. import operations as ops
from .. import queries
from ..constants import QUESTION_KINDS
from ..errors import CourseError
from ..forms import (
    ActionForm,
    ChapterActionForm,
    ChapterForm,
    CourseForm,
    LessonForm,
    MaterialForm,
    QuestionForm,
    QuizForm,
)
from ..models import Chapter, Course, Lesson, Material, Question
from .common import fail, form_errors, upload_root


def _upload(field: Any) -> ops.Upload | None:
    data = field.data
    if data is None or not getattr(data, "filename", ""):
        return None
    return ops.Upload(data.filename, data.read())


# --- courses ----------------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def courses() -> Any:
    rows = queries.courses_by_status(db.session)
    counts = queries.enrolment_counts(db.session)
    return render_template(
        "courses/admin/courses.html", courses=rows, counts=counts, form=ActionForm()
    )


def _course_form(course: Course | None) -> CourseForm:
    form = (
        CourseForm(obj=course) if course is not None and request.method == "GET" else CourseForm()
    )
    others = queries.courses_by_title(db.session)
    form.prerequisites.choices = [(c.id, c.title) for c in others if c is not course]
    if request.method == "GET" and course is not None:
        form.prerequisites.data = [c.id for c in course.prerequisites]
        form.tags.data = ", ".join(course.tags or [])
        form.version.data = str(course.version)
    return form


def _form_data(form: CourseForm) -> dict[str, Any]:
    return {
        "slug": form.slug.data.strip(),
        "title": form.title.data,
        "summary": form.summary.data or "",
        "language": form.language.data,
        "topic": form.topic.data,
        "audience": form.audience.data,
        "level": form.level.data,
        "hours": float(form.hours.data),
        "instructor": form.instructor.data,
        "tags": split_list(form.tags.data),  # the one list rule (`core.textlists`)
        "required_for_experts": bool(form.required_for_experts.data),
        "validity_years": form.validity_years.data or None,
    }


def _save_extras(course: Course, form: CourseForm) -> None:
    chosen = [db.session.get(Course, cid) for cid in form.prerequisites.data or []]
    ops.set_prerequisites(db.session, course, [c for c in chosen if c is not None])
    upload = _upload(form.cover)
    if upload is not None:
        ops.set_cover(db.session, course, upload, upload_root())


@roles_required(Role.ADMIN)
def course_new() -> Any:
    form = _course_form(None)
    if form.validate_on_submit():
        try:
            course = ops.create_course(db.session, current_user, _form_data(form))
            _save_extras(course, form)
        except CourseError as exc:
            fail(str(exc))
        else:
            flash(
                _("Course created as a draft. Add chapters and lessons, then publish it."),
                "success",
            )
            return redirect(url_for("courses.admin_edit", course_id=course.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template("courses/admin/course_form.html", form=form, course=None)


@roles_required(Role.ADMIN)
def course_edit(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = _course_form(course)
    if form.validate_on_submit():
        try:
            ops.update_course(
                db.session, current_user, course, _form_data(form), form.expected_version()
            )
            _save_extras(course, form)
        except CourseError as exc:
            fail(str(exc))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("courses.admin_edit", course_id=course.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template(
        "courses/admin/course_form.html",
        form=form,
        course=course,
        chapter_form=ChapterForm(formdata=None),
        action_form=ActionForm(),
    )


@roles_required(Role.ADMIN)
def course_publish(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.set_status(db.session, current_user, course, form.action.data == "publish")
    except CourseError as exc:
        fail(str(exc))
    else:
        flash(_("Published.") if course.is_published else _("Returned to draft."), "success")
    if request.form.get("next") == "list":
        return redirect(url_for("courses.admin_courses"))
    return redirect(url_for("courses.admin_edit", course_id=course_id))


# --- outline ----------------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def chapter_add(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = ChapterForm()
    if not form.validate_on_submit():
        form_errors(form)
    else:
        try:
            ops.add_chapter(db.session, course, form.title.data)
        except CourseError as exc:
            fail(str(exc))
    return redirect(url_for("courses.admin_edit", course_id=course_id) + "#outline")


@roles_required(Role.ADMIN)
def chapter_action(chapter_id: int) -> Any:
    chapter = get_or_404(db.session, Chapter, chapter_id)
    form = ChapterActionForm()
    course_id = chapter.course_id
    if not form.validate_on_submit():
        form_errors(form)
    else:
        try:
            ops.update_chapter(db.session, chapter, form.action.data, form.title.data or "")
        except CourseError as exc:
            fail(str(exc))
    return redirect(url_for("courses.admin_edit", course_id=course_id) + "#outline")


def _lesson_form(course: Course, lesson: Lesson | None) -> LessonForm:
    form = (
        LessonForm(obj=lesson) if lesson is not None and request.method == "GET" else LessonForm()
    )
    form.chapter_id.choices = [(c.id, c.title) for c in course.chapters]
    if request.method == "GET" and lesson is None and request.args.get("chapter", type=int):
        form.chapter_id.data = request.args.get("chapter", type=int)
    return form


def _save_lesson(course: Course, lesson: Lesson | None, form: LessonForm) -> Lesson | None:
    chapter = db.session.get(Chapter, form.chapter_id.data)
    if chapter is None or chapter.course_id != course.id:
        fail(_("Choose a chapter of this course."))
        return None
    try:
        return ops.save_lesson(
            db.session,
            chapter,
            lesson,
            title=form.title.data,
            kind=form.kind.data,
            minutes=form.minutes.data,
            markdown=form.markdown.data,
            video_url=form.video_url.data,
            upload=_upload(form.file),
            upload_root=upload_root(),
        )
    except CourseError as exc:
        fail(str(exc))
        return None


@roles_required(Role.ADMIN)
def lesson_new(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    if not course.chapters:
        fail(_("Add a chapter first."))
        return redirect(url_for("courses.admin_edit", course_id=course_id))
    form = _lesson_form(course, None)
    if form.validate_on_submit():
        lesson = _save_lesson(course, None, form)
        if lesson is not None:
            flash(_("Lesson added."), "success")
            return redirect(url_for("courses.admin_lesson_edit", lesson_id=lesson.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template("courses/admin/lesson_form.html", form=form, course=course, lesson=None)


@roles_required(Role.ADMIN)
def lesson_edit(lesson_id: int) -> Any:
    lesson = get_or_404(db.session, Lesson, lesson_id)
    course = lesson.course
    form = _lesson_form(course, lesson)
    if form.validate_on_submit():
        if _save_lesson(course, lesson, form) is not None:
            flash(_("Saved."), "success")
            return redirect(url_for("courses.admin_lesson_edit", lesson_id=lesson.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template(
        "courses/admin/lesson_form.html",
        form=form,
        course=course,
        lesson=lesson,
        material_form=MaterialForm(formdata=None),
        action_form=ActionForm(),
    )


@roles_required(Role.ADMIN)
def lesson_action(lesson_id: int) -> Any:
    lesson = get_or_404(db.session, Lesson, lesson_id)
    course_id = lesson.course_id
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.action.data in ("up", "down"):
        ops.move_lesson(db.session, lesson, -1 if form.action.data == "up" else 1)
    elif form.action.data == "delete":
        ops.delete_lesson(db.session, lesson)
        flash(_("Lesson deleted."), "success")
    else:
        abort(400)
    return redirect(url_for("courses.admin_edit", course_id=course_id) + "#outline")


@roles_required(Role.ADMIN)
def material_add(lesson_id: int) -> Any:
    lesson = get_or_404(db.session, Lesson, lesson_id)
    form = MaterialForm()
    if not form.validate_on_submit():
        form_errors(form)
    else:
        try:
            ops.add_material(
                db.session,
                lesson.course,
                lesson,
                form.title.data or "",
                _upload(form.file),
                upload_root(),
            )
        except CourseError as exc:
            fail(str(exc))
        else:
            flash(_("File attached."), "success")
    return redirect(url_for("courses.admin_lesson_edit", lesson_id=lesson_id))


@roles_required(Role.ADMIN)
def material_delete(material_id: int) -> Any:
    material = get_or_404(db.session, Material, material_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    lesson_id, course_id = material.lesson_id, material.course_id
    ops.delete_material(db.session, material)
    return redirect(
        url_for("courses.admin_lesson_edit", lesson_id=lesson_id)
        if lesson_id
        else url_for("courses.admin_edit", course_id=course_id)
    )


# --- quiz and questions -----------------------------------------------------------------------


@roles_required(Role.ADMIN)
def quiz(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = QuizForm(obj=course.quiz) if request.method == "GET" else QuizForm()
    if request.method == "GET" and course.quiz is not None:
        form.draw_size.data = course.quiz.draw_size
    if form.validate_on_submit():
        try:
            ops.set_quiz(
                db.session,
                course,
                pass_mark=form.pass_mark.data,
                time_limit=form.time_limit_minutes.data,
                attempt_limit=form.attempt_limit.data,
                draw_size=form.draw_size.data,
                review_policy=form.review_policy.data,
                lessons_first=bool(form.lessons_first.data),
            )
        except CourseError as exc:
            fail(str(exc))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("courses.admin_quiz", course_id=course_id))
    elif request.method == "POST":
        form_errors(form)
    return render_template(
        "courses/admin/quiz.html",
        course=course,
        form=form,
        kinds=QUESTION_KINDS,
        action_form=ActionForm(),
    )


def _answer_from(form: QuestionForm) -> Any:
    kind = form.kind.data
    if kind in ("single", "multiple"):
        raw = (form.correct_options.data or "").replace("，", ",").replace(" ", ",")
        numbers = [p for p in raw.split(",") if p]
        if not all(whole_number(p, maximum=1000) for p in numbers):
            raise CourseError(_("Give the right options as numbers, e.g. 1, 3."))
        return [int(p) - 1 for p in numbers]
    if kind == "truefalse":
        if form.truth.data not in ("true", "false"):
            raise CourseError(_("Choose whether the statement is true or false."))
        return form.truth.data == "true"
    return [line.strip() for line in (form.accepted.data or "").splitlines() if line.strip()]


def _question_form(question: Question | None) -> QuestionForm:
    if question is None or request.method != "GET":
        return QuestionForm()
    form = QuestionForm(obj=question)
    form.options.data = "\n".join(question.options or [])
    if question.kind in ("single", "multiple"):
        form.correct_options.data = ", ".join(str(i + 1) for i in question.answer)
    elif question.kind == "truefalse":
        form.truth.data = "true" if question.answer else "false"
    else:
        form.accepted.data = "\n".join(question.answer)
    return form


def _save_question(course: Course, question: Question | None, form: QuestionForm) -> bool:
    try:
        ops.save_question(
            db.session,
            course,
            question,
            kind=form.kind.data,
            text=form.text.data,
            options=(form.options.data or "").splitlines(),
            answer=_answer_from(form),
            explanation=form.explanation.data,
        )
    except CourseError as exc:
        fail(str(exc))
        return False
    return True


@roles_required(Role.ADMIN)
def question_new(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = _question_form(None)
    if form.validate_on_submit():
        if _save_question(course, None, form):
            flash(_("Question added."), "success")
            return redirect(url_for("courses.admin_quiz", course_id=course_id))
    elif request.method == "POST":
        form_errors(form)
    return render_template(
        "courses/admin/question_form.html", form=form, course=course, question=None
    )


@roles_required(Role.ADMIN)
def question_edit(question_id: int) -> Any:
    question = get_or_404(db.session, Question, question_id)
    course = question.course
    form = _question_form(question)
    if form.validate_on_submit():
        if _save_question(course, question, form):
            flash(_("Saved."), "success")
            return redirect(url_for("courses.admin_quiz", course_id=course.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template(
        "courses/admin/question_form.html", form=form, course=course, question=question
    )


@roles_required(Role.ADMIN)
def question_delete(question_id: int) -> Any:
    question = get_or_404(db.session, Question, question_id)
    course_id = question.course_id
    if not ActionForm().validate_on_submit():
        abort(400)
    deleted = ops.delete_question(db.session, question)
    flash(
        _("Question deleted.")
        if deleted
        else _("The question was used in attempts: it is retired instead of deleted."),
        "success",
    )
    return redirect(url_for("courses.admin_quiz", course_id=course_id))
