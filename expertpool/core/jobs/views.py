"""The jobs pages: the system administrator sees every job and starts maintenance; anyone polls the
progress of a job they started (business administrators any job: a colleague's import)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ...db import db
from ..access import Role, login_required, roles_required
from ..pagination import page_arg, paginate_query
from ..requests import get_or_404, safe_next
from . import queue
from .models import Job, JobStatus

bp = Blueprint("jobs", __name__, template_folder="templates")
STATUS_LABELS = {
    JobStatus.QUEUED: _l("Queued"),
    JobStatus.RUNNING: _l("Running"),
    JobStatus.DONE: _l("Done"),
    JobStatus.FAILED: _l("Failed"),
    JobStatus.CANCELLED: _l("Cancelled"),
}
PER_PAGE = 50
# What an administrator may start from the jobs page (tasks the core registers in maintenance.py).
MAINTENANCE = {
    "search.reindex": _l("Rebuild the search indexes"),
    "embeddings.rebuild": _l("Embed new and changed texts"),
}


def _job_or_404(job_id: int, *, mine_ok: bool) -> Job:
    job = get_or_404(db.session, Job, job_id)
    # Every job: the system administrator (the jobs pages) and business administrators (a
    # colleague's import or round); otherwise only the person who started it.
    anyone = current_user.has_any_role((Role.ADMIN, Role.SYSADMIN))
    if not anyone and not (mine_ok and job.created_by_id == current_user.id):
        abort(404)  # another person's job does not exist for you
    return job


@roles_required(Role.SYSADMIN)
def jobs() -> Any:
    status = request.args.get("status") if request.args.get("status") in set(JobStatus) else None
    stmt = select(Job).order_by(Job.id.desc())
    if status:
        stmt = stmt.where(Job.status == status)
    counts = dict(db.session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    return render_template(
        "jobs/list.html",
        maintenance={task: str(label) for task, label in MAINTENANCE.items()},
        page=paginate_query(db.session, stmt, page_arg(request.args), PER_PAGE),
        counts={s.value: counts.get(s.value, 0) for s in JobStatus},
        status=status,
    )


@login_required
def progress(job_id: int) -> Any:
    return jsonify(_job_or_404(job_id, mine_ok=True).as_dict())


@login_required
def cancel(job_id: int) -> Any:
    job = _job_or_404(job_id, mine_ok=True)
    queue.request_cancel(db.session, job)
    flash(_("Cancellation requested."), "info")
    return redirect(_back())


@roles_required(Role.SYSADMIN)
def start(task: str) -> Any:
    if task not in MAINTENANCE:
        abort(404)
    label = str(MAINTENANCE[task])
    queue.enqueue(db.session, task, {}, title=label, actor=current_user)
    flash(_("Started: %(job)s. Its progress is shown below.", job=label), "success")
    return redirect(url_for("jobs.jobs"))


@roles_required(Role.SYSADMIN)
def retry(job_id: int) -> Any:
    job = _job_or_404(job_id, mine_ok=False)
    queue.retry(db.session, job)
    flash(_("The job is queued again."), "info")
    return redirect(_back())


def _back() -> str:
    return safe_next(request.form.get("next"), url_for("jobs.jobs"))


bp.add_url_rule("/admin/jobs", "jobs", jobs)
bp.add_url_rule("/jobs/<int:job_id>.json", "progress", progress)
bp.add_url_rule("/jobs/<int:job_id>/cancel", "cancel", cancel, methods=["POST"])
bp.add_url_rule("/admin/jobs/<int:job_id>/retry", "retry", retry, methods=["POST"])
bp.add_url_rule("/admin/jobs/start/<task>", "start", start, methods=["POST"])


@bp.app_template_global()
def job_status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)  # type: ignore[call-overload]
    return str(label) if label else status


@bp.app_template_global()
def job_task_label(task: str) -> str:
    spec = queue.tasks().get(task)
    return str(spec.label) if spec is not None and spec.label else task
