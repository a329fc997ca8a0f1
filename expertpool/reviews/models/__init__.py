"""Models of the review workflow."""

from ...notifications.models import Notification
from .assignments import Assignment
from .reviews import Review
from .spot_checks import SpotCheck, SpotCheckItem

__all__ = ["Assignment", "Notification", "Review", "SpotCheck", "SpotCheckItem"]
