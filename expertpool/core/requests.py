"""Request helpers shared by every feature's handlers."""

from __future__ import annotations

from flask import flash, g


def fail(message: str) -> None:
    """Show an error and roll the request's changes back.

    The app factory commits once per request in `after_request`; `g.rollback` makes it roll back
    instead, also for a response that renders a page (status 200) after a refused operation.
    """
    flash(message, "danger")
    g.rollback = True
