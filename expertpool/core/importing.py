"""The bulk imports' all-or-nothing commit and their upload → preview → commit pages.

An importer module (experts, submissions) provides `parse`, `validate`, `commit` and an
`ImportRefused` exception; `commit_rows` is the heart of its `commit`, `ImportPages` serves
its views: a dry-run preview that stages a clean file (`staging`), the confirmation that
checks the staged file again before writing it, the template downloads and the page of an
import running in the background; `run_import_command` is its command-line twin.

A file of more than IMPORT_JOB_THRESHOLD rows (0: every file) is confirmed as a background job
(`ImportPages.run_job`): the request only records the staged file and adds the job, and the
page shows its progress. The job checks the file again, then writes every row in one
transaction or none, and marks the staged file consumed in that same transaction, so a second
run writes nothing. Derived work (embeddings, keyword indexes) is not done while the rows are
written: the features' change events add one index job for the whole file after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import click
from flask import Response, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tqdm import tqdm

from ..db import db, savepoint
from . import audit, bulk, staging
from .access import Role, roles_required
from .jobs import JobContext, JobFailed, enqueue
from .jobs.models import Job
from .requests import get_or_404
from .tabular import ImportReport, RowError

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[int], None]  # called with the spreadsheet row number just handled

BEFORE_WRITE = "import_before_write"  # session.info: called just before the rows are written

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"
MIMETYPES = {"xlsx": XLSX_MIMETYPE, "csv": CSV_MIMETYPE, "json": "application/json"}


def commit_rows(
    session: Session,
    actor: Any | None,
    report: ImportReport,
    create: Callable[[dict[str, Any], bool], T],
    refused: type[Exception],
    failures: tuple[type[Exception], ...],
    describe: Callable[[Exception], str],
    progress: Progress | None = None,
    written: Callable[[list[T]], None] | None = None,
) -> list[T]:
    """`create(data, flush)` every row of a clean report, then write them all or none.

    The rows are built first with nothing written (`flush=False`, no autoflush: the reads they
    need take no lock) and turned into plain rows (`bulk.prepare`); then one SAVEPOINT writes
    them with Core bulk INSERTs and their audit rows (`bulk.write`), so the transaction holds
    SQLite's write lock from its BEGIN IMMEDIATE to the commit only (3,000 experts: ~1.6 s on a
    loaded 2-core machine, against 138 s for one ORM flush). When the database refuses the batch, the rows are written
    again one by one through the ORM, and rolled back, to name the row it refuses.

    `written(created)`, when given, runs in the SAVEPOINT after the INSERTs: what the new rows
    change in rows already there (the publication import stamps its experts' files).
    A report with errors, or a row failing with one of `failures`, raises `refused` (described
    by `describe`). Flushes but does not commit; the caller (request, job or CLI) commits once.
    """
    if not report.ok:
        raise refused(_("The file has %(n)d error(s); nothing was imported.", n=len(report.errors)))
    created: list[T] = []
    built: list[Any] = []
    current_row = 0
    before = set(session.new)
    # The audit log names whoever imports, with the file as the note of every change.
    audit.set_actor(session, actor, note=f"import {report.filename}"[:200])
    try:
        # Built outside the transaction: on SQLite a transaction that has read may not write
        # once another connection has committed (a login, the job's progress), so it begins
        # only for the INSERTs.
        with session.no_autoflush:
            for row_no, data in zip(report.row_numbers, report.rows, strict=True):
                current_row = row_no  # named in the refusal when this row fails
                created.append(create(data, False))
                if progress:
                    progress(row_no)
        current_row = 0  # the batch as a whole
        built = sorted(set(session.new) - before, key=lambda obj: inspect(obj).insert_order)
        _expunge(session, built)  # written by Core, then attached as persistent rows
        prepared = bulk.prepare(session, built)
        _before_write(session)
        with savepoint(session, immediate=True):  # (bulk numbers the rows on SQLite)
            bulk.write(session, prepared)
            if written is not None:
                written(created)
    except failures as exc:
        _expunge(session, set(session.new) - before)  # a row refused while built: drop the rest
        _expunge(session, built)  # (attached before the SAVEPOINT's rollback: not written)
        if current_row == 0:
            current_row, exc = _refused_row(session, report, create, failures) or (0, exc)
        log.warning("import of %r failed at row %r: %r", report.filename, current_row, exc)
        raise refused(
            _(
                "Row %(row)d could not be saved (%(error)s); nothing was imported.",
                row=current_row,
                error=describe(exc),
            )
            if current_row
            else _(
                "The file could not be saved (%(error)s); nothing was imported.",
                error=describe(exc),
            )
        ) from exc
    finally:
        audit.set_note(session, None)
    return created


def _before_write(session: Session) -> None:
    """A hook for the tests: called with every row prepared, just before the write begins."""
    hook = session.info.get(BEFORE_WRITE)
    if hook is not None:
        hook(session)


def _expunge(session: Session, objects: Iterable[Any]) -> None:
    for obj in objects:
        if obj in session:  # (expunging a parent took its children along)
            session.expunge(obj)


class _Undo(Exception):
    """Rolls back the rows written only to find the one the database refuses."""


def _refused_row(
    session: Session,
    report: ImportReport,
    create: Callable[[dict[str, Any], bool], Any],
    failures: tuple[type[Exception], ...],
) -> tuple[int, Exception] | None:
    """The first row the database refuses when each is written on its own (then undone)."""
    found = None
    try:
        with savepoint(session):
            for row_no, data in zip(report.row_numbers, report.rows, strict=True):
                try:
                    create(data, True)
                except failures as exc:
                    found = (row_no, exc)
                    break
            raise _Undo()
    except _Undo:
        pass
    return found


@dataclass(frozen=True)
class ImportPages:
    """The import views of one importer in a blueprint; its endpoints are `upload_endpoint` and
    <name>_commit, <name>_template and <name>_job (`name` "import": import_commit...), and the
    page template gets `import_blueprint`, `import_endpoint` (blueprint.name) and
    `template_formats`. A feature's `init_app` registers `run_job` as the task `job_task`."""

    importer: Any  # module with parse, validate, commit, ImportRefused and template_<format>
    blueprint: str  # "experts"
    page: str  # the page template, e.g. "experts/import.html"
    upload_endpoint: str  # where an expired preview sends the user back to
    stage_prefix: str  # keeps each importer's staged files apart
    form: Callable[..., Any]  # the upload form class
    commit_form: Callable[..., Any]  # the form with the hidden token
    imported: Callable[[int], str]  # the flash message after a successful import
    download_name: str  # file name of the template, without the extension
    job_task: str  # the task a large file's commit runs as, e.g. "experts.import_commit"
    job_label: Any  # what the jobs page calls that task (a lazy translation)
    name: str = "import"  # the stem of the endpoints; another importer of the blueprint differs

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The file types the importer reads (its FORMATS), each with its template."""
        return tuple(self.importer.FORMATS)

    @property
    def downloads(self) -> dict[str, tuple[Callable[[], bytes], str]]:
        """Format -> (template builder, MIME type): one template per file type read."""
        formats = [suffix.lstrip(".") for suffix in self.suffixes]
        return {fmt: (getattr(self.importer, f"template_{fmt}"), MIMETYPES[fmt]) for fmt in formats}

    @property
    def endpoint(self) -> str:
        return f"{self.blueprint}.{self.name}"

    @property
    def kind(self) -> str:
        """What the staged-import record names: the blueprint, or blueprint.name for another."""
        return self.blueprint if self.name == "import" else self.endpoint

    def views(self, *roles: Role) -> tuple[Callable[..., Any], ...]:
        """The upload, commit, template and job views, open to `roles` only."""
        guard = roles_required(*roles)
        return guard(self.upload), guard(self.commit), guard(self.template), guard(self.job)

    def _render(self, **context: Any) -> Any:
        return render_template(
            self.page,
            import_blueprint=self.blueprint,
            import_endpoint=self.endpoint,
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
                    self.stage_prefix,
                    upload_file.filename,
                    data,
                    form.encoding.data,
                    rows=len(report.rows),
                )
        return self._render(
            form=form, report=report, token=token, commit_form=self.commit_form(token=token)
        )

    def commit(self) -> Any:
        form = self.commit_form()
        if not form.validate_on_submit():
            abort(400)
        handed = staging.find_import(db.session, form.token.data)
        if handed is not None and handed.kind == self.kind and handed.job_id:
            return redirect(self._job_url(handed.job_id))  # a second click: the same job
        found = staging.staged(self.stage_prefix, form.token.data, self.suffixes)
        if found is None or handed is not None:
            flash(_("The preview expired. Upload the file again."), "danger")
            return redirect(url_for(self.upload_endpoint))
        path, encoding = found
        if in_background(staging.staged_rows(path)):
            return self._start_job(form.token.data, path)
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

    def _job_url(self, job_id: int) -> str:
        return url_for(f"{self.endpoint}_job", job_id=job_id)

    def _start_job(self, token: str, path: Path) -> Any:
        """Record the staged file and add the job that imports it; the page follows the job."""
        rows = staging.staged_rows(path)
        try:
            with savepoint(db.session):
                record = staging.hand_over(
                    db.session, self.kind, token, path.name, rows, current_user
                )
        except IntegrityError:  # two clicks at once: the other one started the job
            return redirect(url_for(self.upload_endpoint))
        job = enqueue(
            db.session,
            self.job_task,
            {"import_id": record.id, "locale": str(get_locale())},
            title=job_title(path, rows),
            actor=current_user,
        )
        record.job_id = job.id
        return redirect(self._job_url(job.id))

    def job(self, job_id: int) -> Any:
        """The page of an import running in the background: progress, then its outcome."""
        job = get_or_404(db.session, Job, job_id)
        if job.task != self.job_task:
            abort(404)
        result = job.result or {}
        return render_template(
            "_import_job.html",
            job=job,
            import_blueprint=self.blueprint,
            upload_endpoint=self.upload_endpoint,
            imported=self.imported(result["imported"]) if "imported" in result else None,
            errors=[RowError(**e) for e in result.get("errors", [])],
            refusal=result.get("message"),
        )

    # -- the job ---------------------------------------------------------------------------------

    def run_job(self, ctx: JobContext, import_id: int, locale: str | None = None) -> dict[str, Any]:
        """The task: check the staged file again, then write every row in one transaction."""
        with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            return self._run_job(ctx, import_id)

    def _run_job(self, ctx: JobContext, import_id: int) -> dict[str, Any]:
        session = ctx.session
        record = session.get(staging.StagedImport, import_id)
        if record is None:
            raise JobFailed(_("The preview expired. Upload the file again."))
        found = staging.staged(self.stage_prefix, record.token, self.suffixes)
        if record.consumed_at is not None:  # an earlier run imported it: nothing more to do
            if found:
                staging.discard(found[0])
            return dict(record.result or {})
        if found is None:
            raise JobFailed(_("The preview expired. Upload the file again."))
        path, encoding = found
        importer = self.importer
        parsed = importer.parse(path.name, path.read_bytes(), encoding)
        total = len(parsed.rows)
        checking = RowProgress(ctx, total, _("Checking rows"))
        report = importer.validate(session, parsed, progress=checking)
        if not report.ok:
            raise refusal(_("The file no longer passes validation; nothing was imported."), report)
        ctx.check_cancelled()
        # The rows are built before anything is written (`commit_rows`), so these progress
        # writes do not wait for the transaction's own write lock.
        saving = RowProgress(ctx, total, _("Saving rows"))
        try:
            created = importer.commit(session, job_actor(session, ctx.job_id), report, saving)
        except importer.ImportRefused as exc:  # a row failed while written: nothing is kept
            raise JobFailed(str(exc), {"message": str(exc)}) from exc
        if not staging.claim(session, record):
            raise RuntimeError(f"staged import {import_id} taken by another run")  # retried
        result = {"imported": len(created)}
        staging.consumed(session, record, path, result)
        return result

    def template(self, fmt: str) -> Any:
        if fmt not in self.downloads:
            abort(404)
        build, mimetype = self.downloads[fmt]
        return Response(
            build(),
            mimetype=mimetype,
            headers={"Content-Disposition": f"attachment; filename={self.download_name}.{fmt}"},
        )


def job_title(path: Path, rows: int | None) -> str:
    """An import job's title, in no language (the task's label says what it is): "XLSX · 300"."""
    kind = path.suffix.lstrip(".").upper()
    return f"{kind} · {rows}" if rows is not None else kind


def in_background(rows: int | None) -> bool:
    """Whether a file of `rows` rows (None: not known) is imported by a background job."""
    threshold = int(current_app.config.get("IMPORT_JOB_THRESHOLD") or 0)
    return rows is None or rows > threshold


def refusal(message: str, report: ImportReport) -> JobFailed:
    """A job's refusal of a file, with its row-numbered errors for the page."""
    return JobFailed(
        message,
        {
            "message": message,
            "errors": [
                {"row": e.row, "column": e.column, "message": str(e.message)} for e in report.errors
            ],
        },
    )


def job_actor(session: Session, job_id: int) -> Any | None:
    """Who started the job, as the audit log and the operations name them (id and username)."""
    row = session.execute(
        select(Job.created_by_id, Job.created_by_name).where(Job.id == job_id)
    ).one_or_none()
    if row is None or row.created_by_id is None:
        return None
    return SimpleNamespace(id=row.created_by_id, username=row.created_by_name)


class RowProgress:
    """Called once per row handled: reports the count to the job at most every half second."""

    EVERY_SECONDS = 0.5

    def __init__(self, ctx: JobContext, total: int, stage: str) -> None:
        self.ctx, self.total, self.stage = ctx, total, stage
        self.done, self._next = 0, 0.0

    def __call__(self, _row: int | None = None) -> None:
        self.done += 1
        now = time.monotonic()
        if now >= self._next or self.done == self.total:
            self._next = now + self.EVERY_SECONDS
            self.ctx.progress(self.done, self.total, stage=self.stage)


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
