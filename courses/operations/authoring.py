"""Authoring operations (administrators): courses, chapters, lessons, files and the question bank.

Operations take the acting user, flush but never commit, and raise `CourseError` with a message
fit for the user. Validation of course fields is shared with the folder importer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import storage
from expertpool.core.pdftext import is_pdf
from expertpool.core.textlists import split_list
from expertpool.db import savepoint, utcnow

from .. import grading
from ..constants import (
    AUDIENCES,
    DEFAULT_REVIEW_POLICY,
    DRAFT,
    IMAGE_EXTENSIONS,
    LANGUAGES,
    LESSON_KINDS,
    LEVELS,
    PDF_EXTENSIONS,
    PUBLISHED,
    REVIEW_POLICIES,
    TOPICS,
    VIDEO_EXTENSIONS,
)
from ..content import render
from ..errors import CourseError, StaleEdit
from ..models import Chapter, Course, Enrollment, Lesson, Material, Question, Quiz, QuizAttempt
from ..search.index import material_changed

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Short names that are pages under /courses/ themselves: a course there could not be reached.
RESERVED_SLUGS = frozenset({"search"})
COURSE_FIELDS = (
    "slug",
    "title",
    "summary",
    "language",
    "topic",
    "audience",
    "level",
    "hours",
    "instructor",
    "tags",
    "required_for_experts",
    "validity_years",
)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def check_version(course: Course, expected: int | None) -> None:
    if expected is not None and expected != course.version:
        raise StaleEdit(
            str(
                _l(
                    "This course was changed by someone else after you opened the "
                    "form. Your changes were not saved: reload and edit again."
                )
            )
        )


# --- course fields ----------------------------------------------------------------------------


def course_field_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, problem) for every course field that is missing or wrong; [] when all is well."""
    problems: list[tuple[str, str]] = []

    def bad(field: str, message: str) -> None:
        problems.append((field, message))

    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug):
        bad("slug", "must be 1-64 characters of a-z, 0-9 and '-'")
    elif slug in RESERVED_SLUGS:
        bad("slug", "is the address of a catalogue page; choose another short name")
    for field, limit in (("title", 200), ("instructor", 64)):
        value = data.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            bad(field, f"must be non-empty text of at most {limit} characters")
    if not isinstance(data.get("summary", ""), str):
        bad("summary", "must be text")
    _choice(bad, data, "language", LANGUAGES)
    _choice(bad, data, "topic", TOPICS)
    _choice(bad, data, "level", LEVELS)
    audience = data.get("audience")
    if not isinstance(audience, list) or not audience or any(a not in AUDIENCES for a in audience):
        bad("audience", f"must be a non-empty list of: {', '.join(AUDIENCES)}")
    hours = data.get("hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 1000:
        bad("hours", "must be a number of learning hours above 0")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        bad("tags", "must be a list of text")
    if not isinstance(data.get("required_for_experts", False), bool):
        bad("required_for_experts", "must be true or false")
    validity = data.get("validity_years")
    if validity is not None and (
        isinstance(validity, bool) or not isinstance(validity, int) or validity < 1
    ):
        bad("validity_years", "must be a whole number of years (at least 1)")
    return problems


def _choice(bad: Any, data: dict[str, Any], field: str, allowed: dict[str, Any]) -> None:
    if data.get(field) not in allowed:
        bad(field, f"must be one of: {', '.join(allowed)}")


def _raise_problems(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise CourseError("; ".join(f"{field}: {message}" for field, message in problems))


def apply_course_fields(course: Course, data: dict[str, Any]) -> None:
    for field in COURSE_FIELDS:
        if field in data:
            value = data[field]
            if field in ("title", "summary", "instructor") and isinstance(value, str):
                value = value.strip()
            if field == "audience":
                value = list(dict.fromkeys(v.strip() for v in value if v.strip()))
            elif field == "tags":  # tidied by the one list rule, item by item
                value = split_list(value)
            setattr(course, field, value)


def create_course(session: Session, actor: User | None, data: dict[str, Any]) -> Course:
    """A new draft course (chapters and lessons are added afterwards)."""
    data = {"summary": "", "tags": [], "required_for_experts": False, **data}
    _raise_problems(course_field_problems(data))
    if session.scalar(select(Course.id).where(Course.slug == data["slug"])):
        raise CourseError(
            str(_l("A course with the short name %(slug)s already exists.", slug=data["slug"]))
        )
    course = Course(status=DRAFT, created_by_id=getattr(actor, "id", None))
    apply_course_fields(course, data)
    with _slug_unique(session, data["slug"]):
        session.add(course)
    material_changed(session, course)
    return course


def update_course(
    session: Session,
    actor: User,
    course: Course,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Course:
    check_version(course, expected_version)
    merged = {f: getattr(course, f) for f in COURSE_FIELDS} | data
    _raise_problems(course_field_problems(merged))
    if merged["slug"] != course.slug and session.scalar(
        select(Course.id).where(Course.slug == merged["slug"])
    ):
        raise CourseError(
            str(_l("A course with the short name %(slug)s already exists.", slug=merged["slug"]))
        )
    with _slug_unique(session, merged["slug"]):
        apply_course_fields(course, data)
    material_changed(session, course)
    return course


@contextmanager
def _slug_unique(session: Session, slug: str) -> Iterator[None]:
    """Make the block's changes and flush them; a short name taken meanwhile is refused as before.

    Inside a SAVEPOINT (opened before the changes: opening it flushes what is pending), so the
    refusal leaves the rest of the transaction usable.
    """
    try:
        with savepoint(session):
            yield
            session.flush()
    except IntegrityError:
        if not session.scalar(select(Course.id).where(Course.slug == slug)):
            raise
        raise CourseError(
            str(_l("A course with the short name %(slug)s already exists.", slug=slug))
        ) from None


def set_prerequisites(session: Session, course: Course, prerequisites: Iterable[Course]) -> None:
    """Replace the prerequisites, refusing a course that would (indirectly) require itself."""
    wanted = list(dict.fromkeys(prerequisites))
    for other in wanted:
        if other.id == course.id or course in _all_prerequisites(other):
            raise CourseError(
                str(
                    _l(
                        "“%(other)s” cannot be a prerequisite of “%(course)s”: it "
                        "would make a loop.",
                        other=other.title,
                        course=course.title,
                    )
                )
            )
    course.prerequisites = wanted
    session.flush()


def _all_prerequisites(course: Course) -> set[Course]:
    seen: set[Course] = set()
    stack = list(course.prerequisites)
    while stack:
        item = stack.pop()
        if item not in seen:
            seen.add(item)
            stack.extend(item.prerequisites)
    return seen


def set_status(session: Session, actor: User, course: Course, publish: bool) -> Course:
    """Publish (learners see it) or return to draft (hidden from the catalogue)."""
    if publish:
        if not course.lessons:
            raise CourseError(str(_l("A course needs at least one lesson to be published.")))
        if (
            course.quiz is not None
            and course.quiz.draw_size
            and course.quiz.draw_size > len(course.active_questions)
        ):
            raise CourseError(
                str(
                    _l(
                        "The quiz draws %(n)s questions but the bank has %(m)s.",
                        n=course.quiz.draw_size,
                        m=len(course.active_questions),
                    )
                )
            )
        course.status = PUBLISHED
        course.published_at = course.published_at or utcnow()
    else:
        course.status = DRAFT
    session.flush()
    material_changed(session, course)
    return course


def set_cover(session: Session, course: Course, upload: Upload, upload_root: str) -> None:
    if Path(upload.filename).suffix.lower() not in IMAGE_EXTENSIONS:
        raise CourseError(str(_l("The cover must be an image (PNG, JPEG, GIF or WebP).")))
    course.cover_path = _store(upload_root, course.id, upload)
    session.flush()


# --- chapters and lessons ---------------------------------------------------------------------


def add_chapter(session: Session, course: Course, title: str) -> Chapter:
    title = title.strip()
    if not title:
        raise CourseError(str(_l("The chapter needs a title.")))
    chapter = Chapter(title=title, position=_next_position(course.chapters))
    course.chapters.append(chapter)
    session.flush()
    return chapter


def _next_position(items: list[Any]) -> int:
    return max((item.position for item in items), default=0) + 1


def update_chapter(session: Session, chapter: Chapter, action: str, title: str = "") -> None:
    """Rename, move up/down, or delete (only when empty) a chapter."""
    course = chapter.course
    if action == "rename":
        if not title.strip():
            raise CourseError(str(_l("The chapter needs a title.")))
        chapter.title = title.strip()
    elif action in ("up", "down"):
        _swap(course.chapters, chapter, -1 if action == "up" else 1)
    elif action == "delete":
        if chapter.lessons:
            raise CourseError(str(_l("Delete or move the chapter's lessons first.")))
        course.chapters.remove(chapter)
    else:
        raise CourseError(str(_l("Unknown action.")))
    session.flush()


def _swap(items: list[Any], item: Any, step: int) -> None:
    ordered = sorted(items, key=lambda x: x.position)
    index = ordered.index(item)
    other = index + step
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, each in enumerate(ordered, start=1):
        each.position = position


def lesson_problems(
    kind: str, title: str, minutes: Any, video_url: str | None, has_file: bool, markdown: str | None
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if kind not in LESSON_KINDS:
        problems.append(("kind", f"must be one of: {', '.join(LESSON_KINDS)}"))
    if not title or not title.strip():
        problems.append(("title", "is required"))
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= 1440:
        problems.append(("minutes", "must be a whole number of minutes above 0"))
    if kind == "text" and not (markdown or "").strip():
        problems.append(("markdown", "a text lesson needs text"))
    if kind == "video" and not has_file and not video_url:
        problems.append(("video", "upload a video or give an intranet URL"))
    if video_url and not re.match(r"^https?://", video_url):
        problems.append(("video_url", "must start with http:// or https://"))
    if kind in ("pdf", "file") and not has_file:
        problems.append(("file", "a file is needed"))
    return problems


def save_lesson(
    session: Session,
    chapter: Chapter,
    lesson: Lesson | None,
    *,
    title: str,
    kind: str,
    minutes: int,
    markdown: str | None = None,
    video_url: str | None = None,
    upload: Upload | None = None,
    upload_root: str | None = None,
    source_key: str | None = None,
) -> Lesson:
    """Create or change a lesson; an upload replaces the lesson's file (PDF text re-extracted)."""
    has_file = upload is not None or bool(lesson and lesson.file_path)
    problems = lesson_problems(kind, title, minutes, video_url, has_file, markdown)
    if upload is not None:
        problems.extend(upload_problems(kind, upload))
    _raise_problems(problems)
    if lesson is None:
        lesson = Lesson(position=_next_position(chapter.lessons), course=chapter.course)
        chapter.lessons.append(lesson)
    elif lesson.chapter is not chapter:
        lesson.chapter = chapter
        lesson.position = _next_position(chapter.lessons)
    lesson.title, lesson.kind, lesson.minutes = title.strip(), kind, minutes
    lesson.markdown = markdown or None
    lesson.html = render.render_markdown(markdown) if markdown else None
    lesson.video_url = video_url or None
    lesson.source_key = source_key or lesson.source_key
    session.flush()
    if upload is not None:
        _attach_file(lesson, upload, upload_root)
    if kind != "pdf":
        lesson.pdf_text = None
    session.flush()
    material_changed(session, lesson.course)
    return lesson


def upload_problems(kind: str, upload: Upload) -> list[tuple[str, str]]:
    suffix = Path(upload.filename).suffix.lower()
    if kind == "pdf" and (suffix not in PDF_EXTENSIONS or not is_pdf(upload.data)):
        return [("file", "must be a PDF file")]
    if kind == "video" and suffix not in VIDEO_EXTENSIONS:
        return [("file", f"a video must be one of: {', '.join(sorted(VIDEO_EXTENSIONS))}")]
    if not upload.data:
        return [("file", "is empty")]
    return []


def _store(upload_root: str, course_id: int, upload: Upload) -> str:
    """Save a course file under `courses/<id>/` (a random prefix, then its sanitised name)."""
    return storage.save(
        upload_root, f"courses/{course_id}", upload.filename, upload.data, keep_name=True
    )


def _attach_file(lesson: Lesson, upload: Upload, upload_root: str | None) -> None:
    if upload_root is None:
        raise ValueError("upload_root is needed to store a file")
    lesson.file_path = _store(upload_root, lesson.course_id, upload)
    lesson.file_name = Path(upload.filename).name
    lesson.file_mime = storage.guess_mime(upload.filename)
    lesson.file_size = len(upload.data)
    if lesson.kind == "pdf":
        lesson.pdf_text = render.pdf_text(upload.data)


def move_lesson(session: Session, lesson: Lesson, step: int) -> None:
    _swap(lesson.chapter.lessons, lesson, step)
    session.flush()


def delete_lesson(session: Session, lesson: Lesson) -> None:
    """Delete a lesson with its learners' progress in it (files are pruned by the CLI)."""
    course = lesson.chapter.course
    lesson.chapter.lessons.remove(lesson)
    session.flush()
    material_changed(session, course)


def add_material(
    session: Session,
    course: Course,
    lesson: Lesson | None,
    title: str,
    upload: Upload,
    upload_root: str,
) -> Material:
    if not upload.data:
        raise CourseError(str(_l("The file is empty.")))
    material = Material(
        course=course,
        lesson=lesson,
        title=title.strip() or Path(upload.filename).name,
        file_name=Path(upload.filename).name,
        mime=storage.guess_mime(upload.filename),
        size=len(upload.data),
        file_path="",
    )
    session.add(material)
    session.flush()
    material.file_path = _store(upload_root, course.id, upload)
    session.flush()
    return material


def delete_material(session: Session, material: Material) -> None:
    session.delete(material)
    session.flush()


# --- quiz and question bank -------------------------------------------------------------------


def quiz_problems(
    pass_mark: Any,
    time_limit: Any,
    attempt_limit: Any,
    draw_size: Any,
    review_policy: Any = DEFAULT_REVIEW_POLICY,
    lessons_first: Any = True,
) -> list[tuple[str, str]]:
    problems = []
    if review_policy not in REVIEW_POLICIES:
        problems.append(("review_policy", f"must be one of {', '.join(REVIEW_POLICIES)}"))
    if not isinstance(lessons_first, bool):
        problems.append(("lessons_first", "must be true or false"))
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int) or not 0 < pass_mark <= 100:
        problems.append(("pass_mark", "must be a percentage from 1 to 100"))
    for field, value in (
        ("time_limit_minutes", time_limit),
        ("attempt_limit", attempt_limit),
        ("draw", draw_size),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            problems.append((field, "must be a whole number of at least 1 (or left empty)"))
    return problems


def set_quiz(
    session: Session,
    course: Course,
    *,
    pass_mark: int,
    time_limit: int | None,
    attempt_limit: int | None,
    draw_size: int | None,
    review_policy: str = DEFAULT_REVIEW_POLICY,
    lessons_first: bool = True,
) -> Quiz:
    _raise_problems(
        quiz_problems(pass_mark, time_limit, attempt_limit, draw_size, review_policy, lessons_first)
    )
    quiz = course.quiz or Quiz(course=course)
    quiz.pass_mark, quiz.time_limit_minutes = pass_mark, time_limit
    quiz.attempt_limit, quiz.draw_size = attempt_limit, draw_size
    quiz.review_policy, quiz.lessons_first = review_policy, lessons_first
    session.add(quiz)
    session.flush()
    return quiz


def save_question(
    session: Session,
    course: Course,
    question: Question | None,
    *,
    kind: str,
    text: str,
    options: list[str],
    answer: Any,
    explanation: str | None,
) -> Question:
    options = [o.strip() for o in options if o.strip()] if kind in ("single", "multiple") else []
    problems = grading.validate_question(kind, options, answer)
    if not text.strip():
        problems.append("text: the question needs text")
    if problems:
        raise CourseError("; ".join(problems))
    if question is None:
        question = Question(position=_next_position(course.questions))
        course.questions.append(question)
    question.kind, question.text, question.options = kind, text.strip(), options
    question.answer, question.explanation = answer, (explanation or "").strip() or None
    question.active = True
    session.flush()
    return question


def delete_question(session: Session, question: Question) -> bool:
    """Delete a question; one already drawn in an attempt is retired instead (returns False)."""
    used = any(
        question.id in (ids or [])
        for ids in session.scalars(
            select(QuizAttempt.question_ids)
            .join(Enrollment)
            .where(Enrollment.course_id == question.course_id)
        )
    )
    if used:
        question.active = False
        session.flush()
        return False
    question.course.questions.remove(question)
    session.flush()
    return True
