"""Notifications for every feature: the in-app inbox and e-mail (when SMTP is configured).

`models.Notification` is the message row, `service` addresses people (in their own language),
`mailer` sends e-mail, and `handlers` turns the domain events of `core.signals` into messages.
This package sits below the features: it imports accounts and the core, never a feature.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: connect the receivers that turn domain events into messages."""
    from . import handlers

    handlers.connect()
