"""Pages of the annual assessment: rounds, a round's drafts with filters and charts, an expert's
draft with the grade form, closing, the export; an expert's own closed results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..core import audit, exports
from ..core.access import Role, roles_required
from ..core.pagination import page_arg, paginate_query
from ..core.provinces import province_choices, province_label
from ..core.requests import fail, get_or_404
from ..db import db
from ..experts.constants import category_label
from ..experts.models import Expert
from ..experts.operations import ExpertError
from . import exporter, labels, queries
from . import operations as ops
from .forms import ActionForm, GradeForm, RoundForm
from .models import AssessmentDraft, AssessmentRound
from .rules import counts_by, stacked_bars

PER_PAGE = 50


@roles_required(Role.ADMIN)
def rounds() -> Any:
    form = RoundForm(formdata=None)

    form.year.data = dt.date.today().year - 1
    items = queries.rounds(db.session)
    return render_template(
        "assessment/rounds.html",
        rounds=items,
        counts={r.id: queries.round_counts(db.session, r.id) for r in items},
        form=form,
    )


@roles_required(Role.ADMIN)
def new_round() -> Any:
    form = RoundForm()
    if not form.validate_on_submit():
        fail(_("Give the year to assess."))
        return redirect(url_for("assessment.rounds"))
    try:
        round_ = ops.start_round(db.session, current_user, form.year.data)
    except ops.AssessmentError as exc:
        fail(str(exc))
        return redirect(url_for("assessment.rounds"))
    flash(_("Round started: the facts are being gathered."), "success")
    return redirect(url_for("assessment.round", round_id=round_.id))


def _chart(round_id: int, grades: list[str]) -> dict[str, Any]:
    locale = str(get_locale())
    rows = queries.graded_rows(db.session, round_id)
    by_category = counts_by(rows, "category")
    by_province = counts_by(rows, "province")
    name = {
        "category": lambda c: category_label(c, locale),
        "province": lambda p: province_label(p, locale) if p else _("Unknown"),
    }
    return {
        kind: [
            {**bar, "label": name[kind](bar["key"])} for bar in stacked_bars(counts, grades, 100.0)
        ]
        for kind, counts in (("category", by_category), ("province", by_province))
    }


@roles_required(Role.ADMIN)
def round_detail(round_id: int) -> Any:
    round_ = get_or_404(db.session, AssessmentRound, round_id)
    flt = queries.DraftFilter.from_args(request.args)
    page = paginate_query(db.session, flt.statement(round_.id), page_arg(request.args), PER_PAGE)
    grades = [code for code, _label in labels.grade_choices()]
    return render_template(
        "assessment/round.html",
        round=round_,
        counts=queries.round_counts(db.session, round_.id),
        page=page,
        flt=flt,
        grades=labels.grade_choices(),
        colours=dict(zip(grades, labels.COLOURS, strict=False)),
        chart=_chart(round_.id, grades) if round_.status != "gathering" else None,
        categories=[(c, category_label(c, str(get_locale()))) for c in range(1, 14)],
        provinces=province_choices(str(get_locale())),
        action_form=ActionForm(formdata=None),
    )


def _draft_page(draft: AssessmentDraft, form: GradeForm) -> Any:
    return render_template(
        "assessment/draft.html",
        draft=draft,
        round=draft.round,
        form=form,
        reasons=[labels.reason_text(code, value) for code, value in draft.suggestion_reasons or []],
    )


@roles_required(Role.ADMIN)
def draft(draft_id: int) -> Any:
    item = get_or_404(db.session, AssessmentDraft, draft_id)
    form = GradeForm()
    form.grade.choices = labels.grade_choices()
    if request.method == "GET":
        form.grade.data = item.grade or item.suggested_grade
        form.reason.data = item.reason
        form.version.data = str(item.version)
        return _draft_page(item, form)
    if not form.validate_on_submit():
        return _draft_page(item, form), 400
    try:
        ops.record_grade(
            db.session,
            current_user,
            item,
            form.grade.data,
            form.reason.data,
            expected_version=form.expected_version(),
        )
    except (ops.AssessmentError, ExpertError) as exc:
        fail(str(exc))
        return _draft_page(item, form), 400
    flash(_("Grade recorded."), "success")
    return redirect(_next_ungraded(item) or url_for("assessment.round", round_id=item.round_id))


def _next_ungraded(item: AssessmentDraft) -> str | None:
    """Grading goes on with the next expert without a grade, in the list's order."""
    stmt = queries.DraftFilter(grade="none").statement(item.round_id).limit(1)
    following = db.session.scalar(stmt)
    return url_for("assessment.draft", draft_id=following.id) if following else None


@roles_required(Role.ADMIN)
def regather(round_id: int) -> Any:
    round_ = get_or_404(db.session, AssessmentRound, round_id)
    if ActionForm().validate_on_submit():
        try:
            ops.queue_gathering(db.session, current_user, round_)
        except ops.AssessmentError as exc:
            fail(str(exc))
        else:
            flash(_("The facts are being gathered again; grades given are kept."), "info")
    return redirect(url_for("assessment.round", round_id=round_id))


@roles_required(Role.ADMIN)
def close(round_id: int) -> Any:
    round_ = get_or_404(db.session, AssessmentRound, round_id)
    if ActionForm().validate_on_submit():
        try:
            ops.queue_closing(db.session, current_user, round_)
        except (ops.AssessmentError, ExpertError) as exc:
            fail(str(exc))
        else:
            flash(
                _(
                    "The round is being closed: the grades enter the technical files and the "
                    "consequences are proposed for another administrator's approval."
                ),
                "info",
            )
    return redirect(url_for("assessment.round", round_id=round_id))


@roles_required(Role.ADMIN)
def export(round_id: int) -> Any:
    round_ = get_or_404(db.session, AssessmentRound, round_id)
    rows = queries.round_counts(db.session, round_.id)["total"]
    locale = str(get_locale())
    if exports.in_background(rows):
        if request.method != "POST":
            return exports.offer(_("Export the %(year)s assessment", year=round_.year), rows)
        args = {"round_id": round_.id, "locale": locale}
        return exports.start(exporter.EXPORT_TASK, args, f"XLSX · {rows}")
    drafts = queries.export_drafts(db.session, round_.id)
    audit.record_export(db.session, exporter.EXPORT_TASK, len(drafts), fmt="xlsx")
    return Response(
        exporter.workbook(round_, drafts, locale),
        mimetype=exporter.MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename={exporter.filename(round_)}"},
    )


@roles_required(Role.EXPERT)
def mine() -> Any:
    expert = db.session.scalar(select(Expert).where(Expert.user_id == current_user.id))
    if expert is None:
        abort(404)
    return render_template(
        "assessment/mine.html", expert=expert, results=queries.closed_results(db.session, expert.id)
    )
