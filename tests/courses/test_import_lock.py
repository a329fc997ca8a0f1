"""Issue 12, short write transactions: a course-folder import renders, extracts and stores its
files before its transaction begins, holds SQLite's write lock only for one flush, and leaves
nothing behind (rows or files) when that write fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from courses.models import Course, Lesson, Material
from courses.operations import importer
from expertpool.db import db
from tests.conftest import running_app

from .test_import import write_course


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """A database file (the courses' shared fixture is in memory): other connections see it."""
    with running_app(tmp_path, UPLOAD_FOLDER=str(tmp_path / "uploads")) as app:
        yield app


def _database_path() -> str:
    return str(db.engine.url.database)


def _probe_write(path: str) -> None:
    """Another connection writes and commits at once, or fails: no waiting for a lock."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("UPDATE user SET last_login_at = '2026-01-01T00:00:00'")
        other.commit()
    finally:
        other.close()


def _stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"]) / "courses"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _specs(tmp_path: Path) -> list[importer.CourseSpec]:
    source = tmp_path / "source"
    write_course(source, "rm-basics")
    write_course(source, "rm-advanced", title="进阶", prerequisites=["rm-basics"])
    return importer.parse_folder(db.session, source)


def test_others_write_while_the_courses_are_prepared(app: Flask, tmp_path: Path) -> None:
    """Rendering, PDF text and file storage happen with no lock: another connection's write
    with a 0 s busy timeout commits during them and just before the write, and the import,
    whose transaction begins only then, still commits."""
    path = _database_path()
    specs = _specs(tmp_path)
    probes: list[str] = []

    def preparing(items: Any) -> Any:
        for spec in items:
            _probe_write(path)
            probes.append(f"preparing {spec.slug}")
            yield spec

    def before_write(_session: Any) -> None:
        assert all(spec.prepared for spec in specs)  # everything rendered and stored already
        _probe_write(path)
        probes.append("before write")

    db.session.info[importer.BEFORE_WRITE] = before_write
    result = importer.apply(
        db.session, None, specs, upload_root=app.config["UPLOAD_FOLDER"], progress=preparing
    )
    db.session.commit()
    assert probes == ["preparing rm-advanced", "preparing rm-basics", "before write"]
    assert sorted(result.created) == ["rm-advanced", "rm-basics"]
    handout = db.session.scalar(select(Lesson).where(Lesson.file_name == "handout.pdf"))
    assert "定值方法概述" in handout.pdf_text
    assert (Path(app.config["UPLOAD_FOLDER"]) / handout.file_path).is_file()


def test_the_probe_does_see_the_import_holding_the_lock(app: Flask, tmp_path: Path) -> None:
    """The probe above is not blind: once the rows are written and until the commit, it fails."""
    importer.apply(db.session, None, _specs(tmp_path), upload_root=app.config["UPLOAD_FOLDER"])
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _probe_write(_database_path())
    db.session.commit()
    _probe_write(_database_path())


def test_the_rows_are_written_by_one_flush(app: Flask, tmp_path: Path) -> None:
    """Not one flush per lesson: the import's rows go in one flush (then the audit log's rows,
    which the audit hook adds after it)."""
    specs = _specs(tmp_path)
    flushes: list[tuple[set[str], int]] = []

    def note(session: Any, _context: Any, _instances: Any) -> None:
        flushes.append(({type(o).__name__ for o in session.new}, len(session.new)))

    event.listen(db.session, "before_flush", note)
    try:
        importer.apply(db.session, None, specs, upload_root=app.config["UPLOAD_FOLDER"])
    finally:
        event.remove(db.session, "before_flush", note)
    db.session.commit()
    rows = {"Course", "Chapter", "Lesson", "Material", "Quiz", "Question"}
    # 2 × (course, 2 chapters, 3 lessons, 1 material, quiz, 3 questions)
    assert flushes == [(rows, 22), ({"AuditLog"}, 2)]
    assert db.session.scalar(select(func.count(Material.id))) == 2


def test_a_failed_write_keeps_no_row_and_no_file(app: Flask, tmp_path: Path) -> None:
    """A slug taken by another connection after the check: the write fails, nothing of the
    import is in the database and the files it stored are gone."""
    path = _database_path()
    specs = _specs(tmp_path)

    def taken(_session: Any) -> None:
        assert len(_stored_files(app)) == 4  # per course: the PDF lesson and a CSV material
        other = sqlite3.connect(path, timeout=0)
        other.execute(
            "INSERT INTO course (slug, title, summary, language, topic, audience, level, hours,"
            " instructor, tags, required_for_experts, status, version, created_at, updated_at)"
            " VALUES ('rm-basics', '先到者', '', 'zh', 'iso17034', '[\"reviewer\"]', 'beginner',"
            " 1, '某', '[]', 0, 'draft', 1, '2026-01-01', '2026-01-01')"
        )
        other.commit()
        other.close()

    db.session.info[importer.BEFORE_WRITE] = taken
    with pytest.raises(IntegrityError):
        importer.apply(db.session, None, specs, upload_root=app.config["UPLOAD_FOLDER"])
    db.session.rollback()
    assert list(db.session.scalars(select(Course.title))) == ["先到者"]
    assert db.session.scalar(select(func.count(Lesson.id))) == 0
    assert _stored_files(app) == []


def test_files_of_an_import_rolled_back_after_the_write_are_removed(
    app: Flask, tmp_path: Path
) -> None:
    """The caller's transaction fails after `apply` (the job's own bookkeeping, the commit):
    its rollback removes the files as well as the rows."""
    importer.apply(db.session, None, _specs(tmp_path), upload_root=app.config["UPLOAD_FOLDER"])
    assert len(_stored_files(app)) == 4
    db.session.rollback()
    assert _stored_files(app) == [] and db.session.scalar(select(func.count(Course.id))) == 0


def test_a_committed_import_keeps_its_files(app: Flask, tmp_path: Path) -> None:
    importer.apply(db.session, None, _specs(tmp_path), upload_root=app.config["UPLOAD_FOLDER"])
    db.session.commit()
    db.session.rollback()  # (a later transaction ending without a commit)
    assert len(_stored_files(app)) == 4
    paths = {p for p in db.session.scalars(select(Lesson.file_path)) if p}
    paths |= set(db.session.scalars(select(Material.file_path)))
    root = Path(app.config["UPLOAD_FOLDER"])
    assert {p.relative_to(root).as_posix() for p in _stored_files(app)} == paths


def test_replace_in_one_flush_keeps_lessons_and_retires_drawn_questions(
    app: Flask, tmp_path: Path, trainee: Any
) -> None:
    """The rewritten write path for `--replace`: lessons matched by file keep their rows (and
    the learner's progress), a question drawn in an attempt is retired, not deleted, an unused
    one is deleted, a lesson left out is deleted, and the materials are replaced."""
    from courses import operations as ops
    from courses.models import Question
    from courses.operations.quizzes import start_attempt

    from .test_import import QUIZ

    root = app.config["UPLOAD_FOLDER"]
    write_course(tmp_path / "v1", "rm-basics", draw=3)
    importer.apply(
        db.session, None, importer.parse_folder(db.session, tmp_path / "v1"), upload_root=root
    )
    db.session.commit()
    course = db.session.scalar(select(Course))
    lesson_ids = [lesson.id for lesson in course.lessons]
    enrollment = ops.enrol(db.session, trainee, course)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    attempt = start_attempt(db.session, enrollment)
    db.session.commit()
    assert len(attempt.question_ids) == 3  # every question drawn: all of them are in use
    old_material = db.session.scalar(select(Material.file_path))

    write_course(
        tmp_path / "v2",
        "rm-basics",
        title="第二版",
        lesson_two=False,
        draw=2,
        quiz=QUIZ.replace("稳定性研究只需要做长期稳定性。", "短期稳定性模拟运输条件。"),
    )
    specs = importer.parse_folder(db.session, tmp_path / "v2", replace=True)
    result = importer.apply(db.session, None, specs, upload_root=root)
    db.session.commit()
    db.session.expire_all()
    assert result.updated == ["rm-basics"] and result.created == []
    course = db.session.scalar(select(Course))
    assert course.title == "第二版" and [c.title for c in course.chapters] == ["第一章", "第二章"]
    assert [lesson.id for lesson in course.lessons] == [lesson_ids[0], lesson_ids[2]]
    retired = db.session.scalar(select(Question).where(Question.text.like("稳定性研究%")))
    assert retired is not None and retired.active is False
    assert [q.text for q in course.active_questions][1] == "短期稳定性模拟运输条件。"
    assert course.quiz.draw_size == 2
    materials = list(db.session.scalars(select(Material)))
    assert len(materials) == 1 and materials[0].file_path != old_material
    assert materials[0].lesson_id == lesson_ids[0]
