"""Course folders (format: courses/COURSE_FOLDERS.md) loaded into the catalogue, all or nothing.

`parse_folder` reads and checks everything first — manifests, lesson files, PDFs, the question
bank, prerequisites (known, no loops) — and collects every problem with its file and field.
Only when there is none does `apply` write, so a broken manifest leaves the database untouched.

The write transaction is short (issue 12): `prepare` renders the Markdown, extracts the PDF text
and stores the files under new names with no transaction open; `apply` then writes every row in
one SAVEPOINT begun with BEGIN IMMEDIATE and one flush (20 demo courses: SQLite's write lock
~0.1 s instead of ~1.5 s, BENCHMARKS.md). A failed write, or the caller's rollback, removes
the stored files again.

Re-importing a slug that exists is refused unless `replace=True`; then the course is updated in
place: lessons are matched by their file name (learners keep their progress), questions by
kind and text (questions already used in attempts are retired, not deleted), and its
draft/published status is kept.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import storage
from expertpool.core.features import listen
from expertpool.db import savepoint, utcnow

from .. import grading
from ..constants import (
    DEFAULT_REVIEW_POLICY,
    DRAFT,
    IMAGE_EXTENSIONS,
    PDF_EXTENSIONS,
    PUBLISHED,
    VIDEO_EXTENSIONS,
)
from ..content import render
from ..models import Chapter, Course, Enrollment, Lesson, Material, Question, Quiz, QuizAttempt
from ..search.index import material_changed
from . import authoring

log = logging.getLogger(__name__)
MANIFEST = "course.toml"
BEFORE_WRITE = "course_import_before_write"  # session.info: a hook for the tests, just before
# the write transaction begins (everything prepared)
_UNCOMMITTED = "course_import_files"  # session.info: files of rows written, not yet committed


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.message}"
            if self.field
            else f"{self.file}: {self.message}"
        )


class ImportFailed(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class FileSpec:
    name: str
    data: bytes
    title: str = ""
    stored: str | None = None  # its path in the upload folder, once `prepare` saved it


@dataclass
class LessonSpec:
    title: str
    kind: str
    minutes: int
    source_key: str
    markdown: str | None = None
    upload: FileSpec | None = None
    video_url: str | None = None
    materials: list[FileSpec] = field(default_factory=list)
    html: str | None = None  # the rendered Markdown (`prepare`)
    pdf_text: str | None = None  # the PDF's text (`prepare`)


@dataclass
class CourseSpec:
    folder: Path
    fields: dict[str, Any]
    prerequisites: list[str]
    chapters: list[tuple[str, list[LessonSpec]]]
    quiz: dict[str, Any] | None
    questions: list[dict[str, Any]]
    cover: FileSpec | None = None
    materials: list[FileSpec] = field(default_factory=list)
    prepared: bool = False  # rendered and its files stored (`prepare`)

    @property
    def slug(self) -> str:
        return self.fields["slug"]


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


# --- reading and checking ---------------------------------------------------------------------


def course_folders(root: Path) -> list[Path]:
    """`root` itself when it is a course folder, else its sub-folders that hold a manifest."""
    if (root / MANIFEST).is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / MANIFEST).is_file())


def parse_folder(
    session: Session,
    root: Path,
    *,
    replace: bool = False,
    progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
) -> list[CourseSpec]:
    """Read and check every course under `root`; raises ImportFailed listing all problems."""
    root = Path(root)
    if not root.is_dir():
        raise ImportFailed([Problem(str(root), "", "not a folder")])
    folders = course_folders(root)
    if not folders:
        raise ImportFailed(
            [Problem(str(root), "", f"no {MANIFEST} found in it or its sub-folders")]
        )
    problems: list[Problem] = []
    specs = []
    for folder in (progress or iter)(folders):
        spec = _parse_course(folder, problems)
        if spec is not None:
            specs.append(spec)
    _check_batch(session, specs, replace, problems)
    if problems:
        raise ImportFailed(problems)
    return specs


def _rel(folder: Path, name: str) -> str:
    return f"{folder.name}/{name}"


def _load_toml(path: Path, label: str, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        problems.append(Problem(label, "", "file not found"))
    except UnicodeDecodeError:
        problems.append(Problem(label, "", "not UTF-8 text"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(label, "", f"invalid TOML: {exc}"))
    return None


def _parse_course(folder: Path, problems: list[Problem]) -> CourseSpec | None:
    label = _rel(folder, MANIFEST)
    manifest = _load_toml(folder / MANIFEST, label, problems)
    if manifest is None:
        return None
    before = len(problems)
    fields = {k: manifest.get(k) for k in authoring.COURSE_FIELDS if k in manifest}
    fields.setdefault("summary", "")
    fields.setdefault("tags", [])
    fields.setdefault("required_for_experts", False)
    for name, message in authoring.course_field_problems(fields):
        problems.append(Problem(label, name, message))
    if isinstance(fields.get("slug"), str) and fields["slug"] != folder.name:
        log.info("course %r lives in folder %r", fields["slug"], folder.name)
    prerequisites = manifest.get("prerequisites", [])
    if not isinstance(prerequisites, list) or not all(isinstance(p, str) for p in prerequisites):
        problems.append(Problem(label, "prerequisites", "must be a list of course slugs"))
        prerequisites = []
    chapters = _parse_chapters(folder, manifest.get("chapters"), label, problems)
    quiz, questions = _parse_quiz(folder, manifest.get("quiz"), label, problems)
    cover = (
        _read_file(folder, manifest["cover"], label, "cover", problems)
        if manifest.get("cover")
        else None
    )
    if cover is not None and Path(cover.name).suffix.lower() not in IMAGE_EXTENSIONS:
        problems.append(Problem(label, "cover", "must be an image (PNG, JPEG, GIF or WebP)"))
    materials = _parse_materials(
        folder, manifest.get("materials", []), label, "materials", problems
    )
    if len(problems) > before:
        return None
    return CourseSpec(
        folder=folder,
        fields=fields,
        prerequisites=list(prerequisites),
        chapters=chapters,
        quiz=quiz,
        questions=questions,
        cover=cover,
        materials=materials,
    )


def _read_file(
    folder: Path, name: Any, label: str, where: str, problems: list[Problem]
) -> FileSpec | None:
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(label, where, "must name a file"))
        return None
    try:
        path = storage.resolve(folder, name)
    except storage.UnsafePath:
        problems.append(Problem(label, where, f"{name!r} is outside the course folder"))
        return None
    if not path.is_file():
        problems.append(Problem(label, where, f"file {name!r} not found"))
        return None
    return FileSpec(name=name, data=path.read_bytes())


def _parse_materials(
    folder: Path, items: Any, label: str, where: str, problems: list[Problem]
) -> list[FileSpec]:
    if not isinstance(items, list):
        problems.append(Problem(label, where, "must be a list of file names"))
        return []
    out = []
    for index, item in enumerate(items):
        name = item.get("file") if isinstance(item, dict) else item
        spec = _read_file(folder, name, label, f"{where}[{index}]", problems)
        if spec is not None and not spec.data:
            problems.append(Problem(label, f"{where}[{index}]", f"file {spec.name!r} is empty"))
        elif spec is not None:
            spec.title = (item.get("title") if isinstance(item, dict) else None) or Path(
                spec.name
            ).name
            out.append(spec)
    return out


def _parse_chapters(
    folder: Path, chapters: Any, label: str, problems: list[Problem]
) -> list[tuple[str, list[LessonSpec]]]:
    if not isinstance(chapters, list) or not chapters:
        problems.append(Problem(label, "chapters", "at least one [[chapters]] is needed"))
        return []
    out, seen = [], set()
    for c_index, chapter in enumerate(chapters):
        where = f"chapters[{c_index}]"
        title = chapter.get("title") if isinstance(chapter, dict) else None
        if not isinstance(title, str) or not title.strip():
            problems.append(Problem(label, f"{where}.title", "is required"))
        lessons = chapter.get("lessons") if isinstance(chapter, dict) else None
        if not isinstance(lessons, list) or not lessons:
            problems.append(Problem(label, f"{where}.lessons", "at least one lesson is needed"))
            continue
        specs = []
        for l_index, lesson in enumerate(lessons):
            spec = _parse_lesson(folder, lesson, label, f"{where}.lessons[{l_index}]", problems)
            if spec is None:
                continue
            if spec.source_key in seen:
                problems.append(
                    Problem(
                        label,
                        f"{where}.lessons[{l_index}].file",
                        f"{spec.source_key!r} is used by two lessons",
                    )
                )
            seen.add(spec.source_key)
            specs.append(spec)
        out.append((str(title or "").strip(), specs))
    return out


def _kind_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".md", ".markdown"):
        return "text"
    if suffix in PDF_EXTENSIONS:
        return "pdf"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return "file"


def _parse_lesson(
    folder: Path, lesson: Any, label: str, where: str, problems: list[Problem]
) -> LessonSpec | None:
    if not isinstance(lesson, dict):
        problems.append(Problem(label, where, "must be a table"))
        return None
    before = len(problems)
    title, minutes = lesson.get("title"), lesson.get("minutes")
    name, video_url = lesson.get("file"), lesson.get("video_url")
    kind = lesson.get("kind") or (_kind_of(name) if isinstance(name, str) else "video")
    spec = LessonSpec(
        title=str(title or "").strip(),
        kind=kind,
        minutes=minutes,
        source_key=str(name or video_url or title or ""),
        video_url=video_url,
    )
    if name is not None:
        upload = _read_file(folder, name, label, f"{where}.file", problems)
        if upload is not None and kind == "text":
            spec.markdown = _markdown(upload, _rel(folder, name), problems)
        elif upload is not None:
            spec.upload = upload
    elif not video_url:
        problems.append(Problem(label, f"{where}.file", "is required (or video_url)"))
    file_ok = len(problems) == before  # don't report a missing file twice
    for name_, message in authoring.lesson_problems(
        kind, spec.title, minutes, video_url, spec.upload is not None, spec.markdown
    ):
        if file_ok or name_ in ("title", "minutes", "kind", "video_url"):
            problems.append(Problem(label, f"{where}.{name_}", message))
    if file_ok and spec.upload is not None:
        for name_, message in authoring.upload_problems(
            kind, authoring.Upload(spec.upload.name, spec.upload.data)
        ):
            problems.append(Problem(label, f"{where}.{name_}", message))
    spec.materials = _parse_materials(
        folder, lesson.get("materials", []), label, f"{where}.materials", problems
    )
    return spec if len(problems) == before else None


def _markdown(upload: FileSpec, label: str, problems: list[Problem]) -> str | None:
    try:
        text = upload.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(Problem(label, "", "not UTF-8 text"))
        return None
    if not text.strip():
        problems.append(Problem(label, "", "the lesson text is empty"))
        return None
    return text


def _parse_quiz(
    folder: Path, quiz: Any, label: str, problems: list[Problem]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if quiz is None:
        return None, []
    if not isinstance(quiz, dict):
        problems.append(Problem(label, "quiz", "must be a table"))
        return None, []
    settings = {
        "pass_mark": quiz.get("pass_mark", 60),
        "time_limit": quiz.get("time_limit_minutes"),
        "attempt_limit": quiz.get("attempt_limit"),
        "draw_size": quiz.get("draw"),
        "review_policy": quiz.get("review_policy", DEFAULT_REVIEW_POLICY),
        "lessons_first": quiz.get("lessons_first", True),
    }
    for name, message in authoring.quiz_problems(**settings):
        problems.append(Problem(label, f"quiz.{name}", message))
    bank_name = quiz.get("file", "quiz.toml")
    bank_label = _rel(folder, str(bank_name))
    bank = _load_toml(folder / str(bank_name), bank_label, problems)
    if bank is None:
        return settings, []
    questions = bank.get("questions")
    if not isinstance(questions, list) or not questions:
        problems.append(Problem(bank_label, "questions", "at least one [[questions]] is needed"))
        return settings, []
    out, texts = [], set()
    for index, q in enumerate(questions):
        where = f"questions[{index}]"
        if not isinstance(q, dict):
            problems.append(Problem(bank_label, where, "must be a table"))
            continue
        kind, text = q.get("kind"), q.get("text")
        options = q.get("options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            problems.append(Problem(bank_label, f"{where}.options", "must be a list of text"))
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(bank_label, f"{where}.text", "is required"))
        elif (kind, text.strip()) in texts:
            problems.append(Problem(bank_label, f"{where}.text", "the same question twice"))
        texts.add((kind, str(text).strip()))
        for problem in grading.validate_question(kind, options, q.get("answer")):
            name, _sep, message = problem.partition(": ")
            problems.append(Problem(bank_label, f"{where}.{name}", message))
        out.append(
            {
                "kind": kind,
                "text": str(text or "").strip(),
                "options": options,
                "answer": q.get("answer"),
                "explanation": q.get("explanation"),
            }
        )
    draw = settings["draw_size"]
    if isinstance(draw, int) and not isinstance(draw, bool) and draw > len(out):
        problems.append(
            Problem(label, "quiz.draw", f"draws {draw} questions but the bank has {len(out)}")
        )
    return settings, out


def _check_batch(
    session: Session, specs: list[CourseSpec], replace: bool, problems: list[Problem]
) -> None:
    """Slugs unique in the batch, existing ones only with replace, prerequisites known, no loop."""
    by_slug: dict[str, CourseSpec] = {}
    for spec in specs:
        label = _rel(spec.folder, MANIFEST)
        if spec.slug in by_slug:
            problems.append(
                Problem(
                    label, "slug", f"{spec.slug!r} is also used by {by_slug[spec.slug].folder.name}"
                )
            )
        by_slug[spec.slug] = spec
    existing = {c.slug: c for c in session.scalars(select(Course))}
    for spec in specs:
        label = _rel(spec.folder, MANIFEST)
        if spec.slug in existing and not replace:
            problems.append(
                Problem(
                    label,
                    "slug",
                    f"course {spec.slug!r} already exists (use --replace to update it)",
                )
            )
        for slug in spec.prerequisites:
            if slug not in by_slug and slug not in existing:
                problems.append(Problem(label, "prerequisites", f"unknown course {slug!r}"))
    graph = {slug: [p.slug for p in c.prerequisites] for slug, c in existing.items()}
    graph.update({s.slug: list(s.prerequisites) for s in specs})
    for slug in by_slug:
        if _in_cycle(graph, slug):
            problems.append(
                Problem(
                    _rel(by_slug[slug].folder, MANIFEST),
                    "prerequisites",
                    f"{slug!r} would (indirectly) require itself",
                )
            )


def _in_cycle(graph: dict[str, list[str]], start: str) -> bool:
    stack, seen = list(graph.get(start, [])), set()
    while stack:
        slug = stack.pop()
        if slug == start:
            return True
        if slug not in seen:
            seen.add(slug)
            stack.extend(graph.get(slug, []))
    return False


# --- writing ----------------------------------------------------------------------------------


def prepare(
    session: Session,
    specs: list[CourseSpec],
    *,
    upload_root: str,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> None:
    """Everything but the rows, before any transaction: Markdown rendered, PDF text extracted,
    every file stored under a new name (`courses/<id>/` for a course that exists, else
    `courses/new-<slug>/`). Nothing is written to the database and no lock is taken; `apply`
    then holds the write lock only while it writes the rows. A failure here leaves no file
    behind; once prepared, `discard` removes the files if the rows are not written."""
    slugs = [spec.slug for spec in specs if not spec.prepared]
    ids = dict(session.execute(select(Course.slug, Course.id).where(Course.slug.in_(slugs))).all())
    try:
        for spec in (progress or iter)(specs):
            if spec.prepared:
                continue
            folder = f"courses/{ids[spec.slug]}" if spec.slug in ids else f"courses/new-{spec.slug}"
            for item in _files(spec):
                item.stored = storage.save(
                    upload_root, folder, item.name, item.data, keep_name=True
                )
            for _title, lessons in spec.chapters:
                for lesson in lessons:
                    if lesson.markdown:
                        lesson.html = render.render_markdown(lesson.markdown)
                    if lesson.upload is not None and lesson.kind == "pdf":
                        lesson.pdf_text = render.pdf_text(lesson.upload.data)
            spec.prepared = True
    except BaseException:
        discard(upload_root, specs)
        raise


def _files(spec: CourseSpec) -> Iterator[FileSpec]:
    if spec.cover is not None:
        yield spec.cover
    yield from spec.materials
    for _title, lessons in spec.chapters:
        for lesson in lessons:
            if lesson.upload is not None:
                yield lesson.upload
            yield from lesson.materials


def discard(upload_root: str, specs: list[CourseSpec]) -> None:
    """Remove the files `prepare` stored (the import was not written)."""
    for spec in specs:
        for item in _files(spec):
            if item.stored:
                storage.delete(upload_root, item.stored)
                item.stored = None
        spec.prepared = False


def apply(
    session: Session,
    actor: User | None,
    specs: list[CourseSpec],
    *,
    upload_root: str,
    publish: bool = True,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    before_write: Callable[[], None] | None = None,
) -> ImportResult:
    """Write checked specs in one short transaction, all or nothing.

    `prepare` (unless done already) does the slow work first, outside any transaction; the
    courses that exist are read, then one SAVEPOINT (BEGIN IMMEDIATE on SQLite: the write lock
    from there to the commit) builds the rows from what was prepared and writes them with one
    flush. A failure writes nothing and removes the stored files. `before_write` (the job's
    claim of its upload) is called just before that transaction, after the reads."""
    prepare(session, specs, upload_root=upload_root, progress=progress)
    try:
        result = _write(session, actor, specs, publish, before_write)
    except BaseException:
        discard(upload_root, specs)
        raise
    # Written, not yet committed: a rollback of the caller's transaction removes the files too.
    paths = [item.stored for spec in specs for item in _files(spec) if item.stored]
    session.info.setdefault(_UNCOMMITTED, []).extend((upload_root, p) for p in paths)
    return result


def _files_committed(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_UNCOMMITTED, None)


def _files_not_committed(session: Session, transaction: Any) -> None:
    """The transaction that wrote the rows ended without a commit: their files go too."""
    if transaction.parent is None:
        for upload_root, path in session.info.pop(_UNCOMMITTED, []):
            storage.delete(upload_root, path)


def connect() -> None:
    """Attach the session handlers (the courses' `init_app` calls this)."""
    listen("after_commit", _files_committed)
    listen("after_transaction_end", _files_not_committed)


def _write(
    session: Session,
    actor: User | None,
    specs: list[CourseSpec],
    publish: bool,
    before_write: Callable[[], None] | None,
) -> ImportResult:
    slugs = {spec.slug for spec in specs} | {s for spec in specs for s in spec.prerequisites}
    existing = {c.slug: c for c in session.scalars(select(Course).where(Course.slug.in_(slugs)))}
    used = _used_questions(session, [existing[s.slug] for s in specs if s.slug in existing])
    for spec in specs:  # read now what the write changes, not while holding the lock
        if spec.slug in existing:
            _load(existing[spec.slug])
    hook = session.info.get(BEFORE_WRITE)
    if hook is not None:
        hook(session)
    if before_write is not None:
        before_write()
    result = ImportResult()
    courses: dict[str, Course] = {}
    with savepoint(session, immediate=True), session.no_autoflush:
        for spec in specs:
            course = existing.get(spec.slug)
            (result.updated if course else result.created).append(spec.slug)
            courses[spec.slug] = _build_course(session, actor, course, spec, publish, used)
        for spec in specs:
            courses[spec.slug].prerequisites = [
                courses.get(s) or existing[s] for s in spec.prerequisites
            ]
        session.flush()
    for course in courses.values():
        material_changed(session, course)
    return result


def _used_questions(session: Session, courses: list[Course]) -> set[int]:
    """Ids of these courses' questions drawn in an attempt (retired, not deleted)."""
    if not courses:
        return set()
    rows = session.scalars(
        select(QuizAttempt.question_ids)
        .join(Enrollment)
        .where(Enrollment.course_id.in_([c.id for c in courses]))
    )
    return {int(i) for ids in rows for i in (ids or [])}


def _load(course: Course) -> None:
    for chapter in course.chapters:
        for lesson in chapter.lessons:
            list(lesson.materials)
    list(course.materials)
    list(course.questions)
    list(course.prerequisites)
    _ = course.quiz


def _build_course(
    session: Session,
    actor: User | None,
    course: Course | None,
    spec: CourseSpec,
    publish: bool,
    used: set[int],
) -> Course:
    if course is None:
        course = Course(status=DRAFT, created_by_id=getattr(actor, "id", None))
        authoring.apply_course_fields(
            course, {"summary": "", "tags": [], "required_for_experts": False, **spec.fields}
        )
        if publish:
            course.status, course.published_at = PUBLISHED, utcnow()
        session.add(course)
    else:
        authoring.apply_course_fields(course, spec.fields)
    if spec.cover is not None:
        course.cover_path = spec.cover.stored
    old_materials = [m for m in course.materials if m.lesson_id is None and m.id is not None]
    _build_chapters(session, course, spec)
    _build_quiz(session, course, spec, used)
    for material in old_materials:
        session.delete(material)
    for item in spec.materials:
        _material(session, course, None, item)
    return course


def _material(session: Session, course: Course, lesson: Lesson | None, item: FileSpec) -> None:
    material = Material(
        title=item.title.strip() or Path(item.name).name,
        file_name=Path(item.name).name,
        mime=storage.guess_mime(item.name),
        size=len(item.data),
        file_path=item.stored,
    )
    session.add(material)  # (before its parents' collections take it: no SAWarning)
    material.course, material.lesson = course, lesson


def _build_chapters(session: Session, course: Course, spec: CourseSpec) -> None:
    old_lessons: dict[str, Lesson] = {
        lesson.source_key or f"#{lesson.id}": lesson for lesson in course.lessons
    }
    chapters = list(course.chapters)
    for index, (title, lessons) in enumerate(spec.chapters):
        if index < len(chapters):
            chapter = chapters[index]
            chapter.title, chapter.position = title, index + 1
        else:
            chapter = Chapter(title=title, position=index + 1)
            course.chapters.append(chapter)
        for position, item in enumerate(lessons, start=1):
            lesson = old_lessons.pop(item.source_key, None)
            if lesson is None:
                lesson = Lesson(course=course)
                chapter.lessons.append(lesson)
            elif lesson.chapter is not chapter:
                lesson.chapter = chapter
            for material in list(lesson.materials):
                session.delete(material)
            _set_lesson(lesson, item, position)
            for m in item.materials:
                _material(session, course, lesson, m)
    for lesson in old_lessons.values():
        lesson.chapter.lessons.remove(lesson)
    for chapter in chapters[len(spec.chapters) :]:
        course.chapters.remove(chapter)


def _set_lesson(lesson: Lesson, item: LessonSpec, position: int) -> None:
    """What `authoring.save_lesson` sets, from the prepared lesson."""
    lesson.position = position
    lesson.title, lesson.kind, lesson.minutes = item.title.strip(), item.kind, item.minutes
    lesson.markdown = item.markdown or None
    lesson.html = item.html if item.markdown else None
    lesson.video_url = item.video_url or None
    lesson.source_key = item.source_key or lesson.source_key
    if item.upload is not None:
        lesson.file_path = item.upload.stored
        lesson.file_name = Path(item.upload.name).name
        lesson.file_mime = storage.guess_mime(item.upload.name)
        lesson.file_size = len(item.upload.data)
        if item.kind == "pdf":
            lesson.pdf_text = item.pdf_text
    if item.kind != "pdf":
        lesson.pdf_text = None


def _build_quiz(session: Session, course: Course, spec: CourseSpec, used: set[int]) -> None:
    old: dict[tuple[str, str], Question] = {(q.kind, q.text): q for q in course.questions}
    if spec.quiz is None:
        for question in old.values():
            _delete_question(course, question, used)
        if course.quiz is not None:
            session.delete(course.quiz)
            course.quiz = None
        return
    quiz = course.quiz
    if quiz is None:
        quiz = course.quiz = Quiz()
    settings = spec.quiz
    quiz.pass_mark, quiz.time_limit_minutes = settings["pass_mark"], settings["time_limit"]
    quiz.attempt_limit, quiz.draw_size = settings["attempt_limit"], settings["draw_size"]
    quiz.review_policy = settings["review_policy"]
    quiz.lessons_first = settings["lessons_first"]
    for position, item in enumerate(spec.questions, start=1):
        question = old.pop((item["kind"], item["text"]), None)
        if question is None:
            question = Question()
            course.questions.append(question)
        kind, options = item["kind"], item["options"]
        options = (
            [o.strip() for o in options if o.strip()] if kind in ("single", "multiple") else []
        )
        question.kind, question.text, question.options = kind, item["text"].strip(), options
        question.answer = item["answer"]
        question.explanation = (item["explanation"] or "").strip() or None
        question.active, question.position = True, position
    for question in old.values():
        _delete_question(course, question, used)


def _delete_question(course: Course, question: Question, used: set[int]) -> None:
    """As `authoring.delete_question`: one drawn in an attempt is retired instead."""
    if question.id in used:
        question.active = False
    else:
        course.questions.remove(question)
