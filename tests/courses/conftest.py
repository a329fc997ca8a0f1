"""Fixtures of the training tests: courses built through the authoring operations, learners."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from courses import operations as ops
from courses import queries
from courses.demo import right_answers
from courses.models import Certificate, Course
from expertpool.core.access import Role
from expertpool.db import db
from tests.conftest import running_app

_slugs = itertools.count(1)

# Explanations and the fill answer carry markers a leak test can look for.
QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": "single",
        "text": "均匀性检验通常采用哪种统计方法？",
        "options": ["t 检验", "单因素方差分析", "卡方检验"],
        "answer": [1],
        "explanation": "EXPLAIN-SINGLE 单因素方差分析比较瓶间与瓶内差异。",
    },
    {
        "kind": "multiple",
        "text": "不确定度评定包括哪些分量？",
        "options": ["定值", "均匀性", "稳定性", "包装颜色"],
        "answer": [0, 1, 2],
        "explanation": "EXPLAIN-MULTIPLE 定值、均匀性和稳定性。",
    },
    {
        "kind": "truefalse",
        "text": "稳定性研究只需要做长期稳定性。",
        "answer": False,
        "explanation": "EXPLAIN-TF 还需短期稳定性。",
    },
    {
        "kind": "fill",
        "text": "一级标准物质编号以 ____ 开头。",
        "answer": ["GBW", "GBW-XQZ"],
        "explanation": "EXPLAIN-FILL 国家一级标准物质。",
    },
]

LESSON_TEXT = """# {title}

## 为什么要做均匀性检验

标准物质的每个最小包装单元都应具有相同的特性量值。均匀性检验评估瓶间差异。

## 抽样方案

按 JJF 1343 随机抽取不少于 10 个单元，每个单元重复测量 2-3 次。
"""


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    """The shared app fixture with an in-memory database (same schema, much faster set-up)."""
    with running_app(
        tmp_path, DATABASE_URL="sqlite://", UPLOAD_FOLDER=str(tmp_path / "uploads")
    ) as app:
        yield app


@pytest.fixture(autouse=True)
def _english(english_ui: None) -> None:
    """These tests assert interface text in English."""


@pytest.fixture
def trainee(make_user: Callable[..., Any]) -> Any:
    return make_user(
        Role.TRAINEE, username="learner", name="李小梅", audience="technician", province="江苏省"
    )


@pytest.fixture
def make_course(app: Flask, admin: Any) -> Callable[..., Course]:
    def make(
        *,
        slug: str | None = None,
        title: str | None = None,
        lessons: int = 2,
        questions: list[dict[str, Any]] | None = None,
        quiz: dict[str, Any] | None = None,
        prerequisites: tuple[Course, ...] = (),
        publish: bool = True,
        required: bool = False,
        validity_years: int | None = None,
        **fields: Any,
    ) -> Course:
        n = next(_slugs)
        data = {
            "slug": slug or f"course-{n}",
            "title": title or f"标准物质均匀性检验 {n}",
            "summary": "均匀性检验的原理与方法。",
            "language": "zh",
            "topic": "homogeneity_stability",
            "audience": ["technician", "reviewer"],
            "level": "intermediate",
            "hours": 6,
            "instructor": "王建平",
            "tags": ["均匀性"],
            "required_for_experts": required,
            "validity_years": validity_years,
            **fields,
        }
        course = ops.create_course(db.session, admin, data)
        chapter = ops.add_chapter(db.session, course, "第一章")
        for i in range(lessons):
            title_i = f"1.{i + 1} 课时"
            ops.save_lesson(
                db.session,
                chapter,
                None,
                title=title_i,
                kind="text",
                minutes=30,
                markdown=LESSON_TEXT.format(title=title_i),
            )
        bank = QUESTIONS if questions is None else questions
        if bank:
            settings = {
                "pass_mark": 60,
                "time_limit": 20,
                "attempt_limit": 3,
                "draw_size": None,
                **(quiz or {}),
            }
            ops.set_quiz(db.session, course, **settings)
            for q in bank:
                ops.save_question(
                    db.session,
                    course,
                    None,
                    kind=q["kind"],
                    text=q["text"],
                    options=q.get("options", []),
                    answer=q["answer"],
                    explanation=q.get("explanation"),
                )
        ops.set_prerequisites(db.session, course, list(prerequisites))
        if publish:
            ops.set_status(db.session, admin, course, True)
        db.session.commit()
        return course

    return make


@pytest.fixture
def login(client: Any) -> Callable[[Any], None]:
    """Sign `user` in on the test client."""
    from tests.conftest import PASSWORD

    def sign_in(user: Any) -> None:
        client.post("/logout")
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, "login failed"

    return sign_in


T0 = dt.datetime(2026, 3, 1, 9, 0)  # when the quiz tests' learners read their lessons


@pytest.fixture
def enrollment(trainee: Any, make_course: Callable[..., Course]) -> Callable[..., Any]:
    """Enrolments with every lesson done, so the course's final quiz is open."""

    def make(**course_args: Any) -> Any:
        e = ops.enrol(db.session, trainee, make_course(**course_args))
        for lesson in e.course.lessons:
            ops.mark_done(db.session, e, lesson, now=T0)
        return e

    return make


@pytest.fixture
def expert_with_login(make_expert: Any, make_user: Any) -> Callable[..., tuple[Any, Any]]:
    """Make an expert whose file belongs to a new expert account: `make(**data)` -> (expert, user)."""

    def make(**data: Any) -> tuple[Any, Any]:
        expert = make_expert(**data)
        user = make_user(Role.EXPERT)
        expert.user_id = user.id
        db.session.commit()
        return expert, user

    return make


def complete_course(user: Any, course: Course, when: dt.datetime | None = None) -> Any:
    """Enrol `user`, mark every lesson done and pass the quiz (at `when`): the certificate."""
    enrollment = ops.enrol(db.session, user, course, now=when)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson, now=when)
    attempt = ops.start_attempt(db.session, enrollment, now=when)
    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt)), now=when
    )
    db.session.commit()
    return db.session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment.id))
