"""`flask courses ...`: import course folders, assign required training, prune stored files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from expertpool.accounts.cli import administrator
from expertpool.core import audit, storage
from expertpool.db import db

from .operations import importer

courses_cli = AppGroup("courses", help="Training: course import and upkeep.")


@courses_cli.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Update courses whose slug already exists (otherwise they are refused).",
)
@click.option("--draft", is_flag=True, help="Leave new courses unpublished.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--as-user", "username", help="Administrator the import is recorded under.")
def import_command(
    folder: Path, replace: bool, draft: bool, dry_run: bool, username: str | None
) -> None:
    """Import one course folder, or a folder of course folders: all of them or none.

    Every manifest, lesson file and question bank is checked first; any problem is listed with
    its file and field and nothing is written.
    """
    actor = administrator(username)
    audit.set_actor(db.session, actor, note="course import")
    try:
        specs = importer.parse_folder(
            db.session,
            folder,
            replace=replace,
            progress=lambda items: tqdm(items, desc="check", unit="course"),
        )
    except importer.ImportFailed as failed:
        db.session.rollback()
        for problem in failed.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.ClickException(
            f"{len(failed.problems)} problem(s) found; nothing was imported."
        ) from None
    if dry_run:
        db.session.rollback()
        click.echo(f"{len(specs)} course(s) are valid (dry run: nothing written).")
        return
    result = importer.apply(
        db.session,
        actor,
        specs,
        upload_root=current_app.config["UPLOAD_FOLDER"],
        publish=not draft,
        progress=lambda items: tqdm(items, desc="prepare", unit="course"),
    )
    db.session.commit()
    click.echo(f"Imported {len(result.created)} new and updated {len(result.updated)} course(s).")


@courses_cli.command("assign-required")
@click.option("--due", type=click.DateTime(formats=["%Y-%m-%d"]), help="Due date (YYYY-MM-DD).")
@click.option("--as-user", "username", required=True, help="Administrator assigning.")
def assign_required(due: dt.datetime | None, username: str) -> None:
    """Assign every required course to every active expert who has a login."""
    from .operations import assign_required_to_experts

    actor = administrator(username)
    assert actor is not None
    audit.set_actor(db.session, actor, note="required training")
    result = assign_required_to_experts(db.session, actor, due_date=due.date() if due else None)
    db.session.commit()
    click.echo(
        f"{result.count} enrolment(s) created; {len(result.unchanged)} already enrolled; "
        f"{len(result.without_account)} active expert(s) have no login."
    )


@courses_cli.command("prune-files")
@click.option("--dry-run", is_flag=True)
def prune_files(dry_run: bool) -> None:
    """Delete stored course files that no lesson, material or cover refers to any more."""
    from .models import Course, Lesson, Material

    root = Path(current_app.config["UPLOAD_FOLDER"])
    used = {p for p in db.session.scalars(select(Lesson.file_path)) if p}
    used |= {p for p in db.session.scalars(select(Material.file_path)) if p}
    used |= {p for p in db.session.scalars(select(Course.cover_path)) if p}
    removed = 0
    for path in sorted((root / "courses").rglob("*")) if (root / "courses").is_dir() else []:
        if path.is_file() and path.relative_to(root).as_posix() not in used:
            removed += 1
            if not dry_run:
                storage.delete(root, path.relative_to(root).as_posix())
    click.echo(f"{removed} unused file(s) {'found' if dry_run else 'removed'}.")


@courses_cli.command("remind-expiry")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Act as if today were this day (default: today).",
)
def remind_expiry(day: dt.datetime | None) -> None:
    """Remind holders and administrators of certificates about to expire (idempotent)."""
    from .operations.recertification import send_expiry_reminders

    audit.set_actor(db.session, None, note="courses remind-expiry")
    try:
        result = send_expiry_reminders(db.session, day.date() if day else dt.date.today())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"{result.learners} reminder(s) to holders, {result.admins} to administrators.")
