"""The audit log's operations: `flask audit seal|verify`, the seal and verify jobs.

The chain itself is `audit_chain`; the security auditor's pages are `audit_views`.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from tqdm import tqdm

from ..db import db
from . import audit_chain
from .audit_chain import SEAL_BATCH, SEAL_TASK
from .audit_views import VERIFY_TASK, bp
from .jobs import JobContext, register_task
from .jobs.schedule import register_schedule

audit_cli = AppGroup("audit", help="Seal and verify the tamper-evident audit log.")


def init_app(app: Flask) -> None:
    audit_chain.connect()
    register_task(app, SEAL_TASK, seal_task, label=_l("Seal new audit log rows"))
    register_task(app, VERIFY_TASK, verify_task, label=_l("Verify the audit log's hash chain"))
    register_schedule(app, SEAL_TASK, app.config.get("AUDIT_SEAL_CRON"), SEAL_TASK)
    register_schedule(app, VERIFY_TASK, app.config.get("AUDIT_VERIFY_CRON"), VERIFY_TASK)
    app.cli.add_command(audit_cli)
    app.register_blueprint(bp)


def seal_task(ctx: JobContext, at: str | None = None) -> dict[str, int]:
    """Seal what commits left (a large import's rows, rows written outside a session commit),
    one short transaction per batch. Idempotent: sealed rows are left alone."""
    total = 0
    while True:
        count = audit_chain.seal(ctx.session, limit=SEAL_BATCH)
        ctx.session.commit()
        total += count
        if count < SEAL_BATCH:
            return {"sealed": total}


def verify_task(ctx: JobContext, at: str | None = None) -> dict[str, Any]:
    """Walk the chain with a progress bar; the result is kept for the auditor's page."""

    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, stage="verify")
        ctx.check_cancelled()

    report = audit_chain.verify(ctx.session, progress=progress)
    actor = ctx.session.info.get("audit_actor", (None, "system"))[1]
    audit_chain.record_verification(ctx.session, report, actor)
    return {"ok": report.ok, "checked": report.checked, "problem": report.problem}


@audit_cli.command("seal")
def seal_command() -> None:
    """Seal every row not yet on the chain (normally done at each commit and hourly)."""
    count = audit_chain.seal(db.session)
    db.session.commit()
    click.echo(f"Sealed {count} audit log row(s).")


@audit_cli.command("verify")
def verify_command() -> None:
    """Walk the hash chain; name the first edited, deleted or inserted row (exit status 1)."""
    from sqlalchemy import func, select

    from .audit import AuditLog

    total = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.seal_seq.is_not(None))
    )
    with tqdm(total=total, desc="verify", unit="row", disable=None) as bar:
        report = audit_chain.verify(db.session, progress=lambda done, _t: bar.update(done - bar.n))
    audit_chain.record_verification(db.session, report, "flask audit verify")
    db.session.commit()
    if report.unsealed:
        click.echo(f"{report.unsealed} row(s) not sealed yet (`flask audit seal` seals them).")
    if not report.ok:
        click.echo(f"FAILED after {report.checked} good row(s): {report.problem}", err=True)
        raise SystemExit(1)
    click.echo(f"OK: {report.checked} row(s), chain head at position {report.head_seq}.")
