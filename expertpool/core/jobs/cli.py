"""`flask jobs ...`: run a worker, run what is due now, list jobs."""

from __future__ import annotations

import os
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ...db import db
from . import queue
from .models import Job

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when no job is due instead of waiting.")
@click.option("--name", default=None, help="Worker name shown on the jobs page.")
def worker_command(burst: bool, name: str | None) -> None:
    """Claim and run jobs until stopped (SIGTERM / Ctrl-C finish the current job first)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lower_priority(int(app.config.get("JOBS_NICE") or 0))
    if app.config.get("JOBS_BACKEND") == "rq" and not burst:
        from .rq_backend import run_rq_worker

        run_rq_worker(app, name)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker = queue.Worker(app, name=name, schedules=True)
    click.echo(f"worker {worker.name}: polling every {worker.poll}s (backend: database)")
    count = worker.run(burst=burst, stop=stop)
    click.echo(f"worker {worker.name}: {count} job(s) run")


def lower_priority(increment: int) -> int | None:
    """Make this process yield the CPU to the web workers (`JOBS_NICE`); its new niceness, or
    None when unchanged (0, or a system without `os.nice`). RQ's work horses, forked from the
    worker, inherit it."""
    if increment <= 0 or not hasattr(os, "nice"):
        return None
    try:
        return os.nice(increment)
    except OSError as exc:  # a container that forbids it: run as is
        click.echo(f"could not lower the worker's priority: {exc}", err=True)
        return None


def start_in_background(task: str, args: dict, title: str) -> None:
    """`--background` of a long command: add the job, say how to follow it."""
    job = queue.enqueue(db.session, task, args, title=title)
    db.session.commit()
    click.echo(
        f"job {job.id} queued: a worker (`flask jobs worker`) runs it; "
        f"follow it with `flask jobs list` or on /admin/jobs"
    )


@jobs_cli.command("run")
def run_command() -> None:
    """Run every job that is due now, here, then stop."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"{queue.drain(app)} job(s) run")


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_command(limit: int) -> None:
    """The latest jobs with their state."""
    for job in db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        progress = f"{job.done}/{job.total}" if job.total else ""
        click.echo(
            f"{job.id:>6} {job.status:<9} {job.attempts}/{job.max_attempts} "
            f"{progress:>11} {job.task:<28} {job.title}"
        )
