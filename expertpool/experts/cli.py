"""`flask experts import|export`: bulk import and export of experts from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..accounts.cli import administrator
from ..core.importing import import_options, run_import_command
from ..db import db
from . import exporter, importer
from .constants import CATEGORIES, Status
from .models import Expert
from .queries import ExpertFilter

experts_cli = AppGroup("experts", help="Import and export experts.")


@experts_cli.command("import")
@import_options
def import_command(file: Path, encoding: str, dry_run: bool, username: str | None) -> None:
    """Import experts from an .xlsx or .csv file: every row, or none when any row is wrong."""
    run_import_command(importer, file, encoding, dry_run, administrator(username), "expert(s)")


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
