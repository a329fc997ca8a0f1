"""Bulk import pages: upload → dry-run preview with row-numbered errors → all-or-nothing commit."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core import staging
from ..core.access import Role, roles_required
from ..db import db
from . import importer
from .forms import ImportCommitForm, ImportForm


@roles_required(Role.ADMIN)
def upload() -> Any:
    form = ImportForm()
    report = token = None
    if form.validate_on_submit():
        upload_file = form.file.data
        data = upload_file.read()
        parsed = importer.parse(upload_file.filename, data, form.encoding.data)
        report = importer.validate(db.session, parsed)
        g.rollback = True  # a dry run never writes
        if report.ok:
            token = staging.stage("", upload_file.filename, data, form.encoding.data)
    return render_template(
        "experts/import.html",
        form=form,
        report=report,
        token=token,
        commit_form=ImportCommitForm(token=token),
    )


@roles_required(Role.ADMIN)
def commit() -> Any:
    form = ImportCommitForm()
    if not form.validate_on_submit():
        abort(400)
    found = staging.staged("", form.token.data, (".xlsx", ".csv"))
    if found is None:
        flash(_("The preview expired. Upload the file again."), "danger")
        return redirect(url_for("experts.import_experts"))
    path, encoding = found
    report = importer.validate(db.session, importer.parse(path.name, path.read_bytes(), encoding))
    if not report.ok:
        g.rollback = True
        flash(_("The file no longer passes validation; nothing was imported."), "danger")
        return render_template(
            "experts/import.html", form=ImportForm(), report=report, token=None, commit_form=None
        )
    created = importer.commit(db.session, current_user, report)
    staging.discard(path)
    flash(_("%(n)s experts imported.", n=len(created)), "success")
    return redirect(url_for("experts.index"))


@roles_required(Role.ADMIN)
def template(fmt: str) -> Any:
    if fmt == "xlsx":
        return Response(
            importer.template_xlsx(),
            headers={"Content-Disposition": "attachment; filename=expert-import-template.xlsx"},
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    if fmt == "csv":
        return Response(
            importer.template_csv(),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": "attachment; filename=expert-import-template.csv"},
        )
    abort(404)
