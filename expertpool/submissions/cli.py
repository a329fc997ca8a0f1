"""`flask submissions import FILE`: bulk import from the command line, all rows or none."""

from __future__ import annotations

from pathlib import Path

from flask.cli import AppGroup

from ..accounts.cli import administrator
from ..core.importing import import_options, run_import_command
from . import importer

submissions_cli = AppGroup("submissions", help="Import submissions.")


@submissions_cli.command("import")
@import_options
def import_command(file: Path, encoding: str, dry_run: bool, username: str | None) -> None:
    """Import submissions from an .xlsx, .csv or .json file: every row, or none."""
    run_import_command(importer, file, encoding, dry_run, administrator(username), "submission(s)")
