"""Fixed vocabularies of the review workflow."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    MEMBER = "member"
    ALTERNATE = "alternate"


class AssignmentStatus(StrEnum):
    PROPOSED = "proposed"  # an alternate waiting behind the panel (or a proposal not yet sent)
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


# Statuses that count towards an expert's yearly load (reviews.eligibility uses the same set).
LOAD_STATUSES = frozenset(
    {AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED, AssignmentStatus.COMPLETED}
)
OPEN_STATUSES = frozenset({AssignmentStatus.INVITED, AssignmentStatus.ACCEPTED})

# The criteria a review examines (ISO 17034, ISO Guide 35, JJF 1343): one verdict and comment each.
CRITERIA = (
    "homogeneity",
    "stability",
    "value_assignment",
    "uncertainty",
    "traceability",
    "certificate_label",
)
CRITERION_LABELS = {
    "homogeneity": _l("Homogeneity"),
    "stability": _l("Stability"),
    "value_assignment": _l("Value assignment"),
    "uncertainty": _l("Uncertainty"),
    "traceability": _l("Metrological traceability"),
    "certificate_label": _l("Certificate and label"),
}
VERDICTS = ("satisfactory", "minor", "major", "not_applicable")
VERDICT_LABELS = {
    "satisfactory": _l("Satisfactory"),
    "minor": _l("Minor issues"),
    "major": _l("Major issues"),
    "not_applicable": _l("Not applicable"),
}
RECOMMENDATIONS = ("approve", "approve_with_revisions", "revise_and_resubmit", "reject")
RECOMMENDATION_LABELS = {
    "approve": _l("Approve"),
    "approve_with_revisions": _l("Approve with revisions"),
    "revise_and_resubmit": _l("Revise and resubmit"),
    "reject": _l("Reject"),
}
STATUS_LABELS = {
    AssignmentStatus.PROPOSED: _l("Alternate"),
    AssignmentStatus.INVITED: _l("Invited"),
    AssignmentStatus.ACCEPTED: _l("Accepted"),
    AssignmentStatus.DECLINED: _l("Declined"),
    AssignmentStatus.WITHDRAWN: _l("Withdrawn"),
    AssignmentStatus.COMPLETED: _l("Completed"),
}


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
