"""Moved to `expertpool.notifications.mailer` (kept so older imports still work)."""

from ..notifications.mailer import absolute, deliver, enabled  # noqa: F401
