"""Route access declarations.

Every view declares who may use it with one of the decorators below; the app factory refuses
to start when a route has no declaration, and the route-by-role test reads the declarations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from ..extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
AUTHENTICATED = "authenticated"


class Role(StrEnum):
    ADMIN = "admin"  # the pool office's business administrator: experts, reviews, training
    EXPERT = "expert"
    TRAINEE = "trainee"
    # Separation of duties (三员分立, GB/T 22239-2019 level 3): three accounts run the system,
    # none able to do another's work, none a business administrator (docs/SEPARATION_OF_DUTIES.md).
    SYSADMIN = "sysadmin"  # 系统管理员: accounts (create, deactivate, reset), jobs, maintenance
    SECADMIN = "secadmin"  # 安全管理员: role grants, security settings, the password policy
    AUDITOR = "auditor"  # 安全审计员: reads, exports and verifies the audit log; nothing else


# An account holding one of these holds no other role (accounts.operations refuses it).
DUTY_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})


def duty_conflict(roles: Iterable[str]) -> bool:
    """True when `roles` combine a duty role with any other role."""
    held = set(roles)
    return bool(held & DUTY_ROLES) and len(held) > 1


def public(view: F) -> F:
    """Anyone, signed in or not."""
    view.__access__ = frozenset({PUBLIC})  # type: ignore[attr-defined]
    return view


def login_required(view: F) -> F:
    """Any signed-in user, whatever their roles."""
    return _guarded(view, frozenset({AUTHENTICATED}))


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Signed-in users holding at least one of `roles`."""
    if not roles:
        raise ValueError("roles_required needs at least one role")
    return lambda view: _guarded(view, frozenset(roles))


def _guarded(view: F, access: frozenset[str]) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if AUTHENTICATED not in access and not current_user.has_any_role(access):
            abort(403)
        return view(*args, **kwargs)

    wrapper.__access__ = access  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def access_of(view: Callable[..., Any]) -> frozenset[str] | None:
    return getattr(view, "__access__", None)


def undeclared_endpoints(
    view_functions: dict[str, Callable[..., Any]], exempt: Iterable[str] = ("static",)
) -> list[str]:
    """Endpoints that declare no access rule (the factory refuses to start with any)."""
    skip = set(exempt)
    return sorted(
        name
        for name, view in view_functions.items()
        if name not in skip and access_of(view) is None
    )
