"""A trainee's journey, by clicking only: register → find a course from the home page → study →
fail the quiz, then pass it → download the certificate → verify it; and the quiz by keyboard."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

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


def open_attempt_answers(journey: Any) -> list[tuple[str, str, list[str]]]:
    """The fields of the attempt on screen: (name, kind, right values), from the database."""
    from courses import queries
    from courses.demo import right_answers
    from courses.models import QuizAttempt
    from expertpool.db import db

    attempt_id = int(re.search(r"/attempts/(\d+)", journey.page.url).group(1))
    with journey.server.app_context():
        attempt = db.session.get(QuizAttempt, attempt_id)
        questions = queries.questions_of(db.session, attempt)
        right = right_answers(questions)
        return [
            (queries.field_name(q.id), q.kind, list(right[queries.field_name(q.id)]))
            for q in questions
        ]


def answer_by_mouse(journey: Any, fields: list[tuple[str, str, list[str]]]) -> None:
    page = journey.page
    for name, _kind, values in fields:
        inputs = page.locator(f"[name='{name}']")
        if inputs.first.get_attribute("type") not in ("radio", "checkbox"):
            inputs.first.fill(values[0])
            continue
        for value in values:
            page.locator(f"input[name='{name}'][value='{value}']").check()


def study_course(journey: Any) -> None:
    """From the course page: enrol (which opens the first lesson), then read every lesson to
    the end, clicking 'done' on each; the last one leads to the final quiz."""
    journey.click(journey.button("Enrol in this course"))
    done = journey.button("Mark as done and continue")
    for _ in range(40):  # more lessons than any demo course has
        if not done.count():
            return
        journey.click(done)
    raise AssertionError("the lessons never ended")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_trainee_registers_studies_passes_and_verifies(journey: Any, locale: str) -> None:
    page = journey.page
    if locale == "en":
        journey.goto("/login")
        journey.use_english()
    register_trainee(journey)
    # Home page → the course (recommended for a new learner) → study it.
    journey.click(page.get_by_role("main").get_by_role("link", name=COURSE).first)
    study_course(journey)
    if "/quiz" not in page.url:
        journey.click(journey.link("Final quiz"))
    # First attempt: hand in nothing, fail; the right answers stay hidden (attempts are left).
    journey.click(journey.button("Start an attempt"))
    journey.click_and_confirm(journey.button("Submit answers"))
    main = page.get_by_role("main")
    assert journey.t("not passed") in main.get_by_role("heading", level=1).inner_text()
    assert not main.get_by_text(f"{journey.t('Right answer')}:").count()
    # Second attempt: answer everything right, pass; the certificate is issued at once.
    journey.click(journey.link("Back to the quiz"))
    journey.click(journey.button("Start an attempt"))
    answer_by_mouse(journey, open_attempt_answers(journey))
    journey.click_and_confirm(journey.button("Submit answers"))
    assert journey.t("passed") in main.get_by_role("heading", level=1).inner_text()
    with page.expect_download() as download:
        main.get_by_role("link", name=journey.t("Certificate (PDF)")).click()
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    # From the course page, the certificate's public verification page.
    journey.click(main.get_by_role("link", name=COURSE).first)
    journey.click(main.get_by_role("link", name=re.compile(r"^[A-Z0-9-]{8,}$")).first)
    assert journey.t("Valid") in page.get_by_role("main").inner_text()
    journey.assert_clean()
