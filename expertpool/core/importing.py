"""The bulk imports' all-or-nothing commit and their upload → preview → commit pages.

An importer module (experts, submissions) provides `parse`, `validate`, `commit` and an
`ImportRefused` exception; `commit_rows` is the heart of its `commit`, and `ImportPages` serves
its three views: a dry-run preview that stages a clean file (`staging`), the confirmation that
checks the staged file again before writing it, and the template downloads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..db import db, savepoint
from . import audit, staging
from .access import Role, roles_required
from .tabular import ImportReport

log = logging.getLogger(__name__)

T = TypeVar("T")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


def commit_rows(
    session: Session,
    actor: User | None,
    report: ImportReport,
    create: Callable[[dict[str, Any]], T],
    refused: type[Exception],
    failures: tuple[type[Exception], ...],
    describe: Callable[[Exception], str],
    progress: Callable[[int], None] | None = None,
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
