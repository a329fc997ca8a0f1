"""Account operations: creating users, roles, passwords, signing in and out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core import audit, signals
from ..core.access import Role, duty_conflict
from ..core.errors import OperationError
from ..db import savepoint, utcnow
from . import lockout, passwords, sessions
from .models import CorrectionRequest, LoginEvent, User, UserSession, verify_dummy


class AccountError(OperationError):
    """A refused account operation; the message is shown to the user, next to `field` if named."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# One answer for a taken user name and a taken e-mail: registration must not tell a visitor which
# accounts exist (README "Sign-in and sessions").
TAKEN = _l(
    "This user name or e-mail cannot be used for a new account. If you already have an account, "
    "sign in (or ask the administrator to reset your password)."
)


def find_login(session: Session, login: str) -> User | None:
    login = login.strip()
    return session.scalar(
        select(User).where(or_(User.username == login, func.lower(User.email) == login.lower()))
    )


@dataclass
class SignIn:
    """The outcome of a sign-in attempt: the user, or why not (never which account exists)."""

    user: User | None = None
    locked_until: dt.datetime | None = None


def authenticate(session: Session, login: str, password: str, config: Any) -> SignIn:
    """Check a sign-in, counting failures per account; the same work whether the account exists.

    An unknown name costs one password hash check like a known one (`verify_dummy`), so the time
    taken does not tell them apart; a locked account or name is refused before any check. Every
    attempt on a known account goes into its sign-in history and every attempt into the audit log.
    """
    user = find_login(session, login)
    key = lockout.key_for(user, login)
    until = lockout.locked_until(session, key)
    if until is not None:
        _record_attempt(session, user, login, "locked")
        return SignIn(locked_until=until)
    valid = user.check_password(password) if user is not None else verify_dummy(password)
    if not valid or user is None or not user.active:
        until = lockout.fail(session, key, config)
        _record_attempt(session, user, login, "failure" if until is None else "locked")
        return SignIn(locked_until=until)
    lockout.succeed(session, key)
    user.last_login_at = utcnow()
    _record_attempt(session, user, login, "success")
    return SignIn(user=user)


def _record_attempt(session: Session, user: User | None, login: str, outcome: str) -> None:
    ip, agent = sessions.client_address(), sessions.client_agent()
    if user is not None:
        session.add(LoginEvent(user_id=user.id, outcome=outcome, ip=ip, user_agent=agent))
    audit.set_actor(session, user if outcome == "success" else _Visitor(ip))
    audit.record(
        session,
        "login",
        outcome,
        {"login": [None, login[:64]], "user_id": [None, user.id if user else None]},
        note=f"{ip or '-'} {agent or '-'}"[:255],
    )


@dataclass
class _Visitor:
    """The actor of an attempt that signed nobody in, for the audit log."""

    ip: str | None
    id: None = None

    @property
    def username(self) -> str:
        return f"anonymous ({self.ip or '-'})"


def sign_out(session: Session, user: User, reason: str = "logout") -> None:
    """End the request's own session (sign-out)."""
    row = sessions.current(session)
    if row is not None:
        sessions.end(session, row, reason)
    audit.record(session, "session", reason, {"user_id": [None, user.id]})


def end_session(session: Session, user: User, row: UserSession, actor: User) -> None:
    """End one of the user's sessions from another (the person's sessions page)."""
    sessions.end(session, row, "signed_out")
    audit.record(
        session, "session", "signed_out", {"user_id": [None, user.id], "session": [None, row.id]}
    )


def end_sessions(session: Session, user: User, actor: User) -> int:
    """End the user's sessions: all but the actor's own when it is the person, else all."""
    own = user.id == actor.id
    current = sessions.current(session) if own else None
    keep = current.id if current is not None else None
    reason = "signed_out" if own else "administrator"
    ended = sessions.end_all(session, user.id, reason, keep=keep)
    audit.record(session, "session", reason, {"user_id": [None, user.id], "ended": [None, ended]})
    return ended


def unlock(session: Session, user: User) -> bool:
    """An administrator unlocks an account locked by failed sign-ins."""
    was_locked = lockout.unlock(session, user)
    audit.record(session, "login", "unlocked", {"user_id": [None, user.id]})
    return was_locked


def check_password_policy(password: str, *user_inputs: str | None) -> None:
    """Refuse a password the policy (`passwords.py`) refuses, saying every reason."""
    found = passwords.problems(password, user_inputs)
    if found:
        raise AccountError(" ".join(found))


def create_user(
    session: Session,
    *,
    username: str,
    name: str,
    email: str,
    password: str,
    roles: list[Role] | tuple[Role, ...] = (),
    **profile: str | None,
) -> User:
    """Create an account; refuses a username or e-mail already taken, a weak password
    or roles that break the separation of duties.

    The refusal of a taken name or e-mail does not say which of the two is taken (enumeration).
    """
    check_password_policy(password, username, email, name)
    refuse_taken(session, username, email, neutral=True)
    _check_duties({str(r) for r in roles})
    user = User(username=username, name=name, email=email.strip(), **profile)
    user.set_password(password)
    with _unique(session, username, email, neutral=True):
        for role in roles:
            user.grant(role)
        session.add(user)
    return user


def update_user(
    session: Session,
    user: User,
    *,
    username: str,
    name: str,
    email: str,
    password: str | None,
    active: bool | None = None,
) -> User:
    """Change an account's names, e-mail, (if given) password and enabled state in one flush;
    refuses a name or e-mail another account holds."""
    refuse_taken(session, username, email, other_than=user.id)
    with _unique(session, username, email, other_than=user.id):
        user.username, user.name, user.email = username, name, email.strip()
        if active is not None:
            user.active = active
        if password:
            reset_password(user, password)
    return user


def refuse_taken(
    session: Session,
    username: str,
    email: str,
    *,
    other_than: int | None = None,
    neutral: bool = False,
) -> None:
    """Refuse a username or e-mail (in any case) that another account holds.

    `neutral`: one answer whichever is taken, for new accounts (no account enumeration); an
    administrator editing an account is told which.
    """
    others = select(User.id).where(User.id != other_than) if other_than else select(User.id)
    if neutral:
        taken = or_(User.username == username, func.lower(User.email) == email.strip().lower())
        if session.scalar(others.where(taken)):
            raise AccountError(str(TAKEN), "username")
        return
    if session.scalar(others.where(User.username == username)):
        raise AccountError(str(_l("The username %(name)s is taken.", name=username)), "username")
    if session.scalar(others.where(func.lower(User.email) == email.strip().lower())):
        raise AccountError(str(_l("An account with this e-mail already exists.")), "email")


@contextmanager
def _unique(
    session: Session,
    username: str,
    email: str,
    *,
    other_than: int | None = None,
    neutral: bool = False,
) -> Iterator[None]:
    """Make the block's changes and flush them; a name taken meanwhile is refused the same way.

    The check before it cannot see an account another request is inserting at the same instant;
    the database's unique constraint then refuses ours. The changes are made inside a SAVEPOINT
    (opening one flushes what is pending, so they must come after it), which keeps the rest of
    the transaction usable: the refusal reads which value was taken and says so.
    """
    try:
        with savepoint(session):
            yield
            session.flush()
    except IntegrityError:
        refuse_taken(session, username, email, other_than=other_than, neutral=neutral)
        raise AccountError(
            str(_l("This account conflicts with one saved at the same moment. Try again."))
        ) from None


def register(
    session: Session,
    *,
    as_expert: bool,
    username: str,
    name: str,
    email: str,
    password: str,
    organisation: str | None = None,
    audience: str | None = None,
) -> User:
    """Self-registration: a trainee, or an expert applicant whose file the experts feature opens.

    Sends `user_registered`; the experts feature receives it and opens the applicant's technical
    file, so accounts never needs to know what an expert's file holds.
    """
    user = create_user(
        session,
        username=username,
        name=name,
        email=email,
        password=password,
        roles=[Role.EXPERT if as_expert else Role.TRAINEE],
        organisation=organisation or None,
        audience=audience,
    )
    try:
        with savepoint(session):  # an expert's file with this e-mail saved at the same moment
            signals.user_registered.send(user, session=session, institution=organisation or None)
    except IntegrityError:
        raise AccountError(str(TAKEN), "email") from None
    return user


def _check_duties(roles: set[str]) -> None:
    """Separation of duties (三员分立): a duty role is held alone."""
    if duty_conflict(roles):
        raise AccountError(
            str(
                _l(
                    "The system administrator, security administrator and security auditor "
                    "roles must each be held by a separate account holding no other role."
                )
            )
        )


def change_password(user: User, current: str, new: str) -> None:
    """The person's own change; their other sessions end (`sessions`, on flush)."""
    if not user.check_password(current):
        raise AccountError(str(_l("The current password is wrong.")))
    if user.check_password(new):
        raise AccountError(str(_l("The new password must differ from the current one.")))
    check_password_policy(new, user.username, user.email, user.name)
    user.set_password(new)


def reset_password(user: User, new: str) -> None:
    """An administrator sets a password; every session of the account ends (on flush)."""
    check_password_policy(new, user.username, user.email, user.name)
    user.set_password(new)


def update_account(
    session: Session,
    user: User,
    actor: User,
    *,
    username: str,
    name: str,
    email: str,
    active: bool,
    password: str | None = None,
) -> None:
    """The system administrator's edit: identity, enabled or not, a password reset.

    Everything is checked before anything changes, so a refused edit saves nothing.
    """
    if user.id == actor.id and not active:
        raise AccountError(str(_l("You cannot disable your own account.")))
    if password:
        check_password_policy(password, username, email, name)
    update_user(
        session, user, username=username, name=name, email=email, password=password, active=active
    )


def set_roles(user: User, roles: list[str] | set[str], actor: User | None = None) -> None:
    """The security administrator's grant and revocation of roles (each one audited).

    Refuses a change of one's own roles (nobody grants themselves power, nor drops a duty
    unseen) and any set that breaks the separation of duties.
    """
    wanted = {Role(r) for r in roles}
    if actor is not None and actor.id == user.id and wanted != user.roles:
        raise AccountError(str(_l("You cannot change your own roles.")))
    _check_duties({str(r) for r in wanted})
    for role in Role:
        if role not in wanted:
            user.revoke(role)
    for role in sorted(wanted):
        user.grant(role)


# --- corrections of personal data (PIPL) ------------------------------------------------------

# The account's fields a person may ask to correct (they cannot edit them themselves).
CORRECTABLE = ("name", "email", "organisation", "province")
PENDING, ACCEPTED, REFUSED = "pending", "accepted", "refused"


def request_correction(
    session: Session, user: User, field: str, value: str, reason: str
) -> CorrectionRequest:
    """File a request to correct one field of the person's account; a reason is required."""
    if field not in CORRECTABLE:
        raise AccountError(str(_l("This field cannot be corrected here.")))
    value, reason = (value or "").strip(), (reason or "").strip()
    if not value or not reason:
        raise AccountError(str(_l("Give the correct value and a reason.")))
    item = CorrectionRequest(user_id=user.id, field=field, value=value, reason=reason)
    session.add(item)
    session.flush()
    return item


def decide_correction(
    session: Session, actor: User, item: CorrectionRequest, accept: bool, reason: str | None
) -> CorrectionRequest:
    """Accept (apply the value to the account, audited) or refuse with a reason."""
    if item.status != PENDING:
        raise AccountError(str(_l("This request was already decided.")))
    reason = (reason or "").strip() or None
    if not accept and not reason:
        raise AccountError(str(_l("A reason is required.")))
    if accept:
        _apply_correction(session, item.user, item.field, item.value)
    item.status = ACCEPTED if accept else REFUSED
    item.decided_by_id, item.decided_at, item.decision_reason = actor.id, utcnow(), reason
    session.flush()
    return item


def _apply_correction(session: Session, user: User, field: str, value: str) -> None:
    if field == "email":
        taken = session.scalar(
            select(User.id).where(func.lower(User.email) == value.lower(), User.id != user.id)
        )
        if taken:
            raise AccountError(str(_l("An account with this e-mail already exists.")))
    try:
        setattr(user, field, value)
    except ValueError as exc:  # an unknown province
        raise AccountError(str(exc)) from None
