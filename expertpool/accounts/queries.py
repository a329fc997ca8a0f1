"""Reads for the system and security administrators' pages and home parts."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..core.access import DUTY_ROLES, Role
from .models import User, UserRole


def role_counts(session: Session) -> dict[str, int]:
    """How many enabled accounts hold each role (every role listed, zero included)."""
    rows = session.execute(
        select(UserRole.role, func.count())
        .join(User)
        .where(User.active.is_(True))
        .group_by(UserRole.role)
    )
    counts = {str(r): 0 for r in Role}
    counts.update({role: n for role, n in rows})
    return counts


def missing_duties(counts: dict[str, int]) -> list[str]:
    """The duty roles no enabled account holds (a gap the security administrator must fill)."""
    return sorted(str(r) for r in DUTY_ROLES if not counts.get(str(r)))


def account_counts(session: Session) -> dict[str, int]:
    enabled = session.scalar(select(func.count()).where(User.active.is_(True)))
    total = session.scalar(select(func.count()).select_from(User))
    no_role = session.scalar(select(func.count()).select_from(User).where(~User.role_rows.any()))
    return {
        "enabled": enabled or 0,
        "disabled": (total or 0) - (enabled or 0),
        "no_role": no_role or 0,
    }


def users_with_role(role: str | None) -> Select[tuple[User]]:
    stmt = select(User).order_by(User.username)
    if role:
        stmt = stmt.where(User.role_rows.any(UserRole.role == role))
    return stmt
