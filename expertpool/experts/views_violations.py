"""Request handlers of violations (违规处理): the office's list and case pages, the expert's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..core.access import Role, roles_required
from ..core.pagination import page_arg, paginate_query
from ..core.requests import fail, get_or_404
from ..db import db
from . import violations as vio
from .forms import ObjectionAnswerForm, ObjectionForm, ViolationReportForm, ViolationStepForm
from .models import Expert, Violation


def _labels() -> dict[str, Any]:
    return {
        "state_labels": vio.STATE_LABELS,
        "kind_labels": vio.KIND_LABELS,
        "consequence_labels": vio.CONSEQUENCE_LABELS,
        "outcome_labels": vio.OUTCOME_LABELS,
    }


def _form_errors(form: Any) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        fail(f"{label.text if label else name}: {'; '.join(map(str, errors))}")


# --- the office ---------------------------------------------------------------------------


@roles_required(Role.ADMIN)
def index() -> Any:
    state = request.args.get("state", "")
    kind = request.args.get("kind", "")
    expert_id = request.args.get("expert", type=int)
    stmt = select(Violation).order_by(Violation.id.desc())
    if state in vio.STATES:
        stmt = stmt.where(Violation.state == state)
    elif state == "objection":  # objections waiting for an answer
        stmt = stmt.where(vio.objection_waiting())
    elif state == "open":  # everything the office has to act on (the home page's count)
        stmt = stmt.where(vio.waiting_for_office())
    if kind in vio.KINDS:
        stmt = stmt.where(Violation.kind == kind)
    if expert_id is not None:
        stmt = stmt.where(Violation.expert_id == expert_id)
    page = paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])
    counts = dict(
        db.session.execute(select(Violation.state, func.count()).group_by(Violation.state)).all()
    )
    by_state = [(s, vio.STATE_LABELS[s], counts.get(s, 0)) for s in vio.STATES]
    args = {k: v for k, v in {"state": state, "kind": kind, "expert": expert_id}.items() if v}
    return render_template(
        "experts/violations/index.html",
        page=page,
        state=state,
        kind=kind,
        args=args,
        by_state=by_state,
        most=max([n for _s, _l, n in by_state] + [1]),
        **_labels(),
    )


@roles_required(Role.ADMIN)
def new(expert_id: int) -> Any:
    expert = get_or_404(db.session, Expert, expert_id)
    form = ViolationReportForm()
    if form.validate_on_submit():
        upload = form.evidence_file.data
        evidence = vio.Evidence(upload.filename or "", upload.read()) if upload else None
        try:
            case = vio.report(
                db.session,
                current_user,
                expert,
                kind=form.kind.data,
                description=form.description.data,
                occurred_on=form.occurred_on.data,
                reporter=form.reporter.data,
                evidence=form.evidence.data,
                evidence_file=evidence,
                upload_folder=current_app.config["UPLOAD_FOLDER"],
                max_bytes=current_app.config["VIOLATION_EVIDENCE_MAX_BYTES"],
            )
        except vio.ViolationError as exc:
            fail(str(exc))
        else:
            flash(_("Violation recorded."), "success")
            return redirect(url_for("experts.violation", violation_id=case.id))
    elif request.method == "POST":
        _form_errors(form)
    return render_template("experts/violations/new.html", expert=expert, form=form)


@roles_required(Role.ADMIN)
def detail(violation_id: int) -> Any:
    case = get_or_404(db.session, Violation, violation_id)
    return render_template(
        "experts/violations/detail.html",
        case=case,
        steps=sorted(vio.STEPS[case.state]),
        step_form=ViolationStepForm(formdata=None),
        answer_form=ObjectionAnswerForm(formdata=None),
        **_labels(),
    )


@roles_required(Role.ADMIN)
def step(violation_id: int) -> Any:
    case = get_or_404(db.session, Violation, violation_id)
    form = ViolationStepForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("experts.violation", violation_id=case.id))
    name, note = form.step.data, form.note.data
    try:
        if name == "investigate":
            vio.investigate(db.session, current_user, case, note)
        elif name == "decide":
            vio.decide(
                db.session,
                current_user,
                case,
                decision=form.decision.data,
                consequence=form.consequence.data,
                note=note,
            )
        elif name == "dismiss":
            vio.dismiss(db.session, current_user, case, note)
        elif name == "note":
            vio.add_note(db.session, current_user, case, note)
        else:
            abort(400)
    except vio.ViolationError as exc:
        fail(str(exc))
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("experts.violation", violation_id=case.id))


@roles_required(Role.ADMIN)
def answer(violation_id: int) -> Any:
    case = get_or_404(db.session, Violation, violation_id)
    form = ObjectionAnswerForm()
    if form.validate_on_submit():
        try:
            vio.answer_objection(
                db.session, current_user, case, answer=form.answer.data, outcome=form.outcome.data
            )
        except vio.ViolationError as exc:
            fail(str(exc))
        else:
            flash(_("Answer recorded."), "success")
    else:
        _form_errors(form)
    return redirect(url_for("experts.violation", violation_id=case.id))


@roles_required(Role.ADMIN)
def evidence(violation_id: int) -> Any:
    case = get_or_404(db.session, Violation, violation_id)
    if not case.evidence_path:
        abort(404)
    return vio.evidence_response(case, current_app.config["UPLOAD_FOLDER"])


# --- the expert ---------------------------------------------------------------------------


def _my_expert() -> Expert:
    expert = db.session.scalar(select(Expert).where(Expert.user_id == current_user.id))
    if expert is None:
        abort(404)
    return expert


@roles_required(Role.EXPERT)
def mine() -> Any:
    """Decided cases about the signed-in expert, with the objection form while it is open."""
    expert = _my_expert()
    days = current_app.config["VIOLATION_OBJECTION_DAYS"]
    today = dt.date.today()
    cases = db.session.scalars(vio.visible_to_expert(expert.id)).all()
    return render_template(
        "experts/violations/mine.html",
        cases=cases,
        open_for={c.id for c in cases if vio.may_object(c, today, days)},
        deadline={
            c.id: vio.objection_deadline(c.decided_at.date(), days) for c in cases if c.decided_at
        },
        form=ObjectionForm(formdata=None),
        **_labels(),
    )


@roles_required(Role.EXPERT)
def object_to(violation_id: int) -> Any:
    case = get_or_404(db.session, Violation, violation_id)
    if case.expert.user_id != current_user.id or case.state != vio.DECIDED:
        abort(404)  # another expert's case, or one not decided: as if it did not exist
    form = ObjectionForm()
    if form.validate_on_submit():
        try:
            vio.object_to(
                db.session,
                current_user,
                case,
                form.reason.data,
                today=dt.date.today(),
                days=current_app.config["VIOLATION_OBJECTION_DAYS"],
            )
        except vio.ViolationError as exc:
            fail(str(exc))
        else:
            flash(_("Your objection was sent to the office."), "success")
    else:
        _form_errors(form)
    return redirect(url_for("experts.my_violations"))
