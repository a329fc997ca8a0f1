"""A trainee's journey, by clicking only: register → find a course from the home page → study →
fail the quiz, then pass it → download the certificate → verify it; and the quiz by keyboard."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

COURSE = "标准物质研制与生产概论"  # the demo's entry course: no prerequisites, a final quiz
_numbers = itertools.count(1)


def register_trainee(journey: Any) -> str:
    username = f"learner{next(_numbers)}{journey.locale[:2]}"
    journey.goto("/login")
    journey.click(journey.link("Register"))
    page = journey.page
    page.get_by_label(journey.t("Username"), exact=True).fill(username)
    page.get_by_label(journey.t("Full name")).fill(
        "王小明" if journey.locale == "zh_CN" else "Ming Wang"
    )
    page.get_by_label(journey.t("E-mail")).fill(f"{username}@example.cn")
    page.get_by_label(journey.t("Password"), exact=True).fill("Ref-Material-2026")
    page.get_by_label(journey.t("Repeat password")).fill("Ref-Material-2026")
    journey.click(journey.button("Create account"))
    return username


def open_attempt_answers(journey: Any, username: str) -> list[tuple[str, str, list[str]]]:
    """The open attempt's fields: (name, input type, right values), read from the database."""
    from courses import quizzes
    from courses.demo import right_answers
    from courses.models import QuizAttempt
    from expertpool.accounts.models import User
    from expertpool.db import db

    with journey.server.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        attempt = db.session.scalar(
            select(QuizAttempt)
            .where(QuizAttempt.user_id == user.id, QuizAttempt.status == "open")
            .order_by(QuizAttempt.id.desc())
        )
        questions = quizzes.questions_of(db.session, attempt)
        right = right_answers(questions)
        return [
            (quizzes.field_name(q.id), q.kind, list(right[quizzes.field_name(q.id)]))
            for q in questions
        ]


def answer_by_mouse(journey: Any, fields: list[tuple[str, str, list[str]]]) -> None:
    page = journey.page
    for name, kind, values in fields:
        if kind == "text":
            page.locator(f"input[name='{name}']").fill(values[0])
            continue
        for value in values:
            page.locator(f"input[name='{name}'][value='{value}']").check()


def study_course(journey: Any) -> None:
    """From the course page: enrol, then read every lesson to the end, clicking 'done'."""
    journey.click(journey.button("Enrol in this course"))
    journey.click(journey.page.get_by_role("link", name=journey.t("Continue")).first)
    while True:
        journey.click(journey.button("Mark as done and continue"))
        if "/quiz" in journey.page.url or journey.page.url.rstrip("/").endswith("/courses"):
            break
        if not journey.button("Mark as done and continue").count():
            break


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_trainee_registers_studies_passes_and_verifies(journey: Any, locale: str) -> None:
    page = journey.page
    if locale == "en":
        journey.goto("/login")
        journey.use_english()
    username = register_trainee(journey)
    # Home page → the course (recommended for a new learner) → study it.
    journey.click(page.get_by_role("main").get_by_role("link", name=COURSE).first)
    study_course(journey)
    if "/quiz" not in page.url:
        journey.click(journey.link("Final quiz"))
    # First attempt: hand in nothing, fail.
    journey.click(journey.button("Start an attempt"))
    journey.click(journey.button("Submit answers"))
    assert journey.t("not passed") in page.content() or journey.t("Not passed") in page.content()
    # Second attempt: answer everything right, pass.
    journey.click(journey.link("Final quiz"))
    journey.click(journey.button("Start an attempt"))
    answer_by_mouse(journey, open_attempt_answers(journey, username))
    journey.click(journey.button("Submit answers"))
    assert journey.t("passed") in page.content()
    # The certificate: download the PDF, then open its public verification page.
    journey.click(page.get_by_role("link", name=COURSE).first)
    with page.expect_download() as download:
        journey.link("Certificate (PDF)").click()
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    journey.click(page.get_by_role("link", name=re.compile(r"^[A-Z0-9-]{8,}$")).first)
    assert journey.t("Valid") in page.get_by_role("main").inner_text()
    journey.assert_clean()
