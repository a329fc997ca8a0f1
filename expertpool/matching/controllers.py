"""Matching pages: ranked candidates with explanations, one-click panels, review rounds."""

from __future__ import annotations

import dataclasses
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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core import provinces
from ..core.access import Role, roles_required
from ..core.assignment.constraints import CODES, possible_conflicts
from ..core.pagination import Page, page_arg
from ..core.requests import fail, get_or_404, whole_number
from ..db import db
from ..experts.models import Expert
from ..reviews.eligibility import expert_record, rules_from_config, submission_record
from ..reviews.operations import ReviewError, assign_panel
from ..reviews.queries import assigned_expert_ids
from ..submissions.models import Submission
from . import rounds as ops
from .assignments_csv import export_csv
from .forms import AssignForm, ConfirmForm, RoundForm
from .models import ReviewRound
from .service import rank

EXCLUSION_LABELS = {
    "not_active": _l("Not active in the pool"),
    "term_not_started": _l("Term not started"),
    "term_ended": _l("Term ended"),
    "unavailable": _l("Unavailable in the review window"),
    "same_institution": _l("Same institution as the applicant"),
    "declared_conflict": _l("Declared conflict of interest"),
    "developed_rm": _l("Took part in developing this RM"),
    "recent_employment": _l("Worked for the applicant recently"),
    "coauthor": _l("Recent co-author of a person of the applicant"),
    "shared_email_domain": _l("Same institutional e-mail domain as a contact of the applicant"),
    "advisor_student": _l("Declared advisor or student of a person of the applicant"),
    "load_cap": _l("Yearly review load reached"),
    "training_missing": _l("Required training missing"),
    "training_lapsed": _l("Required training lapsed (certificate expired)"),
    "category_mismatch": _l("Does not cover the category"),
    "under_investigation": _l("Under investigation for a violation"),
}
assert set(EXCLUSION_LABELS) == set(CODES)


# Candidates whose best texts the page quotes at once, besides the proposed panel and its
# alternates; the others' are one click away (`candidate_texts`). Quoting is most of a page's
# cost (reading and highlighting three texts a candidate): quoting 10 instead of 50 took a
# cold page from 83-100 to 37-46 ms in one process (BENCHMARKS.md, issue 11).
QUOTED_FIRST = 10


def _submission(submission_id: int) -> Submission:
    return get_or_404(db.session, Submission, submission_id)


@roles_required(Role.ADMIN)
def candidates(submission_id: int) -> Any:
    submission = _submission(submission_id)
    rules = rules_from_config(current_app.config)
    k = min(request.args.get("k", 50, type=int), 200)
    ranking = rank(
        db.session,
        submission,
        rules,
        k=k,
        skip_ids=assigned_expert_ids(db.session, submission.id),
        excluded_page=page_arg(request.args),
    )
    province = provinces.filter_value(request.args.get("province"))
    metrology_only = request.args.get("metrology") == "1"
    excluded = Page(
        ranking.excluded, ranking.excluded_page, ranking.excluded_per_page, ranking.excluded_total
    )
    pager_args = {
        "submission_id": submission.id,
        "province": province or None,
        "metrology": "1" if metrology_only else None,
        "k": request.args.get("k", type=int),
        "_anchor": "excluded",
    }
    shown = [
        c
        for c in ranking.candidates
        if (not province or c.expert.province == province)
        and (not metrology_only or c.expert.metrology_competent)
    ]
    form = AssignForm(
        formdata=None,
        members=list(ranking.panel.member_ids),
        alternates=[a.expert_id for a in ranking.panel.alternates],
    )
    quoted = {c.expert.id for c in shown[:QUOTED_FIRST]} | {*form.members.data}
    quoted |= {*form.alternates.data}
    ranking.quote(quoted)
    return render_template(
        "matching/candidates.html",
        submission=submission,
        ranking=ranking,
        shown=shown,
        quoted=quoted,
        form=form,
        excluded=excluded,
        pager_args=pager_args,
        labels=EXCLUSION_LABELS,
        provinces=sorted({c.expert.province for c in ranking.candidates if c.expert.province}),
        province=province,
        metrology_only=metrology_only,
    )


@roles_required(Role.ADMIN)
def candidate_texts(submission_id: int, expert_id: int) -> Any:
    """One candidate's best-matching texts, quoted: a fragment for the candidates page's
    "show" link (`?part=1`), or a page of its own where scripts do not run."""
    submission = _submission(submission_id)
    ranking = rank(
        db.session,
        submission,
        rules_from_config(current_app.config),
        k=200,  # the candidates page's largest list
        skip_ids=assigned_expert_ids(db.session, submission.id),
        among={expert_id},
    )
    candidate = ranking.candidate(expert_id)
    if candidate is None:  # excluded, assigned already, or not among the best 200
        abort(404)
    template = "matching/_quoted_texts.html" if request.args.get("part") == "1" else None
    return render_template(
        template or "matching/candidate_texts.html",
        submission=submission,
        candidate=candidate,
        texts=candidate.explanation.texts,
    )


@roles_required(Role.ADMIN)
def assign(submission_id: int) -> Any:
    submission = _submission(submission_id)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    ranking = rank(
        db.session,
        submission,
        rules_from_config(current_app.config),
        k=200,
        skip_ids=assigned_expert_ids(db.session, submission.id),
        among={*form.members.data, *form.alternates.data},  # only the chosen are looked at
    )
    chosen = _candidates(ranking, form.members.data)
    extra = _candidates(ranking, [e for e in form.alternates.data if e not in form.members.data])
    try:
        assign_panel(
            db.session,
            current_user,
            submission,
            chosen,
            extra,
            form.due_date.data,
            rules=ranking.rules,
        )
    except ReviewError as exc:
        fail(str(exc))
        return redirect(url_for("matching.candidates", submission_id=submission.id))
    flash(_("Invitations sent to %(n)s experts.", n=len(chosen)), "success")
    return redirect(url_for("submissions.detail", submission_id=submission.id))


def _candidates(ranking: Any, ids: list[int]) -> list[tuple[int, float, dict]]:
    out = []
    for expert_id in ids:
        candidate = ranking.candidate(expert_id)
        if candidate is None:  # not eligible (or not in the top 200): assign_panel refuses
            out.append((expert_id, 0.0, {}))
        else:
            out.append((expert_id, candidate.score, candidate.explanation.as_dict()))
    return out


@roles_required(Role.ADMIN)
def rounds() -> Any:
    stmt = (
        select(ReviewRound).options(selectinload(ReviewRound.job)).order_by(ReviewRound.id.desc())
    )
    items = db.session.scalars(stmt).all()
    return render_template("matching/rounds.html", rounds=items)


@roles_required(Role.ADMIN)
def new_round() -> Any:
    """The form; on submit the round is kept and its proposal queued as a job (no solving here)."""
    form = RoundForm()
    if form.validate_on_submit():
        rules = dataclasses.replace(
            rules_from_config(current_app.config),
            panel_size=form.panel_size.data,
            load_cap_per_round=form.load_cap_per_round.data,
        )
        try:
            round_ = ops.start(
                db.session,
                current_user,
                form.name.data,
                form.submissions.data,
                rules,
                fairness=form.fairness.data,
                due_date=form.due_date.data,
            )
        except ops.RoundError as exc:
            fail(str(exc))
        else:
            return redirect(url_for("matching.round", round_id=round_.id))
    open_items = ops.open_submissions(db.session)
    form.submissions.choices = [(s.id, s.title) for s in open_items]
    if request.method == "GET":
        form.submissions.data = [s.id for s in open_items]
        form.name.data = _("Review round of %(date)s", date=dt.date.today().isoformat())
    return render_template("matching/new_round.html", form=form, open_items=open_items)


def _round(round_id: int) -> ReviewRound:
    return get_or_404(db.session, ReviewRound, round_id)


@roles_required(Role.ADMIN)
def round_detail(round_id: int) -> Any:
    item = _round(round_id)
    if item.state != "proposed" and not item.proposal:
        # solving (live progress), failed or cancelled before a proposal existed
        return render_template("matching/round_solving.html", item=item, job=item.job)
    panels = item.proposal.get("panels", [])
    ids = {e for p in panels for e, _a in p["members"] + p["alternates"]}
    ids |= {w["expert_id"] for w in item.proposal.get("weakest", [])}
    experts = {e.id: e for e in db.session.scalars(select(Expert).where(Expert.id.in_(ids)))}
    subs = {
        s.id: s
        for s in db.session.scalars(
            select(Submission).where(Submission.id.in_([p["submission_id"] for p in panels]))
        )
    }
    chart = {
        "histogram": item.proposal.get("load_histogram", []),
        "affinity": [p["affinity"] for p in panels],
        "labels": {
            "experts": _("Experts"),
            "reviews": _("Reviews in this round"),
            "panels": _("Panels"),
            "affinity": _("Panel affinity"),
        },
    }
    return render_template(
        "matching/round.html",
        item=item,
        panels=panels,
        experts=experts,
        subs=subs,
        chart=chart,
        warnings=_member_warnings(panels, experts, subs, ops.round_rules(item)),
        form=ConfirmForm(version=item.version, invitations=ops.invitation_count(item)),
        invitations=ops.invitation_count(item),
        alternates=ops.alternate_count(item),
    )


def _member_warnings(
    panels: list[dict[str, Any]],
    experts: dict[int, Expert],
    subs: dict[int, Submission],
    rules: Any,
) -> dict[tuple[int, int], int]:
    """(submission, member) -> possible conflicts (a common name, initials, pinyin): the round's
    proposal already obeys every rule, these only ask the administrator to look."""
    today = dt.date.today()
    out = {}
    for panel in panels:
        submission = subs.get(panel["submission_id"])
        if submission is None or not submission.named_people:
            continue
        record = submission_record(submission)
        for expert_id, _affinity in panel["members"]:
            expert = experts.get(expert_id)
            if expert is None:
                continue
            found = possible_conflicts(
                expert_record(db.session, expert, today, load=0), record, rules, today
            )
            if found:
                out[(submission.id, expert_id)] = len(found)
    return out


@roles_required(Role.ADMIN)
def confirm_round(round_id: int) -> Any:
    item = _round(round_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    version = whole_number(form.version.data)
    expected = whole_number(form.invitations.data)
    try:
        created = ops.confirm(db.session, current_user, item, version, expected)
    except (ops.RoundError, ReviewError) as exc:
        fail(str(exc))
    else:
        flash(
            _("Round confirmed: %(n)s invitations and alternates created.", n=len(created)),
            "success",
        )
    return redirect(url_for("matching.round", round_id=item.id))


@roles_required(Role.ADMIN)
def retry_round(round_id: int) -> Any:
    item = _round(round_id)
    try:
        ops.retry(db.session, current_user, item)
    except ops.RoundError as exc:
        fail(str(exc))
    return redirect(url_for("matching.round", round_id=item.id))


@roles_required(Role.ADMIN)
def cancel_round(round_id: int) -> Any:
    item = _round(round_id)
    try:
        ops.cancel(db.session, current_user, item)
    except ops.RoundError as exc:
        fail(str(exc))
    return redirect(url_for("matching.rounds"))


@roles_required(Role.ADMIN)
def export_assignments() -> Any:
    round_id = request.args.get("round", type=int)
    name = f"assignments-round-{round_id}.csv" if round_id else "assignments.csv"
    return Response(
        export_csv(db.session, round_id),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
