"""`flask experts import|export`: bulk import and export of experts from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from ..accounts.models import User
from ..core import audit
from ..db import db
from . import exporter, importer
from .constants import CATEGORIES, Status
from .models import Expert
from .queries import ExpertFilter

experts_cli = AppGroup("experts", help="Import and export experts.")


@experts_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
    default="utf-8",
    show_default=True,
    help="Encoding of a CSV file.",
)
@click.option("--dry-run", is_flag=True, help="Check the file, write nothing.")
@click.option(
    "--as-user",
    "username",
    help="Administrator the import is recorded under (default: the system).",
)
def import_command(file: Path, encoding: str, dry_run: bool, username: str | None) -> None:
    """Import experts from an .xlsx or .csv file: every row, or none when any row is wrong."""
    actor = _administrator(username)
    audit.set_actor(db.session, actor)
    parsed = importer.parse(file.name, file.read_bytes(), encoding)
    with tqdm(total=len(parsed.rows), desc="validate", unit="row") as bar:
        report = importer.validate(db.session, parsed, progress=lambda _row: bar.update())
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
        click.echo(f"{len(report.rows)} expert(s) would be imported (dry run: nothing written).")
        return
    _commit(actor, report)
    click.echo(f"Imported {len(report.rows)} expert(s) from {file.name}.")


def _administrator(username: str | None) -> User | None:
    if username is None:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user named {username!r}", param_hint="--as-user")
    if not user.is_admin:
        raise click.BadParameter(f"{username!r} is not an administrator", param_hint="--as-user")
    return user


def _commit(actor: User | None, report: importer.ImportReport) -> None:
    """Write every row, then commit once; a failure rolls everything back."""
    try:
        with tqdm(total=len(report.rows), desc="import", unit="row") as bar:
            importer.commit(db.session, actor, report, progress=lambda _row: bar.update())
        db.session.commit()
    except importer.ImportRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc


@experts_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in Status]),
    help="Only experts with this status (repeatable).",
)
@click.option(
    "--category",
    type=click.IntRange(min(CATEGORIES), max(CATEGORIES)),
    help="Only experts reviewing this GBW category (1-13).",
)
@click.option(
    "--locale",
    type=click.Choice(["zh_CN", "en"]),
    default="zh_CN",
    show_default=True,
    help="Language of headers and labels.",
)
def export_command(
    file: Path, statuses: tuple[str, ...], category: int | None, locale: str
) -> None:
    """Export experts to FILE (.xlsx or .csv, chosen by its extension)."""
    suffix = file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise click.BadParameter("the file must end in .xlsx or .csv", param_hint="FILE")
    stmt = ExpertFilter(category=category, sort="id").statement()
    if statuses:
        stmt = stmt.where(Expert.status.in_(statuses))
    experts = list(db.session.scalars(stmt))
    if suffix == ".xlsx":
        file.write_bytes(exporter.export_xlsx(experts, locale))
    else:
        file.write_bytes(exporter.export_csv(experts, locale))
    click.echo(f"Exported {len(experts)} expert(s) to {file}.")
