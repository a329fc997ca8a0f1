"""The bulk imports' all-or-nothing commit and their upload → preview → commit pages.

An importer module (experts, submissions) provides `parse`, `validate`, `commit` and an
`ImportRefused` exception; `commit_rows` is the heart of its `commit`, `ImportPages` serves
its three views: a dry-run preview that stages a clean file (`staging`), the confirmation that
checks the staged file again before writing it, and the template downloads, and
`run_import_command` is its command-line twin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from tqdm import tqdm

from ..db import db, savepoint
from . import audit, staging
from .access import Role, roles_required
from .tabular import ImportReport

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[int], None]  # called with the spreadsheet row number just handled

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


def commit_rows(
    session: Session,
    actor: Any | None,
    report: ImportReport,
    create: Callable[[dict[str, Any]], T],
    refused: type[Exception],
    failures: tuple[type[Exception], ...],
    describe: Callable[[Exception], str],
    progress: Progress | None = None,
) -> list[T]:
    """`create` every row of a clean report inside one SAVEPOINT: all of them or none.

    A report with errors, or a row failing with one of `failures`, raises `refused` (described
    by `describe`). Flushes but does not commit; the caller (request or CLI command) commits once.
    """
    if not report.ok:
        raise refused(_("The file has %(n)d error(s); nothing was imported.", n=len(report.errors)))
    created: list[T] = []
    current_row = 0
    # The audit log names whoever imports, with the file as the note of every change.
    audit.set_actor(session, actor, note=f"import {report.filename}"[:200])
    try:
        with savepoint(session):
            for row_no, data in zip(report.row_numbers, report.rows, strict=True):
                current_row = row_no  # named in the refusal when this row fails
                created.append(create(data))
                if progress:
                    progress(row_no)
    except failures as exc:
        log.warning("import of %r failed at row %r: %r", report.filename, current_row, exc)
        raise refused(
            _(
                "Row %(row)d could not be saved (%(error)s); nothing was imported.",
                row=current_row,
                error=describe(exc),
            )
        ) from exc
    finally:
        audit.set_note(session, None)
    return created


@dataclass(frozen=True)
class ImportPages:
    """The import views of one blueprint; its endpoints are import_<noun>, import_commit and
    import_template, and the page template gets `import_blueprint` and `template_formats`."""

    importer: Any  # module with parse, validate, commit, ImportRefused
    blueprint: str  # "experts"
    page: str  # the page template, e.g. "experts/import.html"
    upload_endpoint: str  # where an expired preview sends the user back to
    stage_prefix: str  # keeps each importer's staged files apart
    suffixes: tuple[str, ...]  # file types the importer reads
    form: Callable[..., Any]  # the upload form class
    commit_form: Callable[..., Any]  # the form with the hidden token
    imported: Callable[[int], str]  # the flash message after a successful import
    downloads: Mapping[str, tuple[Callable[[], bytes], str]]  # fmt -> (template builder, MIME)
    download_name: str  # file name of the template, without the extension

    def views(self, *roles: Role) -> tuple[Callable[..., Any], ...]:
        """The upload, commit and template views, open to `roles` only."""
        guard = roles_required(*roles)
        return guard(self.upload), guard(self.commit), guard(self.template)

    def _render(self, **context: Any) -> Any:
        return render_template(
            self.page,
            import_blueprint=self.blueprint,
            template_formats=list(self.downloads),
            **context,
        )

    def upload(self) -> Any:
        form = self.form()
        report = token = None
        if form.validate_on_submit():
            upload_file = form.file.data
            data = upload_file.read()
            parsed = self.importer.parse(upload_file.filename, data, form.encoding.data)
            report = self.importer.validate(db.session, parsed)
            g.rollback = True  # a dry run never writes
            if report.ok:
                token = staging.stage(
                    self.stage_prefix, upload_file.filename, data, form.encoding.data
                )
        return self._render(
            form=form, report=report, token=token, commit_form=self.commit_form(token=token)
        )

    def commit(self) -> Any:
        form = self.commit_form()
        if not form.validate_on_submit():
            abort(400)
        found = staging.staged(self.stage_prefix, form.token.data, self.suffixes)
        if found is None:
            flash(_("The preview expired. Upload the file again."), "danger")
            return redirect(url_for(self.upload_endpoint))
        path, encoding = found
        importer = self.importer
        parsed = importer.parse(path.name, path.read_bytes(), encoding)
        report = importer.validate(db.session, parsed)
        if not report.ok:
            g.rollback = True
            flash(_("The file no longer passes validation; nothing was imported."), "danger")
            return self._render(form=self.form(), report=report, token=None, commit_form=None)
        try:
            created = importer.commit(db.session, current_user, report)
        except importer.ImportRefused as exc:  # a row failed while written: nothing is kept
            g.rollback = True
            flash(str(exc), "danger")
            return redirect(url_for(self.upload_endpoint))
        staging.discard(path)
        flash(self.imported(len(created)), "success")
        return redirect(url_for(f"{self.blueprint}.index"))

    def template(self, fmt: str) -> Any:
        if fmt not in self.downloads:
            abort(404)
        build, mimetype = self.downloads[fmt]
        return Response(
            build(),
            mimetype=mimetype,
            headers={"Content-Disposition": f"attachment; filename={self.download_name}.{fmt}"},
        )


def import_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """FILE, --encoding, --dry-run and --as-user of an import command."""
    for option in reversed(
        (
            click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option(
                "--encoding",
                type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
                default="utf-8",
                show_default=True,
                help="Encoding of a CSV file.",
            ),
            click.option("--dry-run", is_flag=True, help="Check the file, write nothing."),
            click.option(
                "--as-user",
                "username",
                help="Administrator the import is recorded under (default: the system).",
            ),
        )
    ):
        command = option(command)
    return command


def run_import_command(
    importer: Any, file: Path, encoding: str, dry_run: bool, actor: Any | None, noun: str
) -> None:
    """`flask <feature> import FILE`: validate with a progress bar, report warnings and
    row-numbered errors, then write every row and commit once, or nothing.

    `actor` is the administrator the import is recorded under (`accounts.cli.administrator`
    resolves `--as-user`), or None for the system."""
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
        click.echo(f"{len(report.rows)} {noun} would be imported (dry run: nothing written).")
        return
    try:
        with tqdm(total=len(report.rows), desc="import", unit="row") as bar:
            importer.commit(db.session, actor, report, progress=lambda _row: bar.update())
        db.session.commit()
    except importer.ImportRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported {len(report.rows)} {noun} from {file.name}.")
