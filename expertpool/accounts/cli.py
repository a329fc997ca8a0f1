"""`flask users ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..core import audit
from ..core.access import Role
from ..db import db
from . import operations as ops
from .models import User

users_cli = AppGroup("users", help="Manage user accounts.")


def administrator(username: str | None) -> User | None:
    """The `--as-user` of a command: an administrator, or None for the system."""
    if not username:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user named {username!r}", param_hint="--as-user")
    if not user.is_admin:
        raise click.BadParameter(f"{username!r} is not an administrator", param_hint="--as-user")
    return user


ADMIN_ROLES = {
    "admin": (Role.ADMIN, "Administrator"),
    "sysadmin": (Role.SYSADMIN, "System administrator"),
    "secadmin": (Role.SECADMIN, "Security administrator"),
    "auditor": (Role.AUDITOR, "Security auditor"),
}


@users_cli.command("create-admin")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--name", default=None, help="Full name (defaults to the username).")
@click.option(
    "--role",
    type=click.Choice(sorted(ADMIN_ROLES)),
    default="admin",
    show_default=True,
    help="admin: the pool office (experts, reviews, training); sysadmin (系统管理员): accounts, "
    "jobs, backups; secadmin (安全管理员): roles, security settings; auditor (安全审计员): "
    "the audit log. Each of the last three on its own account.",
)
@click.password_option()
def create_admin(username: str, email: str, name: str | None, role: str, password: str) -> None:
    """Create an administrator account (the first of each duty role is made here)."""
    audit.set_actor(db.session, None, note="flask users create-admin")
    granted, title = ADMIN_ROLES[role]
    try:
        ops.create_user(
            db.session,
            username=username,
            name=name or username,
            email=email,
            password=password,
            roles=[granted],
        )
    except ops.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{title} {username} created.")
