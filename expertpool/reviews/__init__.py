"""The review workflow: panels, invitations, reviews, reminders and the inbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """The front door: review pages, `flask reviews`, demo history, the submission's panel."""
    from ..accounts.mydata import SLOT
    from ..core import signals
    from ..core.features import contribute, register_demo_loader
    from ..core.jobs import register_task
    from ..core.jobs.schedule import register_schedule
    from . import demo, mydata, operations
    from .blueprint import bp
    from .cli import reviews_cli

    app.register_blueprint(bp)
    app.cli.add_command(reviews_cli)
    register_demo_loader(app, "reviews", demo.load_demo)
    signals.submission_withdrawn.connect(operations.on_submission_withdrawn)
    register_task(app, REMIND_TASK, remind, label=_l("Review reminders"))
    register_schedule(app, "reviews.reminders", app.config.get("REVIEW_REMINDER_CRON"), REMIND_TASK)
    contribute(app, "submissions.detail.sections", _panel_section)
    contribute(app, SLOT, mydata.sections)
    contribute(app, "submissions.withdraw.effects", _withdrawal_effect)


REMIND_TASK = "reviews.send_reminders"


def remind(ctx: Any, at: str | None = None) -> dict[str, int]:
    """The daily reminders job (`REVIEW_REMINDER_CRON`); `at` is the day it stands for.
    Idempotent: one notification per thing per day, whoever runs it and however often."""
    from .operations import send_reminders

    day = dt.date.fromisoformat(at) if at else dt.date.today()
    return {"sent": send_reminders(ctx.session, day)}


def _panel_section(submission: Any) -> tuple[str, dict[str, Any]]:
    from ..db import db
    from .forms import DueDateForm, WithdrawForm
    from .queries import panel

    return "reviews/_submission_panel.html", {
        "panel": panel(db.session, submission.id),
        "today": dt.date.today(),
        "due_form": DueDateForm(formdata=None),
        "withdraw_form": WithdrawForm(formdata=None),
    }


def _withdrawal_effect(submission: Any) -> str:
    from flask_babel import gettext as _

    from ..db import db
    from .operations import open_panel_count

    count = open_panel_count(db.session, submission)
    return _("%(n)s open invitations and reviews are cancelled.", n=count)
