"""Read-only queries of the training feature: what the pages, exports and home pages show.

Nothing here changes the database. Callers write `from courses import queries` and
`queries.progress(...)`; the two documents with exports of their own are used by module:
`queries.reports` (training figures for administrators, XLSX) and `queries.transcript` (a
learner's transcript, XLSX and PDF).

- `catalogue`: courses by address, catalogue browsing (facets, sorting, pages), course lists
- `learning`: enrolments, missing prerequisites, progress, where to resume
- `quizzes`: attempts, the answer sheet (never the answers), the review of an attempt
- `certificates`: certificates by code, per learner or enrolment, current or not
- `training`: required training, which certificates count, experts missing it
- `dashboard`: the learner's home page
- `reports`, `transcript`: see above
"""

from . import recertification, reports, training, transcript
from .catalogue import (
    CatalogueFilter,
    course_by_slug,
    courses_by_status,
    courses_by_title,
    enrolment_counts,
    published_courses,
)
from .certificates import (
    certificate_is_current,
    certificate_of,
    certificates_of,
    find_certificate,
    search_certificates,
)
from .dashboard import (
    CourseInProgress,
    LearnerDashboard,
    learner_dashboard,
    next_lesson,
    recommended_courses,
)
from .learning import (
    Progress,
    completed_course_ids,
    course_enrollments,
    enrollments_of,
    latest_enrollment,
    missing_prerequisites,
    progress,
    quiz_passed,
    resume_lesson,
    users_by_login,
)
from .quizzes import (
    answer_sheet,
    attempt_review,
    attempts_of,
    field_name,
    last_seen,
    lessons_pending,
    open_attempt,
    questions_of,
    remaining_attempts,
    reveals_answers,
)
from .training import (
    RequiredTrainingRow,
    TrainingRecord,
    TrainingRule,
    expert_required_training,
    experts_missing_training,
    experts_missing_training_count,
    experts_with_required_training,
    required_courses,
    training_status,
)

__all__ = [
    "CatalogueFilter",
    "CourseInProgress",
    "LearnerDashboard",
    "Progress",
    "RequiredTrainingRow",
    "TrainingRecord",
    "TrainingRule",
    "answer_sheet",
    "attempt_review",
    "attempts_of",
    "certificate_is_current",
    "certificate_of",
    "certificates_of",
    "completed_course_ids",
    "course_by_slug",
    "course_enrollments",
    "courses_by_status",
    "courses_by_title",
    "enrolment_counts",
    "enrollments_of",
    "expert_required_training",
    "experts_missing_training",
    "experts_missing_training_count",
    "experts_with_required_training",
    "field_name",
    "find_certificate",
    "last_seen",
    "latest_enrollment",
    "learner_dashboard",
    "lessons_pending",
    "missing_prerequisites",
    "next_lesson",
    "open_attempt",
    "progress",
    "published_courses",
    "questions_of",
    "quiz_passed",
    "recertification",
    "recommended_courses",
    "remaining_attempts",
    "reports",
    "required_courses",
    "resume_lesson",
    "reveals_answers",
    "search_certificates",
    "training",
    "training_status",
    "transcript",
    "users_by_login",
]
