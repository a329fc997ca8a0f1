"""`flask backup create|verify|restore`: one archive of the database, uploads and search indexes.

The archive's layout and the restore's guarantees are described in `core.backup`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from ..db import db
from . import audit
from . import backup as ops

backup_cli = AppGroup(
    "backup", help="Back up and restore the database, the upload folder and the search indexes."
)

_ARCHIVE = click.Path(exists=True, dir_okay=False, path_type=Path)


@contextmanager
def _progress_bars() -> Iterator[ops.Progress]:
    """A byte-counting tqdm bar per stage (on a terminal only, like the other commands' bars)."""
    bars: dict[str, tqdm] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for previous in bars.values():
                previous.close()
            bar = bars[stage] = tqdm(
                total=total, desc=stage, unit="B", unit_scale=True, unit_divisor=1024, disable=None
            )
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


def _summary(manifest: ops.Manifest) -> str:
    revision = ", ".join(manifest.alembic_revision) or "none"
    return (
        f"made {manifest.created_at} by version {manifest.app_version or '?'}, "
        f"{manifest.engine} database at revision {revision}; "
        f"{len(manifest.files)} files, {manifest.total_size():,} bytes "
        f"({len(manifest.section_files(ops.UPLOADS))} uploaded, "
        f"{len(manifest.section_files(ops.SEARCH))} of search indexes)"
    )


@backup_cli.command("create")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Archive to write (default: <instance>/backups/expertpool-<UTC time>.tar.gz).",
)
def create_command(output: Path | None) -> None:
    """Write a .tar.gz of the database, the upload folder and the search indexes.

    Safe while the application runs: SQLite is copied with its online backup API, PostgreSQL
    with pg_dump, each index while its writers wait.
    """
    output = output or ops.default_archive_path(current_app)
    try:
        with _progress_bars() as progress:
            manifest = ops.create_backup(current_app, output, progress=progress)
    except ops.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {output}: {_summary(manifest)}")
    audit.set_actor(db.session, None, note="flask backup create")
    try:
        ops.audit_backup(db.session, output, manifest)
        db.session.commit()
    except SQLAlchemyError as exc:  # e.g. the backup taken before `flask db upgrade`
        db.session.rollback()
        reason = getattr(exc, "orig", None) or exc
        click.echo(f"warning: the backup is complete but not in the audit log: {reason!r}")


@backup_cli.command("verify")
@click.argument("archive", type=_ARCHIVE)
def verify_command(archive: Path) -> None:
    """Check every file of ARCHIVE against the checksums of its manifest."""
    try:
        with _progress_bars() as progress:
            manifest = ops.verify_backup(archive, progress=progress)
    except ops.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{archive} is intact: {_summary(manifest)}")


@backup_cli.command("restore")
@click.argument("archive", type=_ARCHIVE)
@click.option("--yes", is_flag=True, help="Really overwrite the current data.")
def restore_command(archive: Path, yes: bool) -> None:
    """Replace the database, uploads and search indexes with those in ARCHIVE.

    Verifies the archive first; refuses one made by a newer version of the application;
    upgrades one made by an older version. Stop the web server and the workers first.
    """
    try:
        targets = ops.restore_targets(current_app)
    except ops.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if not yes:
        lines = "\n".join(f"  - {target}" for target in targets)
        raise click.ClickException(
            f"Restoring {archive} overwrites:\n{lines}\n"
            "Nothing was changed. Stop the web server and the workers, then run again with "
            "--yes (`flask backup verify` shows what the archive holds)."
        )
    try:
        with _progress_bars() as progress:
            report = ops.restore_backup(current_app, archive, progress=progress)
    except ops.BackupError as exc:
        unchanged = "" if isinstance(exc, ops.UpgradeFailed) else "\nNothing was changed."
        raise click.ClickException(f"{exc}{unchanged}") from exc
    audit.set_actor(db.session, None, note="flask backup restore")
    ops.audit_restore(db.session, archive, report)
    db.session.commit()
    click.echo(f"Restored {archive}: {_summary(report.manifest)}")
    if report.upgraded_from is not None:
        revision = ", ".join(report.upgraded_from)
        click.echo(f"Upgraded the database from revision {revision} to this code's.")
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo("Restart the web server and the workers: they hold caches of the old data.")
