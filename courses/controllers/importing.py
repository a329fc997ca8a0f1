"""Administrators import course folders uploaded as a ZIP file; a background job does the work."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from expertpool.core import staging
from expertpool.core.access import Role, roles_required
from expertpool.core.jobs import enqueue
from expertpool.core.jobs.models import Job
from expertpool.core.requests import get_or_404
from expertpool.db import db

from ..forms import CourseImportForm
from ..operations import import_job
from .common import fail, form_errors


@roles_required(Role.ADMIN)
def course_import() -> Any:
    """Upload: the file is staged and a job imports it; the next page follows the job."""
    form = CourseImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        if zipfile.is_zipfile(io.BytesIO(data)):
            return _start(upload.filename or "courses.zip", data, form)
        fail(_("This is not a ZIP file: compress the course folder as .zip and upload it again."))
    elif request.method == "POST":
        form_errors(form)
    return render_template("courses/admin/import.html", form=form)


def _start(filename: str, data: bytes, form: CourseImportForm) -> Any:
    token = staging.stage(import_job.STAGE_PREFIX, filename, data, "")
    record = staging.hand_over(db.session, "courses", token, filename, None, current_user)
    args = {
        "import_id": record.id,
        "replace": bool(form.replace.data),
        "draft": bool(form.draft.data),
        "locale": str(get_locale()),
    }
    job = enqueue(db.session, import_job.IMPORT_TASK, args, title=filename, actor=current_user)
    record.job_id = job.id
    return redirect(url_for("courses.admin_import_job", job_id=job.id))


@roles_required(Role.ADMIN)
def course_import_job(job_id: int) -> Any:
    """The import's progress, then what it created and updated, or every problem it found."""
    job = get_or_404(db.session, Job, job_id)
    if job.task != import_job.IMPORT_TASK:
        abort(404)
    return render_template("courses/admin/import_job.html", job=job, result=job.result or {})
