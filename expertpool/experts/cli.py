"""`flask experts import|import-publications|export`: bulk import and export from the command
line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.orm import undefer_group

from ..accounts.cli import administrator
from ..core import audit
from ..core.importing import import_options, run_import_command
from ..db import db
from . import exporter, importer, publication_importer
from .constants import CATEGORIES, Status
from .models import Expert
from .models.experts import PERSONAL_GROUP
from .queries import ExpertFilter

experts_cli = AppGroup("experts", help="Import and export experts.")


@experts_cli.command("import")
@import_options
def import_command(file: Path, encoding: str, dry_run: bool, username: str | None) -> None:
    """Import experts from an .xlsx or .csv file: every row, or none when any row is wrong."""
    run_import_command(importer, file, encoding, dry_run, administrator(username), "expert(s)")


@experts_cli.command("import-publications")
@import_options
def import_publications_command(
    file: Path, encoding: str, dry_run: bool, username: str | None
) -> None:
    """Import experts' publications from an .xlsx or .csv file: every row, or none."""
    run_import_command(
        publication_importer, file, encoding, dry_run, administrator(username), "publication(s)"
    )


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
@click.option(
    "--full-personal",
    is_flag=True,
    help="ID numbers and phones in full (masked otherwise); the audit log records it.",
)
@click.option("--as-user", "username", default=None, help="The administrator exporting.")
def export_command(
    file: Path,
    statuses: tuple[str, ...],
    category: int | None,
    locale: str,
    full_personal: bool,
    username: str | None,
) -> None:
    """Export experts to FILE (.xlsx or .csv, chosen by its extension); audited."""
    suffix = file.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise click.BadParameter("the file must end in .xlsx or .csv", param_hint="FILE")
    stmt = ExpertFilter(category=category, sort="id").statement()
    if statuses:
        stmt = stmt.where(Expert.status.in_(statuses))
    experts = list(db.session.scalars(stmt.options(undefer_group(PERSONAL_GROUP))))
    fmt = suffix[1:]
    actor = administrator(username) if username else None
    audit.record_export(
        db.session,
        exporter.EXPORT_TASK,
        len(experts),
        fmt=fmt,
        full_personal=full_personal,
        actor=actor,
    )
    db.session.commit()
    if suffix == ".xlsx":
        file.write_bytes(exporter.export_xlsx(experts, locale, full_personal))
    else:
        file.write_bytes(exporter.export_csv(experts, locale, full_personal))
    click.echo(f"Exported {len(experts)} expert(s) to {file}.")
