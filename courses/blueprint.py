"""URL rules of the training feature (handlers declare who may use them)."""

from __future__ import annotations

from flask import Blueprint

from .controllers import admin as adm
from .controllers import authoring as auth
from .controllers import importing as imp
from .controllers import learning as learn
from .controllers import public
from .controllers import quizzes as qz
from .controllers import search as sr

bp = Blueprint("courses", __name__, template_folder="templates")
rule = bp.add_url_rule
POST = ["POST"]
GET_POST = ["GET", "POST"]

# Learners (any signed-in user).
rule("/courses/", "catalogue", learn.catalogue)
rule("/courses/search", "search", sr.search)
rule("/courses/<slug>", "course", learn.course)
rule("/courses/<slug>/cover", "cover", learn.cover)
rule("/courses/<slug>/enrol", "enrol", learn.enrol, methods=POST)
rule("/courses/<slug>/resume", "resume", learn.resume)
rule("/courses/<slug>/lessons/<int:lesson_id>", "lesson", learn.lesson)
rule("/courses/<slug>/lessons/<int:lesson_id>/file", "lesson_file", learn.lesson_file)
rule("/courses/<slug>/lessons/<int:lesson_id>/done", "lesson_done", learn.lesson_done, methods=POST)
rule(
    "/courses/<slug>/lessons/<int:lesson_id>/position",
    "lesson_position",
    learn.lesson_position,
    methods=POST,
)
rule("/courses/<slug>/materials/<int:material_id>", "material", learn.material)
rule("/courses/<slug>/quiz", "quiz", qz.quiz)
rule("/courses/<slug>/quiz/start", "quiz_start", qz.quiz_start, methods=POST)
rule("/courses/<slug>/quiz/attempts/<int:attempt_id>", "attempt", qz.attempt)
rule(
    "/courses/<slug>/quiz/attempts/<int:attempt_id>/submit",
    "attempt_submit",
    qz.attempt_submit,
    methods=POST,
)
rule("/me/learning", "my_learning", learn.my_learning)
rule("/me/transcript", "transcript", learn.transcript)
rule("/me/transcript.<fmt>", "transcript_export", learn.transcript_export, methods=GET_POST)
rule("/certificates/<code>.pdf", "certificate_pdf", learn.certificate_pdf)

# Anyone: the page a certificate's QR code points to.
rule("/verify/<code>", "verify", public.verify)

# Administrators: authoring.
rule("/admin/courses/", "admin_courses", auth.courses)
rule("/admin/courses/new", "admin_new", auth.course_new, methods=GET_POST)
rule("/admin/courses/import", "admin_import", imp.course_import, methods=GET_POST)
rule("/admin/courses/import/jobs/<int:job_id>", "admin_import_job", imp.course_import_job)
rule("/admin/courses/<int:course_id>", "admin_edit", auth.course_edit, methods=GET_POST)
rule("/admin/courses/<int:course_id>/publish", "admin_publish", auth.course_publish, methods=POST)
rule("/admin/courses/<int:course_id>/chapters", "admin_chapter_add", auth.chapter_add, methods=POST)
rule("/admin/courses/chapters/<int:chapter_id>", "admin_chapter", auth.chapter_action, methods=POST)
rule(
    "/admin/courses/<int:course_id>/lessons/new",
    "admin_lesson_new",
    auth.lesson_new,
    methods=GET_POST,
)
rule(
    "/admin/courses/lessons/<int:lesson_id>",
    "admin_lesson_edit",
    auth.lesson_edit,
    methods=GET_POST,
)
rule(
    "/admin/courses/lessons/<int:lesson_id>/action",
    "admin_lesson_action",
    auth.lesson_action,
    methods=POST,
)
rule(
    "/admin/courses/lessons/<int:lesson_id>/materials",
    "admin_material_add",
    auth.material_add,
    methods=POST,
)
rule(
    "/admin/courses/materials/<int:material_id>/delete",
    "admin_material_delete",
    auth.material_delete,
    methods=POST,
)
rule("/admin/courses/<int:course_id>/quiz", "admin_quiz", auth.quiz, methods=GET_POST)
rule(
    "/admin/courses/<int:course_id>/questions/new",
    "admin_question_new",
    auth.question_new,
    methods=GET_POST,
)
rule(
    "/admin/courses/questions/<int:question_id>",
    "admin_question_edit",
    auth.question_edit,
    methods=GET_POST,
)
rule(
    "/admin/courses/questions/<int:question_id>/delete",
    "admin_question_delete",
    auth.question_delete,
    methods=POST,
)

# Administrators: learning, certificates, reports, required training.
rule(
    "/admin/courses/<int:course_id>/enrolments",
    "admin_enrolments",
    adm.enrolments,
    methods=GET_POST,
)
rule(
    "/admin/courses/<int:course_id>/assign-experts",
    "admin_assign_experts",
    adm.assign_experts,
    methods=POST,
)
rule("/admin/training/certificates", "admin_certificates", adm.certificate_list)
rule(
    "/admin/training/certificates/<int:certificate_id>/revoke",
    "admin_revoke",
    adm.revoke,
    methods=POST,
)
rule("/admin/training/reports", "admin_reports", adm.report)
rule("/admin/training/reports.xlsx", "admin_reports_export", adm.report_export)
rule("/admin/training/required", "admin_required", adm.required)
rule("/admin/training/required/assign", "admin_assign_required", adm.assign_required, methods=POST)
rule("/admin/training/learners/<int:user_id>", "admin_learner", adm.learner)
rule(
    "/admin/training/learners/<int:user_id>/transcript.<fmt>",
    "admin_learner_export",
    adm.learner_export,
    methods=GET_POST,
)


@bp.app_template_global()
def course_label(kind: str, key: str) -> str:
    """Label of a topic, audience, level, lesson kind or question kind."""
    from . import constants

    table = {
        "topic": constants.TOPICS,
        "audience": constants.AUDIENCES,
        "level": constants.LEVELS,
        "lesson": constants.LESSON_KINDS,
        "question": constants.QUESTION_KINDS,
    }.get(kind, {})
    return str(table.get(key, key))


@bp.app_template_filter()
def hours(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
