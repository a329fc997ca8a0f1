"""`flask users ...` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.access import Role
from ..db import db
from . import operations as ops

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create-admin")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--name", default=None, help="Full name (defaults to the username).")
@click.password_option()
def create_admin(username: str, email: str, name: str | None, password: str) -> None:
    """Create an administrator account."""
    try:
        ops.create_user(
            db.session,
            username=username,
            name=name or username,
            email=email,
            password=password,
            roles=[Role.ADMIN],
        )
    except ops.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Administrator {username} created.")
