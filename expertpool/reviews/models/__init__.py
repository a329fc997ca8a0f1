"""Models of the review workflow."""

from .assignments import Assignment
from .notifications import Notification
from .reviews import Review

__all__ = ["Assignment", "Notification", "Review"]
