"""`flask submissions import FILE`: bulk import from the command line, all rows or none."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..accounts.models import User
from ..core import audit
from ..db import db
from . import demo, importer  # noqa: F401  (demo: registers demo submissions)

submissions_cli = AppGroup("submissions", help="Import submissions.")


@submissions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
    default="utf-8",
    show_default=True,
    help="Encoding of a CSV file.",
)
@click.option("--dry-run", is_flag=True, help="Check the file, write nothing.")
@click.option("--as-user", "username", help="Administrator the import is recorded under.")
def import_command(file: Path, encoding: str, dry_run: bool, username: str | None) -> None:
    """Import submissions from an .xlsx, .csv or .json file: every row, or none."""
    actor = _administrator(username)
    audit.set_actor(db.session, actor)
    report = importer.validate(db.session, importer.parse(file.name, file.read_bytes(), encoding))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not report.ok:
        db.session.rollback()
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise click.ClickException(
            f"{len(report.errors)} error(s) in {file.name}; nothing was imported."
        )
    if dry_run:
        db.session.rollback()
        click.echo(f"{len(report.rows)} submission(s) would be imported (dry run).")
        return
    try:
        importer.commit(db.session, actor, report)
        db.session.commit()
    except importer.ImportRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {len(report.rows)} submission(s) from {file.name}.")


def _administrator(username: str | None) -> User | None:
    if username is None:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_admin:
        raise click.BadParameter(f"{username!r} is not an administrator", param_hint="--as-user")
    return user
