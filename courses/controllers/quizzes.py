"""Quiz pages: overview, start, take (no answers in the page), submit, review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from expertpool.core.access import login_required
from expertpool.core.requests import get_or_404
from expertpool.db import db, utcnow

from .. import operations as ops
from .. import queries
from ..constants import OPEN, REVIEW_POLICIES
from ..errors import CourseError
from ..forms import ActionForm
from ..models import QuizAttempt
from .common import fail, visible_course


def _grace() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config.get("COURSES_QUIZ_GRACE_SECONDS", 30))


def _enrollment_or_redirect(slug: str) -> tuple[Any, Any, Any]:
    course = visible_course(slug)
    enrollment = queries.latest_enrollment(db.session, current_user.id, course.id)
    if enrollment is None:
        flash(_("Enrol in the course to take its quiz."), "info")
        return course, None, redirect(url_for("courses.course", slug=slug))
    return course, enrollment, None


@login_required
def quiz(slug: str) -> Any:
    course, enrollment, refusal = _enrollment_or_redirect(slug)
    if refusal is not None:
        return refusal
    if not course.has_quiz:
        abort(404)
    ops.expire_overdue(db.session, enrollment, grace=_grace())
    return render_template(
        "courses/quiz.html",
        course=course,
        quiz=course.quiz,
        enrollment=enrollment,
        attempts=queries.attempts_of(db.session, enrollment),
        remaining=queries.remaining_attempts(db.session, enrollment),
        passed=queries.quiz_passed(db.session, enrollment),
        bank_size=len(course.active_questions),
        pending=queries.lessons_pending(enrollment),
        policy=REVIEW_POLICIES.get(course.quiz.review_policy, ""),
        form=ActionForm(),
    )


@login_required
def quiz_start(slug: str) -> Any:
    course, enrollment, refusal = _enrollment_or_redirect(slug)
    if refusal is not None:
        return refusal
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        attempt = ops.start_attempt(db.session, enrollment, grace=_grace())
    except CourseError as exc:
        fail(str(exc))
        return redirect(
            url_for("courses.quiz", slug=slug)
            if course.has_quiz
            else url_for("courses.course", slug=slug)
        )
    return redirect(url_for("courses.attempt", slug=slug, attempt_id=attempt.id))


def _own_attempt(slug: str, attempt_id: int) -> tuple[Any, QuizAttempt]:
    course = visible_course(slug)
    attempt = get_or_404(db.session, QuizAttempt, attempt_id)
    if attempt.enrollment.course_id != course.id:
        abort(404)
    if attempt.enrollment.user_id != current_user.id and not current_user.is_admin:
        abort(404)
    return course, attempt


@login_required
def attempt(slug: str, attempt_id: int) -> Any:
    course, item = _own_attempt(slug, attempt_id)
    if item.status == OPEN:
        ops.expire_overdue(db.session, item.enrollment, grace=_grace())
    if item.status == OPEN:
        if item.enrollment.user_id != current_user.id:
            abort(404)  # an open sheet is only for its learner
        remaining = int((item.deadline - utcnow()).total_seconds()) if item.deadline else None
        # Only id, kind, text and options reach the template: answers cannot leak.
        return render_template(
            "courses/attempt.html",
            course=course,
            attempt=item,
            sheet=queries.answer_sheet(queries.questions_of(db.session, item)),
            remaining=remaining,
            field_name=queries.field_name,
            form=ActionForm(),
        )
    # Administrators look after the bank and may always see the answers; a learner sees them
    # only as the quiz's review policy allows (none of them otherwise reaches the template).
    reveal = current_user.is_admin or queries.reveals_answers(db.session, item)
    return render_template(
        "courses/attempt_review.html",
        course=course,
        attempt=item,
        review=queries.attempt_review(db.session, item, reveal=reveal),
        revealed=reveal,
        policy=course.quiz.review_policy if course.quiz else None,
        certificate=queries.certificate_of(db.session, item.enrollment_id),
    )


@login_required
def attempt_submit(slug: str, attempt_id: int) -> Any:
    _course, item = _own_attempt(slug, attempt_id)
    if item.enrollment.user_id != current_user.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        item, certificate = ops.submit_attempt(
            db.session, item, request.form.to_dict(flat=False), grace=_grace()
        )
    except CourseError as exc:
        fail(str(exc))
        return redirect(url_for("courses.attempt", slug=slug, attempt_id=attempt_id))
    if item.status != "submitted":
        flash(_("Time was up before your answers arrived: this attempt was not graded."), "warning")
    elif item.passed:
        flash(_("Passed with %(score)s%%.", score=f"{item.score:g}"), "success")
    else:
        flash(
            _(
                "Not passed (%(score)s%%; %(mark)s%% needed).",
                score=f"{item.score:g}",
                mark=item.pass_mark,
            ),
            "warning",
        )
    if certificate is not None:
        flash(
            _("Course completed. Your certificate %(code)s is ready.", code=certificate.code),
            "success",
        )
    return redirect(url_for("courses.attempt", slug=slug, attempt_id=attempt_id))
