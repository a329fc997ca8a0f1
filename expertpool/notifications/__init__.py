"""Notifications for every feature: the in-app inbox and e-mail (when SMTP is configured).

`models.Notification` is the message row, `service` addresses people (in their own language),
`mailer` sends e-mail, and `handlers` turns the domain events of `core.signals` into messages.
This package sits below the features: it imports accounts and the core, never a feature.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: connect the receivers that turn domain events into messages."""
    from ..accounts.mydata import SLOT
    from ..core.features import contribute
    from . import handlers

    handlers.connect()
    contribute(app, SLOT, _my_messages)


def _my_messages(user: object) -> list:
    """The person's inbox messages, for their own-data export (`accounts.mydata`)."""
    from flask_babel import gettext as _
    from sqlalchemy import select

    from ..accounts.mydata import Section, rows_of
    from ..db import db
    from .models import Notification

    user_id = getattr(user, "id", None)
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    )
    return [Section("messages", _("Messages"), rows_of(rows))]
