"""Expert matching: candidates for a submission, panels, rounds and the experts' search data."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: matching pages, `flask match`, the experts' vectors and keyword index,
    the round-proposal job, the pool snapshot kept current by the changes it reads."""
    from flask_babel import lazy_gettext as _l

    from ..core.features import contribute, register_demo_loader
    from ..core.jobs import register_task
    from . import demo, rounds, snapshot, submission_vectors, sync
    from .blueprint import bp
    from .cli import match_cli

    app.register_blueprint(bp)
    app.cli.add_command(match_cli)
    sync.init_app(app)
    snapshot.init_app(app)
    submission_vectors.init_app(app)
    # A crash (worker killed, out of memory) is retried; a refusal is a result, not retried.
    register_task(
        app,
        rounds.PROPOSE_TASK,
        rounds.propose_round,
        max_attempts=3,
        label=_l("Propose a review round"),
    )
    contribute(app, "submissions.detail.actions", _find_reviewers)
    contribute(app, "reviews.round_choices", _round_choices)  # supervision, spot checks
    register_demo_loader(app, "supervision", demo.load_demo)  # a past round, a spot check


def _find_reviewers(submission: Any) -> tuple[str, str]:
    from flask import url_for
    from flask_babel import gettext as _

    return _("Find reviewers"), url_for("matching.candidates", submission_id=submission.id)


def _round_choices(_obj: Any) -> list[tuple[int, str]]:
    """Rounds whose panels were sent (confirmed), newest first: the ones with reviews."""
    from sqlalchemy import select

    from ..db import db
    from .models import ReviewRound

    rows = db.session.execute(
        select(ReviewRound.id, ReviewRound.name)
        .where(ReviewRound.status == "confirmed")
        .order_by(ReviewRound.id.desc())
    )
    return [(rid, name) for rid, name in rows]
