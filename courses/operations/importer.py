"""Course folders (format: courses/COURSE_FOLDERS.md) loaded into the catalogue, all or nothing.

`parse_folder` reads and checks everything first — manifests, lesson files, PDFs, the question
bank, prerequisites (known, no loops) — and collects every problem with its file and field.
Only when there is none does `apply` write, so a broken manifest leaves the database untouched.

Re-importing a slug that exists is refused unless `replace=True`; then the course is updated in
place: lessons are matched by their file name (learners keep their progress), questions by
kind and text (questions already used in attempts are retired, not deleted), and its
draft/published status is kept.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import storage
from expertpool.db import savepoint, utcnow

from .. import grading
from ..constants import DEFAULT_REVIEW_POLICY, PDF_EXTENSIONS, PUBLISHED, VIDEO_EXTENSIONS
from ..models import Course, Lesson, Question
from ..search.index import material_changed
from . import authoring

log = logging.getLogger(__name__)
MANIFEST = "course.toml"


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
        if spec is not None:
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


def apply(
    session: Session,
    actor: User | None,
    specs: list[CourseSpec],
    *,
    upload_root: str,
    publish: bool = True,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> ImportResult:
    """Write checked specs (inside a savepoint: a failure leaves nothing half-written)."""
    result = ImportResult()
    with savepoint(session):
        courses = {}
        for spec in (progress or iter)(specs):
            course = session.scalar(select(Course).where(Course.slug == spec.slug))
            (result.updated if course else result.created).append(spec.slug)
            courses[spec.slug] = _write_course(session, actor, course, spec, upload_root, publish)
        for spec in specs:
            prerequisites = [
                courses.get(s) or session.scalar(select(Course).where(Course.slug == s))
                for s in spec.prerequisites
            ]
            authoring.set_prerequisites(session, courses[spec.slug], prerequisites)
    for course in courses.values():
        material_changed(session, course)
    return result


def _write_course(
    session: Session,
    actor: User | None,
    course: Course | None,
    spec: CourseSpec,
    upload_root: str,
    publish: bool,
) -> Course:
    if course is None:
        course = authoring.create_course(session, actor, spec.fields)
        if publish:
            course.status, course.published_at = PUBLISHED, utcnow()
    else:
        authoring.apply_course_fields(course, spec.fields)
    if spec.cover is not None:
        authoring.set_cover(
            session, course, authoring.Upload(spec.cover.name, spec.cover.data), upload_root
        )
    _write_chapters(session, course, spec, upload_root)
    _write_quiz(session, course, spec)
    for material in list(course.materials):
        if material.lesson_id is None:
            authoring.delete_material(session, material)
    for item in spec.materials:
        authoring.add_material(
            session, course, None, item.title, authoring.Upload(item.name, item.data), upload_root
        )
    session.flush()
    return course


def _write_chapters(session: Session, course: Course, spec: CourseSpec, upload_root: str) -> None:
    old_lessons: dict[str, Lesson] = {
        lesson.source_key or f"#{lesson.id}": lesson for lesson in course.lessons
    }
    chapters = list(course.chapters)
    for index, (title, lessons) in enumerate(spec.chapters):
        if index < len(chapters):
            chapter = chapters[index]
            chapter.title, chapter.position = title, index + 1
        else:
            chapter = authoring.add_chapter(session, course, title)
        for position, item in enumerate(lessons, start=1):
            lesson = old_lessons.pop(item.source_key, None)
            upload = authoring.Upload(item.upload.name, item.upload.data) if item.upload else None
            lesson = authoring.save_lesson(
                session,
                chapter,
                lesson,
                title=item.title,
                kind=item.kind,
                minutes=item.minutes,
                markdown=item.markdown,
                video_url=item.video_url,
                upload=upload,
                upload_root=upload_root,
                source_key=item.source_key,
            )
            lesson.position = position
            for material in list(lesson.materials):
                authoring.delete_material(session, material)
            for m in item.materials:
                authoring.add_material(
                    session, course, lesson, m.title, authoring.Upload(m.name, m.data), upload_root
                )
    for lesson in old_lessons.values():
        authoring.delete_lesson(session, lesson)
    for chapter in chapters[len(spec.chapters) :]:
        course.chapters.remove(chapter)
    session.flush()


def _write_quiz(session: Session, course: Course, spec: CourseSpec) -> None:
    if spec.quiz is None:
        for question in list(course.questions):
            authoring.delete_question(session, question)
        if course.quiz is not None:
            session.delete(course.quiz)
            course.quiz = None
        return
    authoring.set_quiz(session, course, **spec.quiz)
    old: dict[tuple[str, str], Question] = {(q.kind, q.text): q for q in course.questions}
    for position, item in enumerate(spec.questions, start=1):
        question = authoring.save_question(
            session,
            course,
            old.pop((item["kind"], item["text"]), None),
            kind=item["kind"],
            text=item["text"],
            options=item["options"],
            answer=item["answer"],
            explanation=item["explanation"],
        )
        question.position = position
    for question in old.values():
        authoring.delete_question(session, question)
