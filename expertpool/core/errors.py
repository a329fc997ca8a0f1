"""The one exception type a refused operation raises: its message is written for the user.

Each feature's error (`ExpertError`, `SubmissionError`, `ReviewError`, ...) derives from it, so a
page that runs an operation whose event receivers belong to other features (withdrawing a
submission cancels its reviews) can show any of their refusals without importing them.
"""

from __future__ import annotations


class OperationError(Exception):
    """An operation refused: nothing was changed, and `str(error)` says why."""
