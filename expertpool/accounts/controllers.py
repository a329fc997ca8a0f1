"""Request handlers of the accounts feature: parse, check access, call an operation, render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..core.access import Role, login_required, public, roles_required
from ..core.pagination import page_arg, paginate_query
from ..core.requests import get_or_404
from ..db import db
from ..extensions import limiter
from . import operations as ops
from . import queries
from .forms import (
    PASSWORD_MIN,
    ROLE_CHOICES,
    ChangePasswordForm,
    LanguageForm,
    LoginForm,
    RegisterForm,
    RolesForm,
    UserForm,
)
from .models import User


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


# -- the system administrator (系统管理员): accounts, never their roles ----------------------------


@roles_required(Role.SYSADMIN)
def users() -> Any:
    stmt = select(User).order_by(User.username)
    page = paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])
    return render_template("accounts/users.html", page=page)


@roles_required(Role.SYSADMIN)
def user_edit(user_id: int | None = None) -> Any:
    user = get_or_404(db.session, User, user_id) if user_id else None
    form = UserForm(obj=user)
    if form.validate_on_submit():
        try:
            user = _save_user(user, form)
        except ops.AccountError as exc:
            g.rollback = True  # nothing of a refused edit is kept
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
        user.active = form.active.data
        return user
    ops.update_account(
        db.session,
        user,
        current_user,
        username=form.username.data,
        name=form.name.data,
        email=form.email.data,
        active=form.active.data,
        password=form.password.data or None,
    )
    return user


# -- the security administrator (安全管理员): roles and security settings ---------------------------


def role_label(role: str) -> str:
    return str(dict(ROLE_CHOICES).get(role, role))


@roles_required(Role.SECADMIN)
def roles() -> Any:
    role = request.args.get("role") if request.args.get("role") in set(Role) else None
    page = paginate_query(
        db.session,
        queries.users_with_role(role),
        page_arg(request.args),
        current_app.config["PER_PAGE"],
    )
    counts = queries.role_counts(db.session)
    return render_template(
        "accounts/roles.html",
        page=page,
        role=role,
        counts=counts,
        missing_labels="、".join(role_label(r) for r in queries.missing_duties(counts)),
    )


@roles_required(Role.SECADMIN)
def user_roles(user_id: int) -> Any:
    user = get_or_404(db.session, User, user_id)
    form = RolesForm()
    if request.method == "GET":
        form.roles.data = sorted(user.roles)
    if form.validate_on_submit():
        try:
            ops.set_roles(user, form.roles.data or [], current_user)
        except ops.AccountError as exc:
            g.rollback = True
            flash(str(exc), "danger")
        else:
            flash(_("Roles saved."), "success")
            return redirect(url_for("accounts.roles"))
    return render_template("accounts/user_roles.html", form=form, user=user)


# Settings the security administrator reviews (read-only here: they are deployment settings).
POLICY_SETTINGS = (
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_MIN_CLASSES",
    "LOGIN_RATE_LIMIT",
    "LOGIN_MAX_FAILURES",
    "LOGIN_LOCK_MINUTES",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "PERMANENT_SESSION_LIFETIME",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "AUDIT_RETENTION_DAYS",
)


@roles_required(Role.SECADMIN)
def security_policy() -> Any:
    cfg = current_app.config
    settings = [(name, cfg[name]) for name in POLICY_SETTINGS if name in cfg]
    return render_template(
        "accounts/policy.html",
        settings=settings,
        password_min=PASSWORD_MIN,
        hmac_key=bool(cfg.get("AUDIT_HMAC_KEY")),
    )
