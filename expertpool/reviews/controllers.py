"""Request handlers of the review workflow: parse, check access, call an operation, render."""

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
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core import errorpages, storage
from ..core.access import Role, login_required, roles_required
from ..core.pagination import page_arg, paginate_query
from ..core.requests import fail, get_or_404
from ..db import db
from ..experts.models import Expert
from ..submissions.constants import STATUS_LABELS as SUBMISSION_STATUS_LABELS
from . import notices, queries
from . import operations as ops
from .constants import (
    CRITERIA,
    CRITERION_LABELS,
    RECOMMENDATION_LABELS,
    STATUS_LABELS,
    VERDICT_LABELS,
    AssignmentStatus,
)
from .forms import AcceptForm, DeclineForm, DueDateForm, RateForm, ReviewForm, WithdrawForm
from .models import Assignment, Notification, Review


def _my_expert() -> Expert:
    expert = queries.expert_of(db.session, current_user)
    if expert is None:
        abort(404)
    return expert


def _my_assignment(assignment_id: int) -> Assignment:
    """The signed-in expert's own assignment; anyone else's is 404 (its existence stays private)."""
    assignment = get_or_404(db.session, Assignment, assignment_id)
    if assignment.expert.user_id != current_user.id:
        abort(404)
    return assignment


def _assignment_or_404(assignment_id: int) -> Assignment:
    return get_or_404(db.session, Assignment, assignment_id)


def _review_or_404(review_id: int) -> Review:
    return get_or_404(db.session, Review, review_id)


def _invalid(form: Any) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        fail(f"{label.text if label else name}: {'; '.join(map(str, errors))}")


def _stale(message: str) -> Response:
    return errorpages.conflict(message)


# --- the expert's pages -----------------------------------------------------------------------


@roles_required(Role.EXPERT)
def invitations() -> Any:
    expert = _my_expert()
    open_ = queries.of_expert(db.session, expert.id, (AssignmentStatus.INVITED,))
    answered = queries.of_expert(
        db.session,
        expert.id,
        (
            AssignmentStatus.ACCEPTED,
            AssignmentStatus.DECLINED,
            AssignmentStatus.WITHDRAWN,
            AssignmentStatus.COMPLETED,
        ),
    )
    forms = {
        a.id: (
            AcceptForm(formdata=None, version=a.version),
            DeclineForm(formdata=None, version=a.version),
        )
        for a in open_
    }
    return render_template(
        "reviews/invitations.html",
        open_=open_,
        answered=answered[:50],
        forms=forms,
        status_labels=STATUS_LABELS,
    )


@roles_required(Role.EXPERT)
def accept(assignment_id: int) -> Any:
    assignment = _my_assignment(assignment_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        _invalid(form)
        return redirect(url_for("reviews.invitations"))
    try:
        ops.accept(
            db.session,
            current_user,
            assignment,
            no_conflict=form.no_conflict.data,
            expected_version=form.expected_version(),
        )
    except ops.ReviewError as exc:
        fail(str(exc))
        return redirect(url_for("reviews.invitations"))
    flash(
        _(
            "Thank you: the invitation is accepted. The review is due on %(due)s.",
            due=assignment.due_date or "—",
        ),
        "success",
    )
    return redirect(url_for("reviews.review_form", assignment_id=assignment.id))


@roles_required(Role.EXPERT)
def decline(assignment_id: int) -> Any:
    assignment = _my_assignment(assignment_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        _invalid(form)
        return redirect(url_for("reviews.invitations"))
    try:
        ops.decline(
            db.session,
            current_user,
            assignment,
            form.reason.data,
            expected_version=form.expected_version(),
        )
    except ops.ReviewError as exc:
        fail(str(exc))
    else:
        flash(_("The invitation is declined. Thank you for letting us know."), "info")
    return redirect(url_for("reviews.invitations"))


@roles_required(Role.EXPERT)
def mine() -> Any:
    expert = _my_expert()
    current = queries.of_expert(db.session, expert.id, (AssignmentStatus.ACCEPTED,))
    done = queries.of_expert(db.session, expert.id, (AssignmentStatus.COMPLETED,))
    return render_template(
        "reviews/mine.html",
        current=current,
        done=done,
        today=dt.date.today(),
        recommendations=RECOMMENDATION_LABELS,
    )


@roles_required(Role.EXPERT)
def review_form(assignment_id: int) -> Any:
    assignment = _my_assignment(assignment_id)
    if assignment.status not in (AssignmentStatus.ACCEPTED, AssignmentStatus.COMPLETED):
        abort(404)
    review = assignment.review
    if request.method == "GET" or assignment.status == AssignmentStatus.COMPLETED:
        form = ReviewForm(formdata=None, obj=review)
        form.version.data = review.version if review else 0
        return _review_page(assignment, form)
    form = ReviewForm()
    if not form.validate_on_submit():
        _invalid(form)
        return _review_page(assignment, form), 400
    submit = request.form.get("action") == "submit"
    try:
        ops.save_review(
            db.session,
            current_user,
            assignment,
            form.data,
            submit=submit,
            expected_version=form.expected_version(),
        )
    except ops.StaleEdit as exc:
        return _stale(str(exc))
    except ops.ReviewError as exc:
        fail(str(exc))
        return _review_page(assignment, form), 400
    flash(_("Your review is submitted. Thank you.") if submit else _("Draft saved."), "success")
    return redirect(
        url_for("reviews.mine")
        if submit
        else url_for("reviews.review_form", assignment_id=assignment.id)
    )


def _review_page(assignment: Assignment, form: ReviewForm) -> str:
    return render_template(
        "reviews/review_form.html",
        assignment=assignment,
        form=form,
        review=assignment.review,
        criteria=CRITERIA,
        criterion_labels=CRITERION_LABELS,
        verdicts=VERDICT_LABELS,
        recommendations=RECOMMENDATION_LABELS,
        today=dt.date.today(),
    )


# An invited expert sees the submission and its dossier before answering, so they can judge a
# conflict of interest; after declining or being withdrawn, they no longer do.
DOSSIER_STATUSES = (AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED, AssignmentStatus.COMPLETED)


@roles_required(Role.EXPERT)
def invited_submission(assignment_id: int) -> Any:
    """The submission behind an invitation, for the invited expert only.

    Administrators read the full submission page (`submissions.detail`) instead: this one is the
    expert's view of their own invitation.
    """
    from ..submissions.constants import GRADE_LABELS, KIND_LABELS, REVIEW_TYPE_LABELS

    assignment = _assignment_or_404(assignment_id)
    if assignment.expert.user_id != current_user.id or assignment.status not in DOSSIER_STATUSES:
        abort(403)
    return render_template(
        "reviews/submission.html",
        assignment=assignment,
        s=assignment.submission,
        kinds=KIND_LABELS,
        review_types=REVIEW_TYPE_LABELS,
        grades=GRADE_LABELS,
        status_labels=STATUS_LABELS,
    )


@roles_required(Role.EXPERT)
def attachment(assignment_id: int, attachment_id: int) -> Any:
    """The dossier, for the invited expert (to judge a conflict) and while they review it."""
    from ..submissions.models import Attachment

    assignment = _my_assignment(assignment_id)
    if assignment.status not in DOSSIER_STATUSES:
        abort(404)
    item = get_or_404(db.session, Attachment, attachment_id, submission_id=assignment.submission_id)
    folder = current_app.config["UPLOAD_FOLDER"]
    return storage.send(folder, item.stored_path, name=item.filename, mime=item.content_type)


# --- the inbox --------------------------------------------------------------------------------


def _my_expert_id() -> int | None:
    return db.session.scalar(select(Expert.id).where(Expert.user_id == current_user.id))


@login_required
def inbox() -> Any:
    where = notices.inbox_filter(current_user, _my_expert_id())
    stmt = select(Notification).where(where).order_by(Notification.id.desc())
    page = paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])
    return render_template("reviews/inbox.html", page=page)


def _my_notification(notification_id: int) -> Notification:
    note = get_or_404(db.session, Notification, notification_id)
    mine = note.user_id == current_user.id or (
        note.expert_id is not None and note.expert_id == _my_expert_id()
    )
    if not mine:
        abort(404)
    return note


@login_required
def mark_read(notification_id: int) -> Any:
    note = _my_notification(notification_id)
    notices.mark_read([note])
    target = note.link or ""
    # Only paths inside this site: never an open redirect.
    if request.form.get("open") and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("reviews.inbox"))


@login_required
def mark_all_read() -> Any:
    where = notices.inbox_filter(current_user, _my_expert_id())
    notes = list(
        db.session.scalars(select(Notification).where(where, Notification.read_at.is_(None)))
    )
    flash(_("%(n)s messages marked as read.", n=notices.mark_read(notes)), "info")
    return redirect(url_for("reviews.inbox"))


# --- the administrator's pages ----------------------------------------------------------------


@roles_required(Role.ADMIN)
def board() -> Any:
    today = dt.date.today()
    status = request.args.get("status", "")
    overdue_only = request.args.get("overdue") == "1"
    short_only = request.args.get("short") == "1"
    unrated_only = request.args.get("unrated") == "1"
    stmt = queries.board_statement(
        status, overdue_only, today, short_only=short_only, unrated_only=unrated_only
    )
    page = paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])
    rows = queries.board_rows(db.session, list(page.items))
    counts = queries.board_counts(db.session, today)
    chart = {
        "labels": [
            str(STATUS_LABELS[AssignmentStatus(s)])
            for s in ("invited", "accepted", "completed", "declined", "withdrawn")
        ]
        + [_("Overdue")],
        "values": [
            counts[s]
            for s in ("invited", "accepted", "completed", "declined", "withdrawn", "overdue")
        ],
        "submissions": [f"#{r.submission.id}" for r in rows],
        # pairs, not a mapping: JSON serialisation sorts a mapping's keys, and the colours of
        # the stacked series follow this order (the same as the status chart's)
        "series": [
            [str(STATUS_LABELS[AssignmentStatus(s)]), [r.count(s) for r in rows]]
            for s in ("invited", "accepted", "completed", "declined")
        ],
        "name": _("Assignments"),
    }
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "reviews/board.html",
        page=page,
        rows=rows,
        counts=counts,
        chart=chart,
        today=today,
        status=status,
        overdue_only=overdue_only,
        short_only=short_only,
        unrated_only=unrated_only,
        args=args,
        status_labels=STATUS_LABELS,
        submission_status_labels=SUBMISSION_STATUS_LABELS,
    )


@roles_required(Role.ADMIN)
def review_detail(review_id: int) -> Any:
    review = _review_or_404(review_id)
    return render_template(
        "reviews/review_detail.html",
        review=review,
        assignment=review.assignment,
        rate_form=RateForm(formdata=None),
        criterion_labels=CRITERION_LABELS,
        verdicts=VERDICT_LABELS,
        recommendations=RECOMMENDATION_LABELS,
    )


@roles_required(Role.ADMIN)
def rate(review_id: int) -> Any:
    review = _review_or_404(review_id)
    form = RateForm()
    if not form.validate_on_submit():
        _invalid(form)
    else:
        try:
            ops.rate_review(db.session, current_user, review, form.rating.data, form.comment.data)
        except ops.ReviewError as exc:
            fail(str(exc))
        else:
            flash(_("Rating recorded in the expert's technical file."), "success")
    return redirect(url_for("reviews.review_detail", review_id=review.id))


def _back_to_submission(assignment: Assignment) -> Response:
    return redirect(url_for("submissions.detail", submission_id=assignment.submission_id))


@roles_required(Role.ADMIN)
def withdraw(assignment_id: int) -> Any:
    assignment = _assignment_or_404(assignment_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        _invalid(form)
        return _back_to_submission(assignment)
    try:
        invited = ops.withdraw(db.session, current_user, assignment, form.reason.data)
    except ops.ReviewError as exc:
        fail(str(exc))
    else:
        flash(
            _("%(name)s was taken off the panel.", name=assignment.expert.name)
            + (
                " " + _("%(name)s is invited instead.", name=invited.expert.name) if invited else ""
            ),
            "info",
        )
    return _back_to_submission(assignment)


@roles_required(Role.ADMIN)
def set_due(assignment_id: int) -> Any:
    assignment = _assignment_or_404(assignment_id)
    form = DueDateForm()
    if not form.validate_on_submit():
        _invalid(form)
        return _back_to_submission(assignment)
    try:
        ops.set_due_date(db.session, current_user, assignment, form.due_date.data)
    except ops.ReviewError as exc:
        fail(str(exc))
    else:
        flash(_("Due date changed."), "success")
    return _back_to_submission(assignment)
