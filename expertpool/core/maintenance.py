"""The core's own jobs: rebuild the search indexes, embed what is not embedded, forget old jobs.

Administrators start the first two from the jobs page (or `flask search reindex --background`,
`flask embeddings rebuild --background`); `jobs.prune` runs on JOBS_PRUNE_CRON.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete

from ..db import db, utcnow
from .jobs import JobContext, register_task
from .jobs.models import OPEN, Job
from .jobs.schedule import register_schedule

REINDEX_TASK = "search.reindex"
EMBED_TASK = "embeddings.rebuild"
PRUNE_TASK = "jobs.prune"


def init_app(app: Flask) -> None:
    register_task(
        app, REINDEX_TASK, reindex, max_attempts=3, label=_l("Rebuild the search indexes")
    )
    register_task(app, EMBED_TASK, embed, max_attempts=3, label=_l("Embed new and changed texts"))
    register_task(app, PRUNE_TASK, prune, label=_l("Forget old finished jobs"))
    register_schedule(app, "jobs.prune", app.config.get("JOBS_PRUNE_CRON"), PRUNE_TASK)


def reindex(ctx: JobContext, names: list[str] | None = None) -> dict[str, int]:
    """Rebuild these keyword indexes (all by default) from the database, one after another,
    here and, through the change log, on every other app host at its next search.
    Idempotent: each rebuild writes a fresh generation from what the database holds."""
    from .search.app import rebuild_index, registered_indexes

    chosen = names or sorted(registered_indexes())
    counts = {}
    for done, name in enumerate(chosen):
        ctx.check_cancelled()  # between indexes: a finished rebuild stays, the next is not begun
        ctx.progress(done, len(chosen), stage=name)
        counts[name] = rebuild_index(name, progress=False)
    ctx.progress(len(chosen), len(chosen))
    return counts


def embed(ctx: JobContext, indexes: list[str] | None = None) -> dict[str, int]:
    """Embed every registered text not yet embedded with the current model (changed texts too).
    Commits batch by batch, so a stopped job keeps what it finished; unchanged texts are skipped,
    which makes a second run cheap and idempotent."""
    from flask import current_app

    from .embeddings import queries
    from .embeddings.store import get_store

    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, stage="embed")
        ctx.check_cancelled()

    report = get_store().rebuild(
        indexes=indexes or None, progress=progress, on_batch=db.session.commit
    )
    db.session.commit()
    queried = 0
    if not indexes:  # the query vectors embedded ahead (open submissions' texts)
        queried, _dropped = queries.rebuild(current_app, db.session, get_store().encoder)
        db.session.commit()
    return {
        "encoded": report.encoded,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "queries": queried,
    }


def prune(ctx: JobContext, at: str | None = None) -> dict[str, int]:
    """Forget finished jobs older than JOBS_KEEP_DAYS (open ones are never touched)."""
    from flask import current_app

    keep = int(current_app.config.get("JOBS_KEEP_DAYS", 30))
    cutoff = utcnow() - dt.timedelta(days=keep)
    gone = ctx.session.execute(
        delete(Job).where(Job.status.not_in(OPEN), Job.finished_at < cutoff, Job.id != ctx.job_id)
    ).rowcount
    return {"deleted": gone}
