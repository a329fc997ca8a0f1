"""Models of the expert pool."""

from .changes import PendingChange
from .experts import (
    Assessment,
    ConflictOfInterest,
    DevelopedRM,
    Employment,
    Expert,
    ExpertCategory,
    PastReview,
    Publication,
    Specialty,
    StatusEvent,
    UnavailablePeriod,
)
from .institutions import Institution, InstitutionAlias
from .violations import Violation

__all__ = [
    "Assessment",
    "ConflictOfInterest",
    "DevelopedRM",
    "Employment",
    "Expert",
    "ExpertCategory",
    "Institution",
    "InstitutionAlias",
    "PastReview",
    "PendingChange",
    "Publication",
    "Specialty",
    "StatusEvent",
    "UnavailablePeriod",
    "Violation",
]
