"""Request handlers of the expert pool: parse, check access, call an operation, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core import audit, exports
from ..core.access import Role, roles_required
from ..core.audit import AuditLog
from ..core.pagination import count_rows, page_arg, paginate_query
from ..core.requests import fail, get_or_404, safe_next
from ..db import db
from . import audit_queries, history, queries, violations
from . import operations as ops
from .constants import (
    CATEGORIES,
    EXPERT_SUBJECT,
    SPECIALTY_KINDS,
    STATUS_LABELS,
    Status,
    enum_label,
)
from .forms import (
    PART_FORMS,
    AdminProfileForm,
    AssessmentForm,
    DecisionForm,
    InstitutionForm,
    NewExpertForm,
    ProfileForm,
    ReviewFieldsForm,
    StatusForm,
    category_choices,
)
from .models import Expert, PendingChange

OFFICE_ONLY_ENTITIES = ("Violation",)  # audit rows the expert's own history leaves out


def _expert_or_404(expert_id: int) -> Expert:
    return get_or_404(db.session, Expert, expert_id)


def _editable(expert_id: int) -> Expert:
    """Administrators edit any file; an expert only their own."""
    expert = _expert_or_404(expert_id)
    if not current_user.is_admin and expert.user_id != current_user.id:
        abort(403)
    return expert


def _back(expert: Expert) -> Response:
    if current_user.is_admin:
        return redirect(url_for("experts.edit", expert_id=expert.id))
    return redirect(url_for("experts.my_file"))


# --- lists --------------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def index() -> Any:
    flt = queries.ExpertFilter.from_args(request.args)
    page = paginate_query(
        db.session, flt.statement(), page_arg(request.args), current_app.config["PER_PAGE"]
    )
    return render_template(
        "experts/index.html",
        page=page,
        flt=flt,
        categories=CATEGORIES,
        statuses=STATUS_LABELS,
        provinces=_provinces(),
    )


def _provinces() -> list[str]:
    rows = db.session.scalars(
        select(Expert.province).distinct().where(Expert.province.is_not(None))
    )
    return sorted(rows)


@roles_required(Role.ADMIN)
def export(fmt: str) -> Any:
    """The filtered list as a file; a long one is offered, then written by a background job."""
    from . import exporter

    if fmt not in exporter.FORMATS:
        abort(404)
    flt = queries.ExpertFilter.from_args(request.args)
    # ID numbers and phones are masked unless asked for in full; the audit row says which.
    full = request.args.get("personal") == "full"
    rows = count_rows(db.session, flt.statement())
    if exports.in_background(rows):
        if request.method != "POST":
            return exports.offer(_("Export %(n)s experts", n=rows), rows)
        args = {
            "args": request.args.to_dict(flat=False),
            "fmt": fmt,
            "locale": str(get_locale()),
            "full_personal": full,
        }
        return exports.start(exporter.EXPORT_TASK, args, f"{fmt.upper()} · {rows}")
    experts = db.session.scalars(exporter.statement(flt)).all()
    audit.record_export(db.session, exporter.EXPORT_TASK, len(experts), fmt=fmt, full_personal=full)
    return Response(
        exporter.build(experts, fmt, str(get_locale()), full),
        mimetype=exporter.FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={exporter.filename(fmt)}"},
    )


@roles_required(Role.ADMIN)
def new() -> Any:
    form = NewExpertForm()
    form.categories.choices = category_choices(str(get_locale()))
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version")}
        try:
            expert = ops.create_expert(db.session, current_user, data)
        except ops.ExpertError as exc:  # e.g. an ID number with a wrong check digit
            fail(str(exc))
            return render_template("experts/new.html", form=form), 400
        flash(_("Expert created."), "success")
        return redirect(url_for("experts.detail", expert_id=expert.id))
    return render_template("experts/new.html", form=form)


@roles_required(Role.ADMIN)
def vetting() -> Any:
    stmt = queries.vetting_statement()
    return render_template("experts/vetting.html", experts=db.session.scalars(stmt).all())


@roles_required(Role.ADMIN)
def warnings() -> Any:
    cfg = current_app.config
    return render_template(
        "experts/warnings.html",
        ending=queries.terms_ending(db.session, cfg["TERM_WARNING_DAYS"]),
        stale=queries.stale_files(db.session, cfg["STALE_FILE_YEARS"]),
        today=dt.date.today(),
    )


@roles_required(Role.ADMIN)
def coverage() -> Any:
    cov = queries.coverage(db.session, current_app.config["COVERAGE_MIN_PER_CATEGORY"])
    locale = str(get_locale())
    from ..core.provinces import province_label
    from .constants import category_label

    chart = {
        "provinces": [province_label(p, locale) for p in cov.provinces],
        "categories": [category_label(c, locale) for c in CATEGORIES],
        "cells": [[cov.provinces.index(p), c - 1, n] for (c, p), n in cov.matrix.items()],
        "perCategory": [cov.per_category[c] for c in CATEGORIES],
        "minimum": current_app.config["COVERAGE_MIN_PER_CATEGORY"],
        "status": [
            {"name": str(STATUS_LABELS[Status(s)]), "value": n}
            for s, n in cov.status_counts.items()
        ],
        "titles": [
            {"name": enum_label("title_grade", k), "value": v}
            for k, v in sorted(cov.title_counts.items())
        ],
        "ages": {"labels": list(cov.age_buckets), "values": list(cov.age_buckets.values())},
        "labels": {"experts": _("Active experts"), "minimum": _("Minimum")},
    }
    return render_template("experts/coverage.html", cov=cov, chart=chart)


@roles_required(Role.ADMIN)
def audit_log() -> Any:
    flt = audit_queries.AuditFilter.from_args(request.args)
    page = paginate_query(db.session, flt.statement(), page_arg(request.args), 50)
    ctx = audit_queries.history_context(db.session, page.items, lambda expert_id: True)
    return render_template(
        "experts/audit.html",
        page=page,
        entries=history.render(page.items, ctx),
        flt=flt,
        args=flt.as_args(),
        entity_types=audit_queries.entity_types(db.session),
        entity_labels=history.ENTITY_LABELS,
        actions=history.ACTIONS,
    )


# --- one expert's file --------------------------------------------------------------------


def _file_context(expert: Expert) -> dict[str, Any]:
    own = expert.user_id == current_user.id
    stmt = select(AuditLog).where(AuditLog.of_subject(EXPERT_SUBJECT, expert.id))
    if own or not current_user.is_admin:
        # Violation cases are the office's: the expert sees decided ones on their own page,
        # never a case under investigation or its internal note through the history.
        stmt = stmt.where(AuditLog.entity_type.not_in(OFFICE_ONLY_ENTITIES))
    rows = db.session.scalars(stmt.order_by(AuditLog.id.desc()).limit(200)).all()
    # The person sees their ID number and phone; an administrator sees them masked until they
    # ask to see one file's in full ("?personal=full"), and that look is audited. The history
    # holds them masked whoever reads it (core.audit).
    revealed = current_user.is_admin and request.args.get("personal") == "full" and not own
    if revealed:
        audit.record_export(
            db.session, history.REVEAL, 1, subject=(EXPERT_SUBJECT, expert.id), full_personal=True
        )
    can_see_personal = own or revealed
    ctx = audit_queries.history_context(db.session, rows, lambda expert_id: can_see_personal)
    return {
        "expert": expert,
        "history": history.render(rows, ctx),
        "pending": ops.pending_changes(expert),
        "can_see_personal": can_see_personal,
        "can_reveal": current_user.is_admin and not can_see_personal,
    }


@roles_required(Role.ADMIN)
def detail(expert_id: int) -> Any:
    expert = _expert_or_404(expert_id)
    status_form = StatusForm(version=expert.version)
    return render_template(
        "experts/detail.html",
        status_form=status_form,
        assessment_form=AssessmentForm(year=dt.date.today().year),
        actions=ops.allowed_actions(expert),
        open_cases=db.session.scalars(violations.open_cases(expert.id)).all(),
        **_file_context(expert),
    )


@roles_required(Role.EXPERT)
def my_file() -> Any:
    expert = db.session.scalar(select(Expert).where(Expert.user_id == current_user.id))
    if expert is None:
        abort(404)
    return _edit_page(expert)


@roles_required(Role.ADMIN, Role.EXPERT)
def edit(expert_id: int) -> Any:
    return _edit_page(_editable(expert_id))


def _edit_page(expert: Expert, **forms: Any) -> Any:
    locale = str(get_locale())
    profile_cls = AdminProfileForm if current_user.is_admin else ProfileForm
    profile = forms.get("profile") or profile_cls(obj=expert, formdata=None)
    review = forms.get("review") or ReviewFieldsForm(formdata=None, data=_review_data(expert))
    review.categories.choices = category_choices(locale)
    institution = forms.get("institution") or InstitutionForm(
        formdata=None, institution=expert.institution.name if expert.institution else ""
    )
    for form in (profile, review, institution):
        form.version.data = expert.version
    parts = {kind: cls(formdata=None) for kind, cls in PART_FORMS.items()}
    if current_user.is_admin and expert.user_id != current_user.id:
        # The profile form holds the ID number and phone in full: opening it is a look, logged.
        audit.record_export(
            db.session, history.REVEAL, 1, subject=(EXPERT_SUBJECT, expert.id), full_personal=True
        )
    return render_template(
        "experts/edit.html",
        profile=profile,
        review=review,
        institution_form=institution,
        parts=parts,
        **_file_context(expert),
    )


def _review_data(expert: Expert) -> dict[str, Any]:
    return {
        "categories": expert.category_codes,
        "analytes": "\n".join(expert.specialties_of("analyte")),
        "matrices": "\n".join(expert.specialties_of("matrix")),
        "techniques": "\n".join(expert.specialties_of("technique")),
        "metrology_competent": expert.metrology_competent,
    }


def _invalid(form: Any) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        fail(f"{label.text if label else name}: {'; '.join(map(str, errors))}")


@roles_required(Role.ADMIN, Role.EXPERT)
def save_profile(expert_id: int) -> Any:
    expert = _editable(expert_id)
    form = (AdminProfileForm if current_user.is_admin else ProfileForm)()
    if isinstance(form, AdminProfileForm):
        form.province.keep = expert.province  # a value outside the vocabulary may stay
    if not form.validate_on_submit():
        _invalid(form)
        return _back(expert)
    data = {
        k: (v or None) if isinstance(v, str) else v
        for k, v in form.data.items()
        if k not in ("csrf_token", "version")
    }
    data["name"] = form.name.data
    try:
        ops.update_ordinary(db.session, current_user, expert, data, form.expected_version())
    except ops.ExpertError as exc:
        fail(str(exc))
    else:
        flash(_("Saved."), "success")
    return _back(expert)


@roles_required(Role.ADMIN, Role.EXPERT)
def save_review_fields(expert_id: int) -> Any:
    expert = _editable(expert_id)
    form = ReviewFieldsForm()
    form.categories.choices = category_choices(str(get_locale()))
    if not form.validate_on_submit():
        _invalid(form)
        return _back(expert)
    fields = ops.ReviewFields(
        categories=form.categories.data,
        specialties={
            kind: getattr(form, attr).data or ""  # split by the operation (`core.textlists`)
            for kind, attr in zip(
                SPECIALTY_KINDS, ("analytes", "matrices", "techniques"), strict=True
            )
        },
        metrology_competent=form.metrology_competent.data,
    )
    try:
        change = ops.request_review_fields(
            db.session, current_user, expert, fields, form.expected_version()
        )
    except ops.ExpertError as exc:
        fail(str(exc))
    else:
        flash(
            _("Your change of review fields awaits an administrator's approval.")
            if change
            else _("Saved."),
            "info" if change else "success",
        )
    return _back(expert)


@roles_required(Role.ADMIN, Role.EXPERT)
def save_institution(expert_id: int) -> Any:
    expert = _editable(expert_id)
    form = InstitutionForm()
    if not form.validate_on_submit():
        _invalid(form)
        return _back(expert)
    try:
        change = ops.request_institution(
            db.session, current_user, expert, form.institution.data, form.expected_version()
        )
    except ops.ExpertError as exc:
        fail(str(exc))
    else:
        flash(
            _("Your change of institution awaits an administrator's approval.")
            if change
            else _("Saved."),
            "info" if change else "success",
        )
    return _back(expert)


@roles_required(Role.ADMIN, Role.EXPERT)
def add_part(expert_id: int, kind: str) -> Any:
    expert = _editable(expert_id)
    if kind not in PART_FORMS:
        abort(404)
    form = PART_FORMS[kind]()
    if not form.validate_on_submit():
        _invalid(form)
        return _back(expert)
    values = {k: v for k, v in form.data.items() if k != "csrf_token"}
    if kind == "conflict" and not (values.get("institution") or values.get("person_name")):
        fail(_("Name the institution or the person."))
        return _back(expert)
    try:
        ops.add_part(db.session, current_user, expert, kind, values)
    except ops.ExpertError as exc:
        fail(str(exc))
    else:
        flash(_("Added."), "success")
    return _back(expert)


@roles_required(Role.ADMIN, Role.EXPERT)
def remove_part(expert_id: int, kind: str, part_id: int) -> Any:
    expert = _editable(expert_id)
    if kind not in PART_FORMS:
        abort(404)
    from flask_wtf import FlaskForm

    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        ops.remove_part(db.session, current_user, expert, kind, part_id)
    except ops.ExpertError as exc:
        fail(str(exc))
    else:
        flash(_("Removed."), "success")
    return _back(expert)


@roles_required(Role.ADMIN)
def change_status(expert_id: int) -> Any:
    expert = _expert_or_404(expert_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            ops.change_status(
                db.session,
                current_user,
                expert,
                form.action.data,
                reason=form.reason.data,
                term_start=form.term_start.data,
                term_end=form.term_end.data,
                term_years=current_app.config["TERM_YEARS"],
                expected_version=form.expected_version(),
            )
        except ops.ExpertError as exc:
            fail(str(exc))
        else:
            flash(
                _("Status changed to %(status)s.", status=status_label_of(expert.status)), "success"
            )
    else:
        _invalid(form)
    back = url_for("experts.detail", expert_id=expert.id)
    return redirect(safe_next(request.form.get("next"), back))


def status_label_of(status: str) -> str:
    return str(STATUS_LABELS[Status(status)])


@roles_required(Role.ADMIN)
def assess(expert_id: int) -> Any:
    expert = _expert_or_404(expert_id)
    form = AssessmentForm()
    if form.validate_on_submit():
        try:
            ops.record_assessment(
                db.session,
                current_user,
                expert,
                form.kind.data,
                form.year.data,
                form.rating.data,
                form.comment.data or None,
            )
        except ops.ExpertError as exc:
            fail(str(exc))
        else:
            flash(_("Assessment recorded."), "success")
    else:
        _invalid(form)
    return redirect(url_for("experts.detail", expert_id=expert.id))


# --- pending changes ----------------------------------------------------------------------


@roles_required(Role.ADMIN)
def changes() -> Any:
    pending_only = request.args.get("status") == "pending"
    stmt = queries.changes_statement(pending_only).limit(300)
    return render_template(
        "experts/changes.html", changes=db.session.scalars(stmt).all(), pending_only=pending_only
    )


@roles_required(Role.ADMIN)
def change(change_id: int) -> Any:
    item = get_or_404(db.session, PendingChange, change_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            ops.decide_change(
                db.session, current_user, item, form.decision.data == "approve", form.reason.data
            )
        except ops.ExpertError as exc:
            fail(str(exc))
        else:
            flash(_("Decision recorded."), "success")
            return redirect(url_for("experts.changes"))
    return render_template("experts/change.html", change=item, form=form)
