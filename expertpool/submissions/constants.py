"""Fixed vocabularies of submissions: kinds, review types, grades and statuses."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Kind(StrEnum):
    RM_CERTIFICATION = "rm_certification"  # 标准物质定级评审
    TECHNICAL_ASSISTANCE = "technical_assistance"  # 技术帮扶


class ReviewType(StrEnum):
    NEW = "new"  # 新研制
    REPRODUCTION = "reproduction"  # 复制
    RECERTIFICATION = "recertification"  # 新定值


class Grade(StrEnum):
    FIRST = "first"  # 一级, GBW xxxxx
    SECOND = "second"  # 二级, GBW(E) xxxxxx


class SubmissionStatus(StrEnum):
    REGISTERED = "registered"
    MATCHING = "matching"
    ASSIGNED = "assigned"
    IN_REVIEW = "in_review"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


# Review types that concern an existing RM, so its GBW number is required.
NEEDS_GBW = frozenset({ReviewType.REPRODUCTION, ReviewType.RECERTIFICATION})
CLOSED = frozenset({SubmissionStatus.COMPLETED, SubmissionStatus.WITHDRAWN})

KIND_LABELS = {
    Kind.RM_CERTIFICATION: _l("RM certification review"),
    Kind.TECHNICAL_ASSISTANCE: _l("Technical assistance request"),
}
REVIEW_TYPE_LABELS = {
    ReviewType.NEW: _l("New RM"),
    ReviewType.REPRODUCTION: _l("Reproduction"),
    ReviewType.RECERTIFICATION: _l("Re-certification"),
}
GRADE_LABELS = {Grade.FIRST: _l("First grade (GBW)"), Grade.SECOND: _l("Second grade (GBW(E))")}
STATUS_LABELS = {
    SubmissionStatus.REGISTERED: _l("Registered"),
    SubmissionStatus.MATCHING: _l("Matching"),
    SubmissionStatus.ASSIGNED: _l("Panel assigned"),
    SubmissionStatus.IN_REVIEW: _l("In review"),
    SubmissionStatus.COMPLETED: _l("Completed"),
    SubmissionStatus.WITHDRAWN: _l("Withdrawn"),
}

# Chinese words accepted by the importer (the template is Chinese), and English ones.
KIND_WORDS = {
    "标准物质定级评审": Kind.RM_CERTIFICATION,
    "定级评审": Kind.RM_CERTIFICATION,
    "定级鉴定": Kind.RM_CERTIFICATION,
    "标准物质评审": Kind.RM_CERTIFICATION,
    "rm certification": Kind.RM_CERTIFICATION,
    "certification": Kind.RM_CERTIFICATION,
    "技术帮扶": Kind.TECHNICAL_ASSISTANCE,
    "帮扶": Kind.TECHNICAL_ASSISTANCE,
    "technical assistance": Kind.TECHNICAL_ASSISTANCE,
}
REVIEW_TYPE_WORDS = {
    "新研制": ReviewType.NEW,
    "研制": ReviewType.NEW,
    "new rm": ReviewType.NEW,
    "复制": ReviewType.REPRODUCTION,
    "新定值": ReviewType.RECERTIFICATION,
    "复评": ReviewType.RECERTIFICATION,
    "re-certification": ReviewType.RECERTIFICATION,
}
GRADE_WORDS = {"一级": Grade.FIRST, "1": Grade.FIRST, "二级": Grade.SECOND, "2": Grade.SECOND}
KIND_ZH = {Kind.RM_CERTIFICATION: "标准物质定级评审", Kind.TECHNICAL_ASSISTANCE: "技术帮扶"}
REVIEW_TYPE_ZH = {
    ReviewType.NEW: "新研制",
    ReviewType.REPRODUCTION: "复制",
    ReviewType.RECERTIFICATION: "新定值",
}
GRADE_ZH = {Grade.FIRST: "一级", Grade.SECOND: "二级"}
