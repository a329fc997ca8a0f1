"""Keyboard only: the quiz and the review form are answered and submitted with Tab, the arrow
keys, Space, typing and Enter, with a visible focus on every control along the way."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select

from tests.browser.test_expert_journey import invite_expert1

PASSWORD = "Keyboard-Only-2026"
_numbers = itertools.count(1)
MAX_TABS = 300

ACTIVE = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '',
            value: el.value || '', text: (el.innerText || '').trim(),
            visible: style.outlineStyle !== 'none' || style.boxShadow !== 'none'};
}"""


def active(page: Any) -> dict[str, Any]:
    return page.evaluate(ACTIVE)


def tab_to(page: Any, wanted: Any) -> dict[str, Any]:
    """Press Tab until the focused element satisfies `wanted`; returns it."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = active(page)
        if wanted(focused):
            return focused
    raise AssertionError("never reached by Tab")


def confirm_by_keyboard(journey: Any) -> None:
    """The confirmation dialog opens with Cancel focused (the safe answer); Tab, then Enter."""
    page = journey.page
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for(state="visible")
    page.wait_for_function("document.activeElement.dataset.role === 'cancel'")
    journey.seen("confirm")
    page.keyboard.press("Tab")
    assert active(page)["text"] == dialog.locator("[data-role=ok]").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.seen()


def sign_in_by_keyboard(journey: Any, username: str, password: str) -> None:
    page = journey.page
    journey.goto("/login")
    tab_to(page, lambda f: f["name"] == "username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.seen()


def learner_ready_for_the_quiz(journey: Any) -> str:
    """A learner who has read every lesson of the entry course."""
    from courses import operations as ops
    from courses.models import Course
    from expertpool.accounts import operations as accounts
    from expertpool.db import db

    username = f"keyboard{next(_numbers)}"
    with journey.server.app_context():
        user = accounts.create_user(
            db.session,
            username=username,
            name="键盘用户",
            email=f"{username}@example.cn",
            password=PASSWORD,
        )
        course = db.session.scalar(select(Course).where(Course.slug == "a-rm-basics"))
        enrollment = ops.enrol(db.session, user, course)
        for lesson in course.lessons:
            ops.mark_done(db.session, enrollment, lesson)
        db.session.commit()
    return username


def right_answers_on_screen(journey: Any) -> dict[str, list[str]]:
    from tests.browser.test_trainee_journey import open_attempt_answers

    return {name: values for name, _kind, values in open_attempt_answers(journey)}


def test_the_quiz_by_keyboard_only(journey: Any) -> None:
    page = journey.page
    sign_in_by_keyboard(journey, learner_ready_for_the_quiz(journey), PASSWORD)
    journey.goto("/courses/a-rm-basics/quiz")
    start = journey.t("Start an attempt")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == start)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.seen()
    answers = right_answers_on_screen(journey)
    submit = journey.t("Submit answers")
    done: set[str] = set()
    unseen_focus = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = active(page)
        if focused["tag"] == "button" and focused["text"] == submit:
            break
        if focused["name"] not in answers:
            continue
        if not focused["visible"]:
            unseen_focus.append(focused["name"])
        wanted = answers[focused["name"]]
        if focused["type"] == "radio" and focused["name"] not in done:
            # Tab lands on the group's first option: Space picks it, each ArrowDown the next.
            options = page.locator(f"input[name='{focused['name']}']")
            values = [options.nth(i).get_attribute("value") for i in range(options.count())]
            index = values.index(wanted[0])
            page.keyboard.press("Space" if index == 0 else "ArrowDown")
            for _ in range(index - 1):
                page.keyboard.press("ArrowDown")
            done.add(focused["name"])
        elif focused["type"] == "checkbox" and focused["value"] in wanted:
            page.keyboard.press("Space")
            done.add(focused["name"])
        elif focused["type"] not in ("radio", "checkbox"):
            page.keyboard.type(wanted[0])
            done.add(focused["name"])
    assert done == set(answers), "every question answered by keyboard"
    assert not unseen_focus, f"no visible focus on {unseen_focus}"
    page.keyboard.press("Enter")
    confirm_by_keyboard(journey)
    heading = page.get_by_role("main").get_by_role("heading", level=1).inner_text()
    assert journey.t("passed") in heading and journey.t("not passed") not in heading
    journey.assert_clean()


def test_the_review_form_by_keyboard_only(journey: Any) -> None:
    from expertpool.accounts.models import User
    from expertpool.db import db
    from expertpool.reviews import operations as reviews
    from expertpool.reviews.constants import CRITERIA
    from expertpool.reviews.models import Assignment

    page = journey.page
    title = invite_expert1(journey)
    with journey.server.app_context():
        user = db.session.scalar(select(User).where(User.username == "expert1"))
        assignment = db.session.scalars(
            select(Assignment).order_by(Assignment.id.desc()).limit(1)
        ).one()
        reviews.accept(db.session, user, assignment, no_conflict=True)
        db.session.commit()
        form_url = f"/reviews/assignments/{assignment.id}/review"
    sign_in_by_keyboard(journey, "expert1", "Demo-2026!expert")
    journey.goto(form_url)
    assert title in page.get_by_role("heading", level=1).inner_text()
    judged: set[str] = set()
    unseen_focus = []
    submit = journey.t("Submit review")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = active(page)
        if focused["tag"] == "button" and focused["text"] == submit:
            break
        if focused["tag"] in ("select", "textarea") and not focused["visible"]:
            unseen_focus.append(focused["name"])
        if focused["tag"] == "select" and focused["name"] in (*CRITERIA, "recommendation"):
            page.keyboard.press("ArrowDown")  # "—" → the first verdict: satisfactory / approve
            judged.add(focused["name"])
        elif focused["tag"] == "textarea" and focused["name"] == "summary":
            page.keyboard.type("各项均满足要求，建议批准。")
            judged.add("summary")
    assert judged == {*CRITERIA, "recommendation", "summary"}
    assert not unseen_focus, f"no visible focus on {unseen_focus}"
    page.keyboard.press("Enter")
    confirm_by_keyboard(journey)
    submitted = page.get_by_role("main").locator("table").nth(1)
    assert title in submitted.inner_text() and dt.date.today().isoformat() in submitted.inner_text()
    journey.assert_clean()
