"""Learner pages: catalogue, course, lessons, progress, my learning, transcript, certificates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from expertpool.core import audit, exports
from expertpool.core.access import login_required
from expertpool.core.pagination import page_arg, paginate_list
from expertpool.core.requests import get_or_404
from expertpool.db import db

from .. import operations as ops
from .. import queries, validity
from ..constants import AUDIENCES, HOUR_RANGES, LESSON_KINDS, LEVELS, TOPICS
from ..content import pdf_documents
from ..errors import CourseError
from ..forms import ActionForm
from ..models import Course, Enrollment, Lesson, Material
from .common import fail, stored_file, visible_course

CATALOGUE_PER_PAGE = 12


# --- catalogue and course page ----------------------------------------------------------------


@login_required
def catalogue() -> Any:
    flt = queries.CatalogueFilter.from_args(request.args)
    courses = queries.published_courses(db.session)
    popularity = queries.enrolment_counts(db.session)
    page = paginate_list(flt.apply(courses, popularity), page_arg(request.args), CATALOGUE_PER_PAGE)
    mine = {e.course_id: e for e in queries.enrollments_of(db.session, current_user.id)}
    return render_template(
        "courses/catalogue.html",
        page=page,
        flt=flt,
        facets=flt.facets(courses),
        mine=mine,
        topics=TOPICS,
        audiences=AUDIENCES,
        levels=LEVELS,
        hour_labels={
            k: _("%(range)s hours", range=label) for k, (_low, _high, label) in HOUR_RANGES.items()
        },
    )


@login_required
def course(slug: str) -> Any:
    course = visible_course(slug)
    enrollment = queries.latest_enrollment(db.session, current_user.id, course.id)
    state = queries.progress(db.session, enrollment) if enrollment else None
    certificate = queries.certificate_of(db.session, enrollment.id) if enrollment else None
    return render_template(
        "courses/course.html",
        course=course,
        enrollment=enrollment,
        progress=state,
        certificate=certificate,
        form=ActionForm(),
        missing=queries.missing_prerequisites(db.session, current_user, course),
        resume=queries.resume_lesson(enrollment) if enrollment else None,
        can_renew=bool(certificate and certificate.state() != validity.VALID),
        topics=TOPICS,
        audiences=AUDIENCES,
        levels=LEVELS,
        kinds=LESSON_KINDS,
    )


@login_required
def cover(slug: str) -> Any:
    course = visible_course(slug)
    return stored_file(course.cover_path, name=None, mime=None, attachment=False)


@login_required
def enrol(slug: str) -> Any:
    course = visible_course(slug)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        enrollment = ops.enrol(db.session, current_user, course)
    except CourseError as exc:  # e.g. PrerequisiteMissing, naming the missing course
        fail(str(exc))
        return redirect(url_for("courses.course", slug=slug))
    flash(_("You are enrolled in “%(title)s”.", title=course.title), "success")
    target = queries.resume_lesson(enrollment)
    return redirect(
        url_for("courses.lesson", slug=slug, lesson_id=target.id)
        if target
        else url_for("courses.course", slug=slug)
    )


@login_required
def resume(slug: str) -> Any:
    course = visible_course(slug)
    enrollment = queries.latest_enrollment(db.session, current_user.id, course.id)
    target = queries.resume_lesson(enrollment) if enrollment else None
    if target is None:
        return redirect(url_for("courses.course", slug=slug))
    return redirect(url_for("courses.lesson", slug=slug, lesson_id=target.id))


# --- lessons ----------------------------------------------------------------------------------


def _learning_access(course: Course) -> tuple[Enrollment | None, Any]:
    """(enrolment, None) when the user may open the course's lessons, else (None, redirect).

    Administrators preview any lesson without an enrolment (nothing is recorded for them).
    """
    enrollment = queries.latest_enrollment(db.session, current_user.id, course.id)
    if enrollment is None:
        if current_user.is_admin:
            return None, None
        flash(_("Enrol in the course to open its lessons."), "info")
        return None, redirect(url_for("courses.course", slug=course.slug))
    if not enrollment.is_completed:
        missing = queries.missing_prerequisites(db.session, current_user, course)
        if missing:
            flash(
                _(
                    "Complete the prerequisite course(s) first: %(names)s",
                    names="、".join(c.title for c in missing),
                ),
                "warning",
            )
            return None, redirect(url_for("courses.course", slug=course.slug))
    return enrollment, None


def _lesson_of(course: Course, lesson_id: int) -> Lesson:
    lesson = get_or_404(db.session, Lesson, lesson_id, course_id=course.id)
    return lesson


@login_required
def lesson(slug: str, lesson_id: int) -> Any:
    course = visible_course(slug)
    item = _lesson_of(course, lesson_id)
    enrollment, refusal = _learning_access(course)
    if refusal is not None:
        return refusal
    lessons = course.lessons
    index = lessons.index(item)
    row = enrollment.progress_of(item.id) if enrollment else None
    page = render_template(
        "courses/lesson.html",
        course=course,
        lesson=item,
        enrollment=enrollment,
        done_ids=enrollment.done_lesson_ids if enrollment else set(),
        progress_row=row,
        previous=lessons[index - 1] if index > 0 else None,
        next=lessons[index + 1] if index + 1 < len(lessons) else None,
        form=ActionForm(),
    )
    if enrollment is not None:  # after rendering: a lock it takes is held only until the commit
        ops.record_visit(db.session, enrollment, item)
    return page


@login_required
def lesson_file(slug: str, lesson_id: int) -> Any:
    course = visible_course(slug)
    item = _lesson_of(course, lesson_id)
    _enrollment, refusal = _learning_access(course)
    if refusal is not None:
        return refusal
    return stored_file(
        item.file_path,
        name=item.file_name,
        mime=item.file_mime,
        attachment=item.kind == "file" or request.args.get("download") == "1",
    )


@login_required
def material(slug: str, material_id: int) -> Any:
    course = visible_course(slug)
    item = get_or_404(db.session, Material, material_id, course_id=course.id)
    _enrollment, refusal = _learning_access(course)
    if refusal is not None:
        return refusal
    return stored_file(item.file_path, name=item.file_name, mime=item.mime, attachment=True)


@login_required
def lesson_done(slug: str, lesson_id: int) -> Any:
    course = visible_course(slug)
    item = _lesson_of(course, lesson_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    enrollment, refusal = _learning_access(course)
    if refusal is not None:
        return refusal
    if enrollment is None:  # an administrator previewing
        return redirect(url_for("courses.lesson", slug=slug, lesson_id=lesson_id))
    certificate = ops.mark_done(db.session, enrollment, item, done=form.action.data != "undo")
    if certificate is not None:
        flash(
            _("Course completed. Your certificate %(code)s is ready.", code=certificate.code),
            "success",
        )
        return redirect(url_for("courses.course", slug=slug))
    lessons = course.lessons
    index = lessons.index(item)
    if form.action.data != "undo" and index + 1 < len(lessons):
        return redirect(url_for("courses.lesson", slug=slug, lesson_id=lessons[index + 1].id))
    if (
        form.action.data != "undo"
        and course.has_quiz
        and not queries.quiz_passed(db.session, enrollment)
    ):
        flash(_("All lessons done? Take the final quiz to complete the course."), "info")
        return redirect(url_for("courses.quiz", slug=slug))
    return redirect(url_for("courses.lesson", slug=slug, lesson_id=lesson_id))


@login_required
def lesson_position(slug: str, lesson_id: int) -> Any:
    """Save the resume point inside a video (called by lesson.js every few seconds)."""
    course = visible_course(slug)
    item = _lesson_of(course, lesson_id)
    enrollment = queries.latest_enrollment(db.session, current_user.id, course.id)
    if enrollment is None:
        return jsonify({"saved": False}), 200
    seconds = request.form.get("position", type=float)
    if seconds is None:
        abort(400)
    ops.save_position(db.session, enrollment, item, seconds)
    return jsonify({"saved": True})


# --- my learning, transcript, certificates ----------------------------------------------------


@login_required
def my_learning() -> Any:
    enrollments = queries.enrollments_of(db.session, current_user.id)
    states = {e.id: queries.progress(db.session, e) for e in enrollments}
    certs = {c.enrollment_id: c for c in queries.certificates_of(db.session, current_user.id)}
    return render_template(
        "courses/my_learning.html",
        enrollments=enrollments,
        states=states,
        certs=certs,
        today=dt.date.today(),
    )


@login_required
def transcript() -> Any:
    return render_template(
        "courses/transcript.html", t=queries.transcript.build(db.session, current_user), own=True
    )


def transcript_response(user: Any, fmt: str) -> Any:
    """The transcript file; one with many courses is offered, then written by a background job."""
    if fmt not in queries.transcript.FORMATS:
        abort(404)
    rows = queries.transcript.count(db.session, user)
    if exports.in_background(rows):
        if request.method != "POST":
            return exports.offer(_("Training transcript of %(name)s", name=user.name), rows)
        args = {"user_id": user.id, "fmt": fmt, "locale": str(get_locale())}
        title = f"{user.username} · {fmt.upper()}"
        return exports.start(queries.transcript.EXPORT_TASK, args, title)
    t = queries.transcript.build(db.session, user)
    audit.record_export(
        db.session, queries.transcript.EXPORT_TASK, len(t.rows), fmt=fmt, subject=("user", user.id)
    )
    return Response(
        queries.transcript.render(t, fmt),
        mimetype=queries.transcript.FORMATS[fmt],
        headers={
            "Content-Disposition": "attachment; filename=" + queries.transcript.filename(user, fmt)
        },
    )


@login_required
def transcript_export(fmt: str) -> Any:
    return transcript_response(current_user, fmt)


def verify_url(code: str) -> str:
    """The certificate's public verification address (printed and in the QR code): under
    PUBLIC_BASE_URL when set (required in production), else on the request's host."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.strip().rstrip("/") + url_for("courses.verify", code=code)
    return url_for("courses.verify", code=code, _external=True)


@login_required
def certificate_pdf(code: str) -> Any:
    cert = queries.find_certificate(db.session, code)
    if cert is None:
        abort(404)
    if cert.user_id != current_user.id and not current_user.is_admin:
        abort(404)  # don't reveal that the code exists
    body = pdf_documents.certificate_pdf(
        learner_name=cert.learner_name,
        course_title=cert.course_title,
        hours=cert.hours,
        issued=cert.issued_at.date().isoformat(),
        code=cert.code,
        verify_url=verify_url(cert.code),
        revoked=cert.is_revoked,
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=certificate-{cert.code}.pdf"},
    )
