"""Account operations: creating users, roles, passwords."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..core import signals
from ..core.access import Role, duty_conflict
from ..core.errors import OperationError
from ..db import utcnow
from .models import User


class AccountError(OperationError):
    """A refused account operation; the message is shown to the user."""


def find_login(session: Session, login: str) -> User | None:
    login = login.strip()
    return session.scalar(
        select(User).where(or_(User.username == login, func.lower(User.email) == login.lower()))
    )


def authenticate(session: Session, login: str, password: str) -> User | None:
    user = find_login(session, login)
    if user is None or not user.active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


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
    """Create an account; refuses a username or e-mail already taken, or roles that clash."""
    _check_unique(session, None, username, email)
    _check_duties({str(r) for r in roles})
    user = User(username=username, name=name, email=email.strip(), **profile)
    user.set_password(password)
    for role in roles:
        user.grant(role)
    session.add(user)
    session.flush()
    return user


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
    signals.user_registered.send(user, session=session, institution=organisation or None)
    return user


def _check_unique(session: Session, user: User | None, username: str, email: str) -> None:
    others = select(User.id).where(User.id != user.id) if user else select(User.id)
    if session.scalar(others.where(User.username == username)):
        raise AccountError(str(_l("The username %(name)s is taken.", name=username)))
    if session.scalar(others.where(func.lower(User.email) == email.strip().lower())):
        raise AccountError(str(_l("An account with this e-mail already exists.")))


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
    if not user.check_password(current):
        raise AccountError(str(_l("The current password is wrong.")))
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
    _check_unique(session, user, username, email)
    if user.id == actor.id and not active:
        raise AccountError(str(_l("You cannot disable your own account.")))
    user.username, user.name, user.email, user.active = username, name, email.strip(), active
    if password:
        user.set_password(password)


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
