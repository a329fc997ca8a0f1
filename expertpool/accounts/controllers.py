"""Request handlers of the accounts feature: parse, check access, call an operation, render."""

from __future__ import annotations

import math
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
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
from ..core.requests import fail, get_or_404, safe_next
from ..db import db, utcnow
from ..extensions import limiter
from . import lockout, mydata, queries, sessions
from . import operations as ops
from .forms import (
    ROLE_CHOICES,
    ChangePasswordForm,
    CorrectionDecisionForm,
    CorrectionForm,
    LanguageForm,
    LoginForm,
    RegisterForm,
    RolesForm,
    UserForm,
)
from .models import CorrectionRequest, LoginEvent, User, UserSession


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


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
        attempt = ops.authenticate(
            db.session, form.username.data, form.password.data, current_app.config
        )
        if attempt.user is not None:
            return _sign_in(attempt.user)
        if attempt.locked_until is not None:
            flash(_locked_message(attempt.locked_until), "danger")
        else:
            flash(_("Wrong username or password."), "danger")
    return render_template("accounts/login.html", form=form)


def _fresh_session() -> None:
    """Nothing of the anonymous visit carries over into the signed-in session (no fixation)
    but the language the visitor chose: it is no secret, and losing it surprises."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _sign_in(user: User) -> Any:
    _fresh_session()
    sessions.start(db.session, user)
    login_user(user)
    if user.locale:
        session["locale"] = user.locale
    return redirect(_safe_next(request.args.get("next")))


def _locked_message(until: Any) -> str:
    minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
    return _(
        "Too many failed sign-ins: this account is locked for %(minutes)d minutes. "
        "An administrator can unlock it sooner.",
        minutes=minutes,
    )


@login_required
def logout() -> Any:
    ops.sign_out(db.session, current_user)
    logout_user()
    session.pop(sessions.COOKIE_KEY, None)
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@public
@limiter.limit(_register_limit, methods=["POST"])
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
            _fresh_session()
            sessions.start(db.session, user)
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
    form = ChangePasswordForm(user=current_user)
    if form.validate_on_submit():
        try:
            ops.change_password(current_user, form.current.data, form.password.data)
        except ops.AccountError as exc:
            fail(str(exc))
        else:
            flash(_("Your password was changed. Your other sessions were signed out."), "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/password.html", form=form)


@login_required
def my_sessions() -> Any:
    """The person's sign-in history and live sessions (登录记录)."""
    return render_template(
        "accounts/sessions.html",
        history=_history(current_user),
        live=sessions.live_sessions(db.session, current_user.id),
        current=sessions.current(db.session),
    )


def _history(user: User) -> Any:
    stmt = (
        select(LoginEvent)
        .where(LoginEvent.user_id == user.id)
        .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
    )
    return paginate_query(db.session, stmt, page_arg(request.args), current_app.config["PER_PAGE"])


@login_required
def end_my_session(session_id: int) -> Any:
    row = get_or_404(db.session, UserSession, session_id)
    if row.user_id != current_user.id:
        abort(404)
    ops.end_session(db.session, current_user, row, current_user)
    flash(_("The session was signed out."), "success")
    return redirect(url_for("accounts.my_sessions"))


@login_required
def end_my_other_sessions() -> Any:
    ended = ops.end_sessions(db.session, current_user, current_user)
    flash(_("%(n)d other session(s) signed out.", n=ended), "success")
    return redirect(url_for("accounts.my_sessions"))


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
            _refuse(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_edit.html", form=form, user=user, **_security(user))


def _security(user: User | None) -> dict[str, Any]:
    """What the user page shows of the account's sign-ins, sessions and lock."""
    if user is None:
        return {}
    return {
        "history": _history(user),
        "live": sessions.live_sessions(db.session, user.id),
        "locked_until": lockout.locked_until(db.session, lockout.key_for(user, "")),
    }


# Unlocking and signing out are account administration: the system administrator's, on the
# user page (the security administrator sets roles and reviews the policy).
@roles_required(Role.SYSADMIN)
def unlock_user(user_id: int) -> Any:
    user = get_or_404(db.session, User, user_id)
    ops.unlock(db.session, user)
    flash(_("The account is unlocked."), "success")
    return redirect(url_for("accounts.user_edit", user_id=user.id))


@roles_required(Role.SYSADMIN)
def end_user_sessions(user_id: int) -> Any:
    user = get_or_404(db.session, User, user_id)
    ended = ops.end_sessions(db.session, user, current_user)
    flash(_("%(n)d session(s) signed out.", n=ended), "success")
    return redirect(url_for("accounts.user_edit", user_id=user.id))


def _save_user(user: User | None, form: UserForm) -> User:
    """Every refusal comes before the first change, so a refused edit saves nothing."""
    if user is None:
        if not form.password.data:
            raise ops.AccountError(_("A new account needs a password."), "password")
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
            _refuse(form, exc)
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
        password_min=cfg["PASSWORD_MIN_LENGTH"],
        hmac_key=bool(cfg.get("AUDIT_HMAC_KEY")),
    )


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


# Corrections of accounts are account administration: the system administrator's.
@roles_required(Role.SYSADMIN)
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


@roles_required(Role.SYSADMIN)
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
