"""Large exports run as background jobs and are downloaded from their own page.

An export of more than EXPORT_JOB_THRESHOLD rows is not built by the request that asks for it:
the page offers to prepare it (`offer`, a form that posts back to the export's address), the
POST adds a job of the feature's export task (`start`) and the person follows it on
`/exports/<job>`. The task builds the file (`counted` reports its rows as progress) and hands it
to `save`, which writes it into EXPORT_FOLDER (`core.storage`) under a generated name. Only the
person who started the job and administrators may download it; after EXPORT_KEEP_HOURS it is
refused, and `exports.cleanup` (on EXPORTS_CLEANUP_CRON) deletes it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..db import db, utcnow
from . import audit, storage
from .access import login_required
from .features import registry
from .jobs import JobContext, enqueue, register_task
from .jobs.models import Job, JobStatus
from .jobs.schedule import register_schedule
from .requests import get_or_404

T = TypeVar("T")
CLEANUP_TASK = "exports.cleanup"
_REPORT_SECONDS = 0.5

bp = Blueprint("exports", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_task(app, CLEANUP_TASK, cleanup, label=_l("Delete expired exports"))
    register_schedule(app, CLEANUP_TASK, app.config.get("EXPORTS_CLEANUP_CRON"), CLEANUP_TASK)


def register_export(app: Flask, task: str, fn: Any, label: Any) -> None:
    """A feature's export task: `fn(ctx, **args)` builds the file and returns `save(...)`;
    `label` (a lazy translation) is what the pages call it."""
    register_task(app, task, fn, max_attempts=3, label=label)
    registry(app, "exports.tasks")[task] = fn


def in_background(rows: int) -> bool:
    """Whether an export of `rows` rows is prepared by a job instead of the request."""
    return rows > int(current_app.config.get("EXPORT_JOB_THRESHOLD") or 0)


# -- the request's side --------------------------------------------------------------------------


def offer(title: str, rows: int) -> Any:
    """The page that offers to prepare a large export (its form posts back to this address)."""
    return render_template("exports/offer.html", title=title, rows=rows)


def start(task: str, args: dict[str, Any], title: str) -> Any:
    """Add the export job (in the request's transaction) and send the person to its page.
    `title` is in no language (the task's label says what it is), e.g. "XLSX · 2400"."""
    job = enqueue(db.session, task, args, title=title, actor=current_user)
    return redirect(url_for("exports.status", job_id=job.id))


# -- the job's side ------------------------------------------------------------------------------


def counted(items: Iterable[T], ctx: JobContext, total: int, stage: str) -> Iterator[T]:
    """`items`, reporting how many were written (at most every half second) and cancellation."""
    next_report = 0.0
    done = 0
    for done, item in enumerate(items, start=1):
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + _REPORT_SECONDS
            ctx.progress(done - 1, total, stage=stage)
            ctx.check_cancelled()
        yield item
    ctx.progress(done, total, stage=stage)


def _folder() -> Path:
    path = Path(current_app.config["EXPORT_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(
    ctx: JobContext, data: bytes, filename: str, mimetype: str, rows: int | None = None
) -> dict[str, Any]:
    """Write the finished file; the job's result names it (and its rows) for the download."""
    relative = f"{ctx.job_id}-{storage.generated_name(filename)}"
    storage.write(_folder(), relative, data)
    keep = float(current_app.config.get("EXPORT_KEEP_HOURS") or 24)
    expires = utcnow() + dt.timedelta(hours=keep)
    return {
        "file": relative,
        "name": filename,
        "mimetype": mimetype,
        "size": len(data),
        "rows": rows,
        "expires_at": expires.isoformat(timespec="seconds"),
    }


def cleanup(ctx: JobContext, at: str | None = None) -> dict[str, int]:
    """Delete exported files older than EXPORT_KEEP_HOURS (the schedule runs it)."""
    keep = float(current_app.config.get("EXPORT_KEEP_HOURS") or 24)
    cutoff = time.time() - keep * 3600
    folder = _folder()
    deleted = 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            deleted += storage.delete(folder, path.name)
    return {"deleted": deleted}


# -- the export's page and its download ----------------------------------------------------------


def _export_job(job_id: int) -> Job:
    """The export job, for the person who started it and administrators only (else 404)."""
    job = get_or_404(db.session, Job, job_id)
    if job.task not in registry(current_app, "exports.tasks"):
        abort(404)
    if not current_user.is_admin and job.created_by_id != current_user.id:
        abort(404)  # another person's export does not exist for you
    return job


def _expired(result: dict[str, Any]) -> bool:
    expires = result.get("expires_at")
    return not expires or dt.datetime.fromisoformat(expires) < utcnow()


@login_required
def status(job_id: int) -> Any:
    job = _export_job(job_id)
    result = job.result or {}
    done = job.status == JobStatus.DONE and "file" in result
    return render_template(
        "exports/status.html",
        job=job,
        result=result,
        ready=done and not _expired(result),
        expired=done and _expired(result),
        error=_("The export failed. Administrators see the error under Background jobs."),
    )


@login_required
def download(job_id: int) -> Any:
    job = _export_job(job_id)
    result = job.result or {}
    if job.status != JobStatus.DONE or "file" not in result or _expired(result):
        abort(404)
    # Each download hands the data out: each is audited (who, which export, how many rows).
    audit.record_export(
        db.session,
        job.task,
        result.get("rows"),
        fmt=str(result.get("name", "")).rpartition(".")[2] or None,
        full_personal=bool(result.get("full_personal")),
        subject=("user", result["subject_user"]) if result.get("subject_user") else None,
    )
    return storage.send(
        _folder(), result["file"], name=result["name"], mime=result["mimetype"], as_attachment=True
    )


bp.add_url_rule("/exports/<int:job_id>", "status", status)
bp.add_url_rule("/exports/<int:job_id>/download", "download", download)
