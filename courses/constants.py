"""Fixed vocabularies of the training feature (the same values as the course folder format)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

TOPICS = {
    "rm_development": _l("RM development and production"),
    "iso17034": _l("ISO 17034 quality system"),
    "homogeneity_stability": _l("Homogeneity and stability"),
    "value_assignment": _l("Value assignment"),
    "uncertainty": _l("Uncertainty evaluation"),
    "traceability": _l("Metrological traceability"),
    "certificates": _l("Certificates and labels"),
    "statistics": _l("Statistics"),
    "review_rules": _l("Review rules for experts"),
    "supervision": _l("Supervision and enforcement"),
}

AUDIENCES = {
    "technician": _l("Technicians"),
    "manager": _l("Managers"),
    "reviewer": _l("Reviewers"),
    "regulator": _l("Regulators"),
}

LEVELS = {
    "beginner": _l("Beginner"),
    "intermediate": _l("Intermediate"),
    "advanced": _l("Advanced"),
}
LEVEL_ORDER = {name: rank for rank, name in enumerate(LEVELS)}

LANGUAGES = {"zh": "中文", "en": "English"}

LESSON_KINDS = {
    "text": _l("Text"),
    "pdf": _l("PDF document"),
    "video": _l("Video"),
    "file": _l("Downloadable file"),
}

QUESTION_KINDS = {
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice (all or nothing)"),
    "truefalse": _l("True / false"),
    "fill": _l("Fill in the blank"),
}

# When a quiz attempt's review shows the right answers and explanations (per-question right/wrong
# is always shown). Default: after a passing attempt or once no attempt is left.
REVIEW_NEVER, REVIEW_AFTER_PASS = "never", "after_pass"
REVIEW_AFTER_LAST, REVIEW_AFTER_PASS_OR_LAST = "after_last_attempt", "after_pass_or_last"
REVIEW_POLICIES = {
    REVIEW_AFTER_PASS_OR_LAST: _l("After passing or after the last attempt"),
    REVIEW_AFTER_PASS: _l("Only after passing"),
    REVIEW_AFTER_LAST: _l("Only after the last attempt"),
    REVIEW_NEVER: _l("Never"),
}
DEFAULT_REVIEW_POLICY = REVIEW_AFTER_PASS_OR_LAST

# Hour ranges of the catalogue facet: key -> (low inclusive, high exclusive, label).
HOUR_RANGES: dict[str, tuple[float, float, str]] = {
    "lt4": (0, 4, "< 4"),
    "4to8": (4, 8, "4–8"),
    "8to16": (8, 16, "8–16"),
    "ge16": (16, float("inf"), "≥ 16"),
}

DRAFT, PUBLISHED = "draft", "published"
ENROLLED, COMPLETED = "enrolled", "completed"
OPEN, SUBMITTED, EXPIRED = "open", "submitted", "expired"

# Extensions accepted for each uploaded lesson kind (checked on upload and on import).
VIDEO_EXTENSIONS = {".mp4", ".webm", ".ogv", ".m4v"}
PDF_EXTENSIONS = {".pdf"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
PASSED_STATUSES = (SUBMITTED,)  # an expired attempt never passes
