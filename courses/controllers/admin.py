"""Administration of learning: enrolments and assignments, certificates, reports, training."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from expertpool.accounts.models import User
from expertpool.core.access import Role, roles_required
from expertpool.core.pagination import page_arg, paginate_list
from expertpool.core.requests import get_or_404
from expertpool.db import db

from .. import operations as ops
from .. import queries, validity
from ..constants import AUDIENCES
from ..errors import CourseError
from ..forms import AssignForm, DueDateForm, RevokeForm
from ..models import Certificate, Course
from .common import fail, form_errors
from .learning import transcript_response

CERTIFICATES_PER_PAGE = 50


def _find_users(lines: str) -> tuple[list[User], list[str]]:
    logins = [raw.strip() for raw in lines.splitlines() if raw.strip()]
    return queries.users_by_login(db.session, logins)


def _report_assignment(result: ops.AssignResult) -> None:
    flash(
        _(
            "%(n)s enrolment(s) created, %(m)s already enrolled.",
            n=result.count,
            m=len(result.unchanged),
        ),
        "success",
    )
    for user, message in result.refused:
        flash(f"{user.name}: {message}", "warning")
    if result.without_account:
        flash(
            _(
                "Experts without a login (not assigned): %(names)s",
                names="、".join(result.without_account[:20])
                + ("…" if len(result.without_account) > 20 else ""),
            ),
            "warning",
        )


@roles_required(Role.ADMIN)
def enrolments(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = AssignForm()
    if form.validate_on_submit():
        users, unknown = _find_users(form.learners.data or "")
        if unknown:
            fail(_("Unknown users: %(names)s", names=", ".join(unknown)))
        else:
            _report_assignment(
                ops.assign(db.session, current_user, course, users, due_date=form.due_date.data)
            )
            return redirect(url_for("courses.admin_enrolments", course_id=course_id))
    elif request.method == "POST":
        form_errors(form)
    rows = queries.course_enrollments(db.session, course)
    states = {e.id: queries.progress(db.session, e) for e in rows}
    return render_template(
        "courses/admin/enrolments.html",
        course=course,
        rows=rows,
        states=states,
        form=form,
        experts_form=DueDateForm(formdata=None),
        today=dt.date.today(),
    )


@roles_required(Role.ADMIN)
def assign_experts(course_id: int) -> Any:
    course = get_or_404(db.session, Course, course_id)
    form = DueDateForm()
    if not form.validate_on_submit():
        form_errors(form)
    elif not course.is_published:
        fail(_("Publish the course before assigning it."))
    else:
        _report_assignment(
            ops.assign_required_to_experts(
                db.session, current_user, courses=[course], due_date=form.due_date.data
            )
        )
    return redirect(url_for("courses.admin_enrolments", course_id=course_id))


@roles_required(Role.ADMIN)
def certificate_list() -> Any:
    q = request.args.get("q", "").strip()
    state = request.args.get("state", "")
    if state in (validity.EXPIRING, validity.LAPSED):
        page = paginate_list(
            _certificates_in_state(state, q), page_arg(request.args), CERTIFICATES_PER_PAGE
        )
    else:
        state = ""
        page = queries.search_certificates(
            db.session, q, page_arg(request.args), CERTIFICATES_PER_PAGE
        )
    return render_template(
        "courses/admin/certificates.html",
        page=page,
        q=q,
        state=state,
        form=RevokeForm(formdata=None),
    )


def _certificates_in_state(state: str, q: str) -> list[Certificate]:
    """Open certificates expiring or lapsed (renewals due), matching `q` like the search."""
    window = int(current_app.config.get("TRAINING_EXPIRING_DAYS", validity.DEFAULT_WINDOW_DAYS))
    found = queries.recertification.in_state(
        queries.recertification.open_certificates(db.session), state, dt.date.today(), window
    )
    if q:
        needle = q.lower()
        found = [
            c for c in found if needle in f"{c.code} {c.learner_name} {c.course_title}".lower()
        ]
    return found


@roles_required(Role.ADMIN)
def revoke(certificate_id: int) -> Any:
    cert = get_or_404(db.session, Certificate, certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        form_errors(form)
    else:
        try:
            ops.revoke_certificate(db.session, current_user, cert, form.reason.data)
        except CourseError as exc:
            fail(str(exc))
        else:
            flash(_("Certificate %(code)s revoked.", code=cert.code), "success")
    return redirect(url_for("courses.admin_certificates", q=cert.code))


# --- reports ----------------------------------------------------------------------------------


def _audience_names() -> dict[str, str]:
    return {k: str(v) for k, v in AUDIENCES.items()} | {queries.reports.UNKNOWN: _("Not stated")}


@roles_required(Role.ADMIN)
def report() -> Any:
    figures = queries.reports.build(db.session)
    names = _audience_names()
    chart = {
        "months": figures.months,
        "enrolments": figures.enrolments_by_month,
        "completions": figures.completions_by_month,
        "courses": [c.title for c in figures.courses],
        "completionRate": [c.completion_rate for c in figures.courses],
        "passRate": [c.pass_rate for c in figures.courses],
        "audience": [
            {"name": names.get(k, k), "value": v} for k, v in figures.hours_by_audience.items()
        ],
        "provinces": list(figures.hours_by_province),
        "provinceHours": list(figures.hours_by_province.values()),
        "labels": {
            "enrolments": _("Enrolments"),
            "completions": _("Completions"),
            "completionRate": _("Completion rate (%)"),
            "passRate": _("Pass rate (%)"),
            "hours": _("Certified hours"),
        },
    }
    return render_template("courses/admin/reports.html", figures=figures, chart=chart, names=names)


@roles_required(Role.ADMIN)
def report_export() -> Any:
    figures = queries.reports.build(db.session)
    labels = {
        "courses": _("Courses"),
        "course": _("Course"),
        "enrolled": _("Enrolled"),
        "completed": _("Completed"),
        "completion_rate": _("Completion rate (%)"),
        "attempts": _("Quiz attempts"),
        "passed": _("Passed attempts"),
        "pass_rate": _("Pass rate (%)"),
        "month": _("Month"),
        "enrolments": _("Enrolments"),
        "completions": _("Completions"),
        "by_month": _("By month"),
        "audience": _("Audience"),
        "province": _("Province"),
        "hours": _("Certified hours"),
        "by_audience": _("Hours by audience"),
        "by_province": _("Hours by province"),
    }
    body = queries.reports.to_xlsx(figures, labels, _audience_names())
    stamp = dt.date.today().isoformat()
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=training-report-{stamp}.xlsx"},
    )


# --- required training ------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def required() -> Any:
    rule = queries.TrainingRule.from_config(current_app.config)
    missing = queries.experts_missing_training(db.session, rule=rule)
    return render_template(
        "courses/admin/required.html",
        courses=queries.required_courses(db.session),
        missing=missing,
        lapsed_count=sum(
            queries.training.overall_state(records) == queries.training.LAPSED_ONLY
            for _expert, records in missing
        ),
        rule=rule,
        form=DueDateForm(formdata=None),
        overview=queries.recertification.expiry_overview(
            db.session, dt.date.today(), rule.expiring_days
        ),
        reminder_days=validity.parse_days(current_app.config.get("TRAINING_REMINDER_DAYS")),
    )


@roles_required(Role.ADMIN)
def assign_required() -> Any:
    form = DueDateForm()
    if not form.validate_on_submit():
        form_errors(form)
    else:
        _report_assignment(
            ops.assign_required_to_experts(db.session, current_user, due_date=form.due_date.data)
        )
    return redirect(url_for("courses.admin_required"))


# --- a learner's record -----------------------------------------------------------------------


@roles_required(Role.ADMIN)
def learner(user_id: int) -> Any:
    user = get_or_404(db.session, User, user_id)
    return render_template(
        "courses/transcript.html", t=queries.transcript.build(db.session, user), own=False
    )


@roles_required(Role.ADMIN)
def learner_export(user_id: int, fmt: str) -> Any:
    user = get_or_404(db.session, User, user_id)
    return transcript_response(user, fmt)
