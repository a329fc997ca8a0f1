"""Models of the review workflow."""

from ...notifications.models import Notification
from .assignments import Assignment
from .reviews import Review

__all__ = ["Assignment", "Notification", "Review"]
