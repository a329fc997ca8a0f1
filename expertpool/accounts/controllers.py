"""Request handlers of the accounts feature: parse, check access, call an operation, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..core import audit
from ..core.access import Role, login_required, public, roles_required
from ..core.errors import OperationError
from ..core.pagination import page_arg, paginate_query
from ..core.requests import fail, get_or_404
from ..db import db
from ..extensions import limiter
from . import mydata
from . import operations as ops
from .forms import (
    ChangePasswordForm,
    CorrectionDecisionForm,
    CorrectionForm,
    LanguageForm,
    LoginForm,
    RegisterForm,
    UserForm,
)
from .models import CorrectionRequest, User


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only same-site relative redirects after login."""
    if (
        target
        and not urlsplit(target).netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("main.home")


@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = ops.authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            flash(_("Wrong username or password."), "danger")
        else:
            login_user(user, remember=form.remember.data)
            if user.locale:
                session["locale"] = user.locale
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@login_required
def logout() -> Any:
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@public
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = _register(form)
        except ops.AccountError as exc:
            flash(str(exc), "danger")
        else:
            login_user(user)
            flash(_("Welcome! Your account is ready."), "success")
            if form.kind.data == "expert":
                return redirect(url_for("experts.my_file"))
            return redirect(url_for("main.home"))
    return render_template("accounts/register.html", form=form)


def _register(form: RegisterForm) -> User:
    return ops.register(
        db.session,
        as_expert=form.kind.data == "expert",
        username=form.username.data,
        name=form.name.data,
        email=form.email.data,
        password=form.password.data,
        organisation=form.organisation.data,
        audience=form.audience.data,
    )


@login_required
def password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(current_user, form.current.data, form.password.data)
        except ops.AccountError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("Your password was changed."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/password.html", form=form)


@public
def language() -> Any:
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            current_user.locale = form.locale.data
    return redirect(_safe_next(request.form.get("next")))


@roles_required(Role.ADMIN)
def users() -> Any:
    stmt = select(User).order_by(User.username)
    page = paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])
    return render_template("accounts/users.html", page=page)


@roles_required(Role.ADMIN)
def user_edit(user_id: int | None = None) -> Any:
    user = get_or_404(db.session, User, user_id) if user_id else None
    form = UserForm(obj=user)
    if request.method == "GET" and user:
        form.roles.data = sorted(user.roles)
    if form.validate_on_submit():
        try:
            user = _save_user(user, form)
        except ops.AccountError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_edit.html", form=form, user=user)


def _save_user(user: User | None, form: UserForm) -> User:
    if user is None:
        if not form.password.data:
            raise ops.AccountError(_("A new account needs a password."))
        user = ops.create_user(
            db.session,
            username=form.username.data,
            name=form.name.data,
            email=form.email.data,
            password=form.password.data,
        )
    else:
        user.username, user.name, user.email = form.username.data, form.name.data, form.email.data
        if form.password.data:
            user.set_password(form.password.data)
    if user.id == current_user.id and Role.ADMIN.value not in form.roles.data:
        raise ops.AccountError(_("You cannot remove your own administrator role."))
    ops.set_roles(user, form.roles.data)
    user.active = form.active.data
    return user


# --- the person's own data (PIPL) ---------------------------------------------------------------

MY_DATA_FORMATS = {
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@login_required
def my_data() -> Any:
    """What we hold about the signed-in person, its download, and requests to correct it."""
    offered = mydata.corrections(current_user)
    form = CorrectionForm()
    form.field.choices = [choice for c in offered for choice in c.fields]
    if form.validate_on_submit():
        target = next(c for c in offered if form.field.data in dict(c.fields))
        try:
            target.file(
                db.session, current_user, form.field.data, form.value.data, form.reason.data
            )
        except OperationError as exc:
            fail(str(exc))
        else:
            flash(_("Your request was sent to the administrators."), "success")
            return redirect(url_for("accounts.my_data"))
    sections = mydata.collect(current_user)
    requests = [r for c in offered for r in c.requests]
    return render_template("accounts/my_data.html", sections=sections, form=form, requests=requests)


@login_required
def my_data_export(fmt: str) -> Any:
    if fmt not in MY_DATA_FORMATS:
        abort(404)
    sections = mydata.collect(current_user)
    audit.record_export(
        db.session,
        mydata.EXPORT_NAME,
        mydata.row_count(sections),
        fmt=fmt,
        subject=("user", current_user.id),
        full_personal=True,
    )
    body = mydata.to_json(current_user, sections) if fmt == "json" else mydata.to_xlsx(sections)
    name = f"my-data-{current_user.username}.{fmt}"
    return Response(
        body,
        mimetype=MY_DATA_FORMATS[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@roles_required(Role.ADMIN)
def corrections() -> Any:
    """The queue of account corrections (experts' file corrections are change requests)."""
    items = db.session.scalars(
        select(CorrectionRequest)
        .order_by((CorrectionRequest.status == ops.PENDING).desc(), CorrectionRequest.id.desc())
        .limit(300)
    ).all()
    return render_template(
        "accounts/corrections.html", items=items, form=CorrectionDecisionForm(formdata=None)
    )


@roles_required(Role.ADMIN)
def correction_decide(item_id: int) -> Any:
    item = get_or_404(db.session, CorrectionRequest, item_id)
    form = CorrectionDecisionForm()
    if form.validate_on_submit():
        try:
            ops.decide_correction(
                db.session, current_user, item, form.decision.data == "accept", form.reason.data
            )
        except OperationError as exc:
            fail(str(exc))
        else:
            flash(_("Decision recorded."), "success")
    return redirect(url_for("accounts.corrections"))
