"""Account operations: creating users, roles, passwords."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..core import signals
from ..core.access import Role
from ..core.errors import OperationError
from ..db import utcnow
from .models import CorrectionRequest, User


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
    """Create an account; refuses a username or e-mail already taken."""
    if session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(str(_l("The username %(name)s is taken.", name=username)))
    if session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise AccountError(str(_l("An account with this e-mail already exists.")))
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


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError(str(_l("The current password is wrong.")))
    user.set_password(new)


def set_roles(user: User, roles: list[str]) -> None:
    wanted = {Role(r) for r in roles}
    for role in Role:
        (user.grant if role in wanted else user.revoke)(role)


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
