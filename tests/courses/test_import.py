"""`flask courses import DIR`: course folders loaded all or nothing; re-import; demo content."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from courses import operations as ops
from courses.demo import DEMO_DIR
from courses.models import Course, Lesson, LessonProgress, Question
from courses.operations import importer
from expertpool.db import db

QUIZ = textwrap.dedent("""
    [[questions]]
    kind = "single"
    text = "均匀性检验通常采用哪种方法？"
    options = ["t 检验", "单因素方差分析"]
    answer = [1]
    explanation = "方差分析。"

    [[questions]]
    kind = "truefalse"
    text = "稳定性研究只需要做长期稳定性。"
    answer = false

    [[questions]]
    kind = "fill"
    text = "一级标准物质编号以 ____ 开头。"
    answer = ["GBW"]
""")


def _pdf(text: str) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont("STSong-Light", 12)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def write_course(
    root: Path,
    slug: str,
    *,
    title: str = "标准物质基础",
    prerequisites=(),
    extra_lessons: str = "",
    quiz: str = QUIZ,
    draw: int = 2,
    topic: str = "rm_development",
    lesson_two: bool = True,
) -> Path:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "01-intro.md").write_text(
        "# 1.1 引言\n\n## 概念\n\n标准物质是具有足够均匀和稳定的特性的材料。\n", "utf-8"
    )
    (folder / "02-more.md").write_text("# 1.2 分级\n\n## 一级与二级\n\nGBW 与 GBW(E)。\n", "utf-8")
    (folder / "handout.pdf").write_bytes(_pdf("讲义：定值方法概述"))
    (folder / "data.csv").write_text("a,b\n1,2\n", "utf-8")
    (folder / "quiz.toml").write_text(quiz, "utf-8")
    second = (
        """
[[chapters.lessons]]
title = "1.2 分级"
file = "02-more.md"
minutes = 20
"""
        if lesson_two
        else ""
    )
    prereqs = ", ".join(f'"{p}"' for p in prerequisites)
    (folder / "course.toml").write_text(
        f'''
slug = "{slug}"
title = "{title}"
summary = "一句话简介"
language = "zh"
topic = "{topic}"
audience = ["technician", "reviewer"]
level = "beginner"
hours = 4
instructor = "王建平"
prerequisites = [{prereqs}]
tags = ["基础"]
required_for_experts = false

[[chapters]]
title = "第一章"
[[chapters.lessons]]
title = "1.1 引言"
file = "01-intro.md"
minutes = 30
materials = ["data.csv"]
{second}
[[chapters]]
title = "第二章"
[[chapters.lessons]]
title = "2.1 讲义"
file = "handout.pdf"
minutes = 15
{extra_lessons}
[quiz]
file = "quiz.toml"
pass_mark = 60
time_limit_minutes = 20
attempt_limit = 3
draw = {draw}
''',
        "utf-8",
    )
    return folder


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_import_a_folder_of_courses(runner, tmp_path):
    write_course(tmp_path, "rm-basics")
    write_course(tmp_path, "rm-advanced", title="进阶", prerequisites=["rm-basics"])
    result = runner.invoke(args=["courses", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 new" in result.output
    basics = db.session.scalar(select(Course).where(Course.slug == "rm-basics"))
    advanced = db.session.scalar(select(Course).where(Course.slug == "rm-advanced"))
    assert basics.is_published and advanced.prerequisites == [basics]
    assert [c.title for c in basics.chapters] == ["第一章", "第二章"]
    kinds = {lesson.title: lesson.kind for lesson in basics.lessons}
    assert kinds == {"1.1 引言": "text", "1.2 分级": "text", "2.1 讲义": "pdf"}
    intro, _more, handout = basics.lessons
    assert '<h2 id="sec-1">概念</h2>' in intro.html and intro.source_key == "01-intro.md"
    assert "定值方法概述" in handout.pdf_text and handout.file_name == "handout.pdf"
    assert [m.file_name for m in intro.materials] == ["data.csv"]
    assert basics.quiz.draw_size == 2 and basics.quiz.attempt_limit == 3
    assert [q.kind for q in basics.questions] == ["single", "truefalse", "fill"]


def test_a_single_course_folder_and_draft_option(runner, tmp_path):
    folder = write_course(tmp_path, "rm-basics")
    result = runner.invoke(args=["courses", "import", "--draft", str(folder)])
    assert result.exit_code == 0, result.output
    assert not db.session.scalar(select(Course)).is_published


def test_a_broken_manifest_imports_nothing(runner, tmp_path):
    write_course(tmp_path, "a-good")
    broken = write_course(
        tmp_path,
        "b-broken",
        topic="astrology",
        quiz=QUIZ.replace("answer = [1]", "answer = [5]"),
        extra_lessons="""
[[chapters.lessons]]
title = "2.2 缺失"
file = "missing.md"
minutes = 10
""",
    )
    result = runner.invoke(args=["courses", "import", str(tmp_path)])
    assert result.exit_code != 0
    out = result.output
    assert "b-broken/course.toml: topic: must be one of" in out
    assert "b-broken/course.toml: chapters[1].lessons[1].file: file 'missing.md' not found" in out
    assert "b-broken/quiz.toml: questions[0].answer: index 5 is out of range" in out
    assert "nothing was imported" in out
    assert _count(Course) == 0 and _count(Lesson) == 0  # not even the good course
    assert broken.exists()


def test_invalid_toml_is_reported_with_its_file(app, tmp_path):
    folder = write_course(tmp_path, "rm-basics")
    (folder / "quiz.toml").write_text("[[questions]\nkind = ", "utf-8")
    with pytest.raises(importer.ImportFailed) as failed:
        importer.parse_folder(db.session, tmp_path)
    assert str(failed.value.problems[0]).startswith("rm-basics/quiz.toml: invalid TOML")


def test_draw_larger_than_the_bank_is_refused(app, tmp_path):
    write_course(tmp_path, "rm-basics", draw=9)
    with pytest.raises(importer.ImportFailed) as failed:
        importer.parse_folder(db.session, tmp_path)
    assert "quiz.draw: draws 9 questions but the bank has 3" in str(failed.value)


def test_unknown_and_circular_prerequisites(app, tmp_path):
    write_course(tmp_path, "a", prerequisites=["b"])
    write_course(tmp_path, "b", prerequisites=["a"])
    write_course(tmp_path, "c", prerequisites=["nowhere"])
    with pytest.raises(importer.ImportFailed) as failed:
        importer.parse_folder(db.session, tmp_path)
    text = str(failed.value)
    assert "c/course.toml: prerequisites: unknown course 'nowhere'" in text
    assert "a/course.toml: prerequisites: 'a' would (indirectly) require itself" in text


def test_reimport_is_refused_without_replace(runner, tmp_path):
    write_course(tmp_path, "rm-basics")
    assert runner.invoke(args=["courses", "import", str(tmp_path)]).exit_code == 0
    again = runner.invoke(args=["courses", "import", str(tmp_path)])
    assert again.exit_code != 0
    assert "course 'rm-basics' already exists (use --replace to update it)" in again.output


def test_replace_updates_in_place_and_keeps_progress(runner, tmp_path, trainee):
    write_course(tmp_path / "v1", "rm-basics")
    assert runner.invoke(args=["courses", "import", str(tmp_path / "v1")]).exit_code == 0
    course = db.session.scalar(select(Course))
    intro = course.lessons[0]
    enrollment = ops.enrol(db.session, trainee, course)
    ops.mark_done(db.session, enrollment, intro)
    db.session.commit()
    write_course(
        tmp_path / "v2",
        "rm-basics",
        title="标准物质基础（第二版）",
        lesson_two=False,
        quiz=QUIZ.replace("稳定性研究只需要做长期稳定性。", "短期稳定性模拟运输条件。"),
    )
    result = runner.invoke(args=["courses", "import", "--replace", str(tmp_path / "v2")])
    assert result.exit_code == 0, result.output
    assert "updated 1" in result.output
    db.session.expire_all()
    course = db.session.scalar(select(Course))
    assert course.title == "标准物质基础（第二版）" and course.is_published
    assert [lesson.title for lesson in course.lessons] == ["1.1 引言", "2.1 讲义"]
    assert course.lessons[0].id == intro.id  # same lesson row: the learner's tick survives
    assert db.session.scalar(
        select(LessonProgress.done).where(LessonProgress.lesson_id == intro.id)
    )
    texts = {q.text for q in course.active_questions}
    assert "短期稳定性模拟运输条件。" in texts and "稳定性研究只需要做长期稳定性。" not in texts
    assert _count(Question) == 3  # unused old question deleted, new one added


def test_dry_run_writes_nothing(runner, tmp_path):
    write_course(tmp_path, "rm-basics")
    result = runner.invoke(args=["courses", "import", "--dry-run", str(tmp_path)])
    assert result.exit_code == 0 and "1 course(s) are valid" in result.output
    assert _count(Course) == 0


def test_the_demo_content_is_valid(app):
    specs = importer.parse_folder(db.session, DEMO_DIR)
    assert len(specs) >= 20
    assert sum(len(lessons) for s in specs for _t, lessons in s.chapters) >= 150
    assert all(s.quiz and len(s.questions) >= (s.quiz["draw_size"] or 1) for s in specs)
    languages = {s.fields["language"] for s in specs}
    assert languages == {"zh", "en"}
    assert any(s.fields["required_for_experts"] for s in specs)


def test_prune_files_removes_only_unreferenced_files(app, runner, tmp_path):
    write_course(tmp_path / "v1", "rm-basics")
    runner.invoke(args=["courses", "import", str(tmp_path / "v1")])
    write_course(tmp_path / "v2", "rm-basics")
    runner.invoke(args=["courses", "import", "--replace", str(tmp_path / "v2")])
    root = Path(app.config["UPLOAD_FOLDER"])
    stored = {p.relative_to(root).as_posix() for p in (root / "courses").rglob("*") if p.is_file()}
    in_use = {lesson.file_path for lesson in db.session.scalars(select(Lesson)) if lesson.file_path}
    assert in_use < stored  # the re-import stored new copies; the old ones are orphans
    result = runner.invoke(args=["courses", "prune-files"])
    assert result.exit_code == 0, result.output
    left = {p.relative_to(root).as_posix() for p in (root / "courses").rglob("*") if p.is_file()}
    assert in_use <= left and not any("handout" in p for p in left - in_use)
    assert len(left) < len(stored)


def test_every_manifest_key_is_documented_in_the_folder_format():
    """courses/COURSE_FOLDERS.md names every key the importer reads, and every question kind."""
    from pathlib import Path

    import courses
    from courses import grading

    doc = (Path(courses.__file__).parent / "COURSE_FOLDERS.md").read_text(encoding="utf-8")
    keys = [*ops.COURSE_FIELDS, "prerequisites", "cover", "materials", "chapters"]
    keys += ["file", "pass_mark", "time_limit_minutes", "attempt_limit", "draw"]
    keys += ["review_policy", "lessons_first", "video_url", "minutes", *grading.KINDS]
    assert [k for k in keys if f"`{k}`" not in doc and f"[[{k}]]" not in doc] == []


@pytest.mark.parametrize("name", ["../secret.md", "/etc/passwd", "sub/../../secret.md", "link.md"])
def test_a_course_folder_names_no_file_outside_itself(app, tmp_path, name):
    root = tmp_path / "courses"
    folder = write_course(root, "rm-basics", lesson_two=False)
    (tmp_path / "secret.md").write_text("# secret\n", "utf-8")
    (folder / "link.md").symlink_to(tmp_path / "secret.md")  # a link that leads out
    manifest = folder / "course.toml"
    manifest.write_text(
        manifest.read_text("utf-8").replace('materials = ["data.csv"]', f'materials = ["{name}"]'),
        "utf-8",
    )
    with pytest.raises(importer.ImportFailed) as failed:
        importer.parse_folder(db.session, root)
    assert f"{name!r} is outside the course folder" in str(failed.value)
