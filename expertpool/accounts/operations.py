"""Account operations: creating users, roles, passwords."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core import signals
from ..core.access import Role
from ..core.errors import OperationError
from ..db import savepoint, utcnow
from .models import User


class AccountError(OperationError):
    """A refused account operation; the message is shown to the user, next to `field` if named."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
    refuse_taken(session, username, email)
    user = User(username=username, name=name, email=email.strip(), **profile)
    user.set_password(password)
    with _unique(session, username, email):
        for role in roles:
            user.grant(role)
        session.add(user)
    return user


def update_user(
    session: Session, user: User, *, username: str, name: str, email: str, password: str | None
) -> User:
    """Change an account's names, e-mail and (if given) password; refuses ones another holds."""
    refuse_taken(session, username, email, other_than=user.id)
    with _unique(session, username, email, other_than=user.id):
        user.username, user.name, user.email = username, name, email.strip()
        if password:
            user.set_password(password)
    return user


def refuse_taken(
    session: Session, username: str, email: str, *, other_than: int | None = None
) -> None:
    """Refuse a username or e-mail (in any case) that another account holds."""
    others = select(User.id).where(User.id != other_than) if other_than else select(User.id)
    if session.scalar(others.where(User.username == username)):
        raise AccountError(str(_l("The username %(name)s is taken.", name=username)), "username")
    if session.scalar(others.where(func.lower(User.email) == email.strip().lower())):
        raise AccountError(str(_l("An account with this e-mail already exists.")), "email")


@contextmanager
def _unique(
    session: Session, username: str, email: str, *, other_than: int | None = None
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
        refuse_taken(session, username, email, other_than=other_than)
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
        raise AccountError(
            str(_l("An account with this e-mail already exists.")), "email"
        ) from None
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError(str(_l("The current password is wrong.")))
    user.set_password(new)


def set_roles(user: User, roles: list[str]) -> None:
    wanted = {Role(r) for r in roles}
    for role in Role:
        (user.grant if role in wanted else user.revoke)(role)
