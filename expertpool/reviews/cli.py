"""`flask reviews remind`: reminders for unanswered invitations and reviews due (for cron)."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from ..core import audit
from ..db import db
from .operations import send_reminders

reviews_cli = AppGroup("reviews", help="The review workflow.")


@reviews_cli.command("remind")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Act as if today were this day (default: today).",
)
def remind_command(day: dt.datetime | None) -> None:
    """Send due reminders to the inbox (and by e-mail when SMTP_HOST is set); prints a count."""
    audit.set_actor(db.session, None, note="reviews remind")
    today = day.date() if day else dt.date.today()
    try:
        sent = send_reminders(db.session, today)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"{sent} reminder(s) sent.")
