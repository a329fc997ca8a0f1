"""An expert's journey, by clicking only: home → the waiting invitation → the submission itself
→ accept with a no-conflict declaration → write and submit the review; the form by keyboard."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import select

_numbers = itertools.count(1)


def invite_expert1(journey: Any) -> str:
    """A new submission with expert1 invited to its panel (as an administrator would do)."""
    from expertpool.accounts.models import User
    from expertpool.core import audit
    from expertpool.db import db
    from expertpool.experts.models import Expert
    from expertpool.reviews import operations as reviews
    from expertpool.submissions.operations import create_submission

    title = f"海水中营养盐成分分析标准物质（第{next(_numbers)}批）"
    with journey.server.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        expert_user = db.session.scalar(select(User).where(User.username == "expert1"))
        expert = db.session.scalar(select(Expert).where(Expert.user_id == expert_user.id))
        audit.set_actor(db.session, admin)
        submission = create_submission(
            db.session,
            admin,
            {
                "kind": "rm_certification",
                "review_type": "new",
                "grade": "first",
                "title": title,
                "rm_name": "海水营养盐标准物质",
                "category": 8,
                "matrix": "海水",
                "analytes": ["硝酸盐", "亚硝酸盐", "磷酸盐"],
                "methods": ["分光光度法"],
                "applicant_institution": "国家海洋环境监测中心",
                "description": "以近岸海水为候选物，过滤灭菌后分装，评估均匀性与稳定性。",
            },
        )
        reviews.assign_panel(
            db.session,
            admin,
            submission,
            [(expert.id, 0.8, {})],
            [],
            dt.date.today() + dt.timedelta(days=30),
        )
        db.session.commit()
    return title


def fill_review(journey: Any) -> None:
    """Every criterion judged (by its visible label), a recommendation and a summary."""
    from expertpool.reviews.constants import CRITERIA, CRITERION_LABELS

    page = journey.page
    for name in CRITERIA:
        verdict = "not_applicable" if name == "certificate_label" else "satisfactory"
        page.get_by_label(journey.text(CRITERION_LABELS[name]), exact=True).select_option(verdict)
    page.get_by_label(journey.t("Overall recommendation")).select_option("approve")
    page.get_by_label(journey.t("Summary")).fill("均匀性、稳定性与定值数据完整，建议批准。")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_expert_accepts_an_invitation_and_submits_a_review(journey: Any, locale: str) -> None:
    title = invite_expert1(journey)
    page = journey.page
    if locale == "en":
        journey.goto("/login")
        journey.use_english()
    journey.sign_in_as("expert")
    # The home page lists the invitation; the submission can be read before answering.
    journey.click(page.get_by_role("main").get_by_role("link", name=title).first)
    card = page.locator(".card", has_text=title)
    journey.click(card.get_by_role("heading").get_by_role("link", name=title))
    assert title in page.get_by_role("heading", level=1).inner_text()
    assert "国家海洋环境监测中心" in page.get_by_role("main").inner_text()  # the applicant
    page.go_back()
    journey.seen()
    card.get_by_role("checkbox").check()
    journey.click(card.get_by_role("button", name=journey.t("Accept"), exact=True))
    # Accepting opens the review form; the home page lists it among the reviews due too.
    assert page.url.endswith("/review")
    journey.click(page.get_by_role("link", name=journey.t("RM Expert Pool")).first)
    journey.click(page.get_by_role("main").get_by_role("link", name=title).first)
    fill_review(journey)
    journey.click_and_confirm(journey.button("Submit review"))
    submitted = page.get_by_role("main").locator("table").nth(1)  # 已提交 / Submitted
    assert title in submitted.inner_text() and dt.date.today().isoformat() in submitted.inner_text()
    journey.assert_clean()
