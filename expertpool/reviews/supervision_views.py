"""Request handlers of review-quality supervision: the figures page, an expert's reviews, and
spot checks of the quality ratings. Administrators only."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..core.access import Role, roles_required
from ..core.audit import date_arg, filter_args
from ..core.features import slot_values
from ..core.requests import fail, get_or_404, whole_number
from ..db import db
from ..experts.constants import CATEGORIES
from ..experts.models import Expert
from . import spotchecks
from . import supervision as sv
from . import supervision_queries as q
from .constants import RECOMMENDATION_LABELS
from .forms import SecondRatingForm, SpotCheckForm
from .models import SpotCheck, SpotCheckItem

BIN_LABELS = {
    "early_15": _l("15+ days early"),
    "early_1_14": _l("1-14 days early"),
    "on_day": _l("On the due date"),
    "late_1_7": _l("1-7 days late"),
    "late_8_30": _l("8-30 days late"),
    "late_31": _l("31+ days late"),
}
ROUNDS_SLOT = "reviews.round_choices"  # providers return [(round id, name)], newest first


def round_choices() -> list[tuple[int, str]]:
    """The review rounds (the matching feature owns them and fills this slot)."""
    return [choice for provided in slot_values(ROUNDS_SLOT, None) for choice in provided]


def _filters() -> sv.Filters:
    args = request.args
    category = whole_number(args.get("category", ""))
    minimum = whole_number(args.get("min", ""), maximum=10_000)
    return sv.Filters(
        date_from=date_arg(args.get("from", "")),
        date_to=date_arg(args.get("to", "")),
        category=category if category in CATEGORIES else None,
        round_id=whole_number(args.get("round", "")),
        min_reviews=int(q.setting(current_app.config, "SUPERVISION_MIN_REVIEWS"))
        if minimum is None
        else max(minimum, 1),
    )


def _filter_args(filters: sv.Filters) -> dict[str, str]:
    return filter_args(
        {
            "from": filters.date_from,
            "to": filters.date_to,
            "category": filters.category,
            "round": filters.round_id,
            "min": filters.min_reviews,
        }
    )


@roles_required(Role.ADMIN)
def supervision() -> Any:
    filters = _filters()
    report = q.report(db.session, filters, current_app.config)
    experts = q.expert_names(db.session, [row.expert_id for row in report.experts])
    return render_template(
        "reviews/supervision.html",
        report=report,
        filters=filters,
        args=_filter_args(filters),
        experts=experts,
        rounds=round_choices(),
        categories=sorted(CATEGORIES),
        thresholds=q.thresholds(current_app.config),
        bin_labels=BIN_LABELS,
        **_chart_items(report),
    )


def _chart_items(report: sv.Report) -> dict[str, list[tuple[str, float, str]]]:
    """(label, value, shown) bars of the page's three charts."""
    from ..experts.blueprint import category_name

    ratings = report.overall.ratings
    return {
        "lateness_items": [(str(BIN_LABELS[k]), n, str(n)) for k, n in report.lateness_histogram],
        "rating_items": [
            (str(n), ratings.get(n, 0), str(ratings.get(n, 0))) for n in (5, 4, 3, 2, 1)
        ],
        "category_items": [
            (
                category_name(code),
                f.late_share,
                f"{f.late_share * 100:.0f}% ({f.late}/{f.with_due})",
            )
            for code, f in report.categories.items()
            if code is not None and f.late_share is not None
        ],
    }


@roles_required(Role.ADMIN)
def supervision_expert(expert_id: int) -> Any:
    expert = get_or_404(db.session, Expert, expert_id)
    filters = _filters()
    facts = q.expert_facts(db.session, expert.id, filters)
    figures = sv.figures(facts)
    # Flags compare the expert with the others shown on the supervision page.
    report = q.report(db.session, filters, current_app.config)
    row = next((r for r in report.experts if r.expert_id == expert.id), None)
    submissions = q.submissions_of(db.session, sorted({f.record.submission_id for f in facts}))
    return render_template(
        "reviews/supervision_expert.html",
        expert=expert,
        facts=facts,
        figures=figures,
        flags=row.flags if row else [],
        submissions=submissions,
        filters=filters,
        args=_filter_args(filters),
        recommendations=RECOMMENDATION_LABELS,
    )


# --- spot checks --------------------------------------------------------------------------------


def _spot_check_form(**data: Any) -> SpotCheckForm:
    form = SpotCheckForm(**data)
    form.round_id.choices = round_choices()
    return form


@roles_required(Role.ADMIN)
def spot_checks() -> Any:
    round_id = whole_number(request.args.get("round", ""))
    form = _spot_check_form(formdata=None, round_id=round_id)
    checks = spotchecks.recent(db.session, round_id)
    return render_template(
        "reviews/spot_checks.html",
        checks=checks,
        form=form,
        round_id=round_id,
        gap=int(q.setting(current_app.config, "SPOT_CHECK_GAP")),
        disagreements={c.id: len(spotchecks.disagreements(c)) for c in checks},
    )


@roles_required(Role.ADMIN)
def spot_check_new() -> Any:
    form = _spot_check_form()
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            fail(f"{getattr(form, name).label.text}: {'; '.join(map(str, errors))}")
        return redirect(url_for("reviews.spot_checks", round=form.round_id.data or None))
    names = dict(form.round_id.choices)
    try:
        check = spotchecks.draw(
            db.session,
            current_user,
            form.round_id.data,
            form.size.data,
            round_name=names.get(form.round_id.data, ""),
            seed=form.seed.data,
            gap=int(q.setting(current_app.config, "SPOT_CHECK_GAP")),
            note=form.note.data,
        )
    except spotchecks.SpotCheckError as exc:
        fail(str(exc))
        return redirect(url_for("reviews.spot_checks", round=form.round_id.data))
    flash(_("%(n)s reviews drawn (seed %(seed)s).", n=len(check.items), seed=check.seed), "success")
    return redirect(url_for("reviews.spot_check", check_id=check.id))


@roles_required(Role.ADMIN)
def spot_check(check_id: int) -> Any:
    check = get_or_404(db.session, SpotCheck, check_id)
    users = {check.created_by_id}
    for item in check.items:
        users |= {item.second_rated_by_id, item.review.quality_rated_by_id}
    return render_template(
        "reviews/spot_check.html",
        check=check,
        disagreements=spotchecks.disagreements(check),
        users=spotchecks.raters(db.session, users),
        form=SecondRatingForm(formdata=None),
        verdict=sv.verdict,
        bands=sv.VERDICT_BANDS,
    )


@roles_required(Role.ADMIN)
def spot_check_rate(item_id: int) -> Any:
    item = get_or_404(db.session, SpotCheckItem, item_id)
    form = SecondRatingForm()
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            fail(f"{getattr(form, name).label.text}: {'; '.join(map(str, errors))}")
    else:
        try:
            spotchecks.second_rating(
                db.session, current_user, item, form.rating.data, form.comment.data
            )
        except spotchecks.SpotCheckError as exc:
            fail(str(exc))
        else:
            flash(_("Second rating recorded."), "success")
    return redirect(url_for("reviews.spot_check", check_id=item.spot_check_id) + f"#item-{item.id}")
