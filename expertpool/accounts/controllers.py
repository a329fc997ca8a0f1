"""Request handlers of the accounts feature: parse, check access, call an operation, render."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..core.access import Role, login_required, public, roles_required
from ..core.errors import OperationError
from ..core.pagination import page_arg, paginate_query
from ..core.requests import fail, get_or_404, safe_next
from ..db import db
from ..extensions import limiter
from . import operations as ops
from .forms import ChangePasswordForm, LanguageForm, LoginForm, RegisterForm, UserForm
from .models import User


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only same-site relative redirects after login (`core.requests.safe_next`)."""
    return safe_next(target, url_for("main.home"))


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
        except OperationError as exc:  # also a receiver's, e.g. the experts' file
            _refuse(form, exc)
        else:
            login_user(user)
            flash(_("Welcome! Your account is ready."), "success")
            if form.kind.data == "expert":
                return redirect(url_for("experts.my_file"))
            return redirect(url_for("main.home"))
    return render_template("accounts/register.html", form=form)


def _refuse(form: Any, exc: OperationError) -> None:
    """Roll the request back and show the refusal next to its field (or above the form)."""
    field = getattr(form, getattr(exc, "field", None) or "", None)
    if field is None:
        fail(str(exc))
        return
    g.rollback = True
    field.errors = [*field.errors, str(exc)]


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
            fail(str(exc))
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
            _refuse(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_edit.html", form=form, user=user)


def _save_user(user: User | None, form: UserForm) -> User:
    """Every refusal comes before the first change, so a refused edit saves nothing."""
    if user is None and not form.password.data:
        raise ops.AccountError(_("A new account needs a password."), "password")
    if user is not None and user.id == current_user.id and Role.ADMIN.value not in form.roles.data:
        raise ops.AccountError(_("You cannot remove your own administrator role."), "roles")
    values = {"username": form.username.data, "name": form.name.data, "email": form.email.data}
    if user is None:
        user = ops.create_user(db.session, password=form.password.data, **values)
    else:
        ops.update_user(db.session, user, password=form.password.data, **values)
    ops.set_roles(user, form.roles.data)
    user.active = form.active.data
    return user
