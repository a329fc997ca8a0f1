"""Request handlers of submissions: parse, check access, call an operation, render."""

from __future__ import annotations

from typing import Any

from flask import (
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
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..core import storage
from ..core.access import Role, roles_required
from ..core.errors import OperationError
from ..core.pagination import page_arg, paginate_query
from ..core.requests import fail, get_or_404, whole_number
from ..db import db
from ..experts.constants import CATEGORIES, category_label
from . import operations as ops
from .constants import GRADE_LABELS, KIND_LABELS, REVIEW_TYPE_LABELS, STATUS_LABELS
from .forms import AttachmentForm, SubmissionForm, WithdrawForm
from .models import Attachment, Submission
from .queries import SubmissionFilter


def _submission_or_404(submission_id: int) -> Submission:
    return get_or_404(db.session, Submission, submission_id)


def _upload_folder() -> str:
    return current_app.config["UPLOAD_FOLDER"]


# --- list -------------------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def index() -> Any:
    flt = SubmissionFilter.from_args(request.args)
    page = paginate_query(
        db.session, flt.statement(), page_arg(request.args), current_app.config["PER_PAGE"]
    )
    provinces = sorted(
        db.session.scalars(
            select(Submission.applicant_province)
            .distinct()
            .where(Submission.applicant_province.is_not(None))
        )
    )
    return render_template(
        "submissions/index.html",
        page=page,
        flt=flt,
        categories=CATEGORIES,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        provinces=provinces,
    )


# --- create and edit --------------------------------------------------------------------------


def _form(obj: Submission | None = None, formdata: Any = ...) -> SubmissionForm:
    kwargs: dict[str, Any] = {} if formdata is ... else {"formdata": formdata}
    form = SubmissionForm(obj=obj, **kwargs)
    locale = str(get_locale())
    form.category.choices = [("", "—")] + [(str(c), category_label(c, locale)) for c in CATEGORIES]
    if obj is not None and formdata is None:
        form.category.data = str(obj.category or "")
        for name in ("analytes", "methods", "applicant_people", "contact_people"):
            getattr(form, name).data = "\n".join(getattr(obj, name) or [])
        form.contact_emails.data = obj.contact_emails or ""
        form.applicant_institution.data = (
            obj.applicant_institution.name if obj.applicant_institution else ""
        )
        form.version.data = obj.version
    return form


def _data(form: SubmissionForm) -> dict[str, Any]:
    data = {
        k: (v.strip() or None) if isinstance(v, str) else v
        for k, v in form.data.items()
        if k not in ("csrf_token", "version")
    }
    data["category"] = whole_number(form.category.data)
    # The list fields stay typed text: `ops.normalise` splits them (`core.textlists`).
    return data


def _reference_clash(data: dict[str, Any], but: int | None = None) -> bool:
    reference = data.get("reference")
    if reference and ops.reference_taken(db.session, reference, but):
        fail(_("A submission with reference %(value)s is already registered.", value=reference))
        return True
    return False


@roles_required(Role.ADMIN)
def new() -> Any:
    form = _form()
    if form.validate_on_submit():
        data = _data(form)
        if not _reference_clash(data):
            try:
                submission = ops.create_submission(db.session, current_user, data)
            except ops.SubmissionError as exc:
                fail(str(exc))
            else:
                flash(_("Submission registered."), "success")
                return redirect(url_for("submissions.detail", submission_id=submission.id))
    return render_template("submissions/edit.html", form=form, submission=None)


@roles_required(Role.ADMIN)
def edit(submission_id: int) -> Any:
    submission = _submission_or_404(submission_id)
    if request.method == "GET":
        return render_template(
            "submissions/edit.html", form=_form(submission, None), submission=submission
        )
    form = _form()
    form.applicant_province.keep = submission.applicant_province  # may stay outside the vocabulary
    if form.validate_on_submit():
        data = _data(form)
        if not _reference_clash(data, submission.id):
            try:
                ops.update_submission(
                    db.session, current_user, submission, data, form.expected_version()
                )
            except ops.SubmissionError as exc:
                fail(str(exc))
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("submissions.detail", submission_id=submission.id))
    return render_template("submissions/edit.html", form=form, submission=submission), 400


# --- one submission ---------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def detail(submission_id: int) -> Any:
    """The submission's page; features above contribute to its slots (`submissions.detail.*`)."""
    submission = _submission_or_404(submission_id)
    return render_template(
        "submissions/detail.html",
        submission=submission,
        withdraw_form=WithdrawForm(formdata=None, version=submission.version),
        attachment_form=AttachmentForm(formdata=None),
        kinds=KIND_LABELS,
        review_types=REVIEW_TYPE_LABELS,
        grades=GRADE_LABELS,
        statuses=STATUS_LABELS,
    )


@roles_required(Role.ADMIN)
def withdraw(submission_id: int) -> Any:
    submission = _submission_or_404(submission_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        fail(_("A reason is required."))
        return redirect(url_for("submissions.detail", submission_id=submission.id))
    try:
        ops.withdraw_submission(
            db.session, current_user, submission, form.reason.data, form.expected_version()
        )
    except OperationError as exc:  # the submission's or a receiver's (reviews) refusal
        fail(str(exc))
    else:
        flash(_("Submission withdrawn."), "info")
    return redirect(url_for("submissions.detail", submission_id=submission.id))


@roles_required(Role.ADMIN)
def add_attachment(submission_id: int) -> Any:
    submission = _submission_or_404(submission_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        fail(_("Choose a file to attach."))
        return redirect(url_for("submissions.detail", submission_id=submission.id))
    upload = form.file.data
    try:
        attachment = ops.add_attachment(
            db.session,
            current_user,
            submission,
            upload.filename,
            upload.read(),
            _upload_folder(),
            upload.mimetype,
        )
    except ops.SubmissionError as exc:
        fail(str(exc))
    else:
        flash(
            _(
                "Attached %(name)s (%(chars)s characters of text for matching).",
                name=attachment.filename,
                chars=attachment.text_chars,
            ),
            "success",
        )
    return redirect(url_for("submissions.detail", submission_id=submission.id))


def _attachment_or_404(submission_id: int, attachment_id: int) -> Attachment:
    return get_or_404(db.session, Attachment, attachment_id, submission_id=submission_id)


@roles_required(Role.ADMIN)
def attachment(submission_id: int, attachment_id: int) -> Any:
    item = _attachment_or_404(submission_id, attachment_id)
    return storage.send(
        _upload_folder(), item.stored_path, name=item.filename, mime=item.content_type
    )


@roles_required(Role.ADMIN)
def remove_attachment(submission_id: int, attachment_id: int) -> Any:
    submission = _submission_or_404(submission_id)
    _attachment_or_404(submission_id, attachment_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        ops.remove_attachment(db.session, current_user, submission, attachment_id, _upload_folder())
    except ops.SubmissionError as exc:
        fail(str(exc))
    else:
        flash(_("Attachment removed."), "info")
    return redirect(url_for("submissions.detail", submission_id=submission.id))
