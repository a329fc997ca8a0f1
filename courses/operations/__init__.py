"""State-changing operations of the training feature, by subject.

Each takes a session (and the acting user where one acts), validates, `flush()`es and never
commits (the request or the CLI command commits once), sends the domain events of
`expertpool.core.signals`, and raises `courses.errors.CourseError` with a message fit for the
user. None reads the Flask request. Callers write `from courses import operations as ops` and
`ops.enrol(...)`; the course-folder importer, a two-step procedure with its own vocabulary
(`parse_folder`, then `apply`), is used as `ops.importer`.

- `authoring`: courses, chapters, lessons, files, quiz settings and the question bank, publishing
- `learning`: enrolment (self or assigned), lesson progress, completion
- `quizzes`: starting, submitting (grading) and expiring quiz attempts
- `certificates`: issuing and revoking certificates
- `training`: assigning the required courses to the experts
- `importer`: course folders (courses/COURSE_FOLDERS.md) loaded all or nothing
"""

from . import importer
from .authoring import (
    COURSE_FIELDS,
    Upload,
    add_chapter,
    add_material,
    apply_course_fields,
    check_version,
    course_field_problems,
    create_course,
    delete_lesson,
    delete_material,
    delete_question,
    lesson_problems,
    move_lesson,
    quiz_problems,
    save_lesson,
    save_question,
    set_cover,
    set_prerequisites,
    set_quiz,
    set_status,
    update_chapter,
    update_course,
    upload_problems,
)
from .certificates import issue_certificate, new_code, revoke_certificate
from .learning import (
    AssignResult,
    assign,
    check_completion,
    enrol,
    mark_done,
    record_visit,
    require_prerequisites,
    save_position,
)
from .quizzes import (
    DEFAULT_GRACE,
    expire_overdue,
    is_late,
    require_lessons,
    start_attempt,
    submit_attempt,
)
from .training import assign_required_to_experts

__all__ = [
    "COURSE_FIELDS",
    "DEFAULT_GRACE",
    "AssignResult",
    "Upload",
    "add_chapter",
    "add_material",
    "apply_course_fields",
    "assign",
    "assign_required_to_experts",
    "check_completion",
    "check_version",
    "course_field_problems",
    "create_course",
    "delete_lesson",
    "delete_material",
    "delete_question",
    "enrol",
    "expire_overdue",
    "importer",
    "is_late",
    "issue_certificate",
    "lesson_problems",
    "mark_done",
    "move_lesson",
    "new_code",
    "quiz_problems",
    "record_visit",
    "require_lessons",
    "require_prerequisites",
    "revoke_certificate",
    "save_lesson",
    "save_position",
    "save_question",
    "set_cover",
    "set_prerequisites",
    "set_quiz",
    "set_status",
    "start_attempt",
    "submit_attempt",
    "update_chapter",
    "update_course",
    "upload_problems",
]
