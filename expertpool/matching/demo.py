"""Demo of review-quality supervision: a past review round with its reviews and a spot check.

Registered by the matching feature's `init_app` (it owns review rounds), after the reviews'
demo. Six past submissions were reviewed in a confirmed round by five experts in rotation,
through the real operations (panels, acceptance, submitted reviews, quality ratings); only the
dates are moved back, as the months would have moved them. One expert is late, brief and rated
low, so the supervision page flags them; one often recommends against the panel. A spot check
drew five of the round's rated reviews: a second administrator agreed on two, disagreed on two,
and one waits for a second rating.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User, UserRole
from ..core.access import Role
from ..experts.constants import Status as ExpertStatus
from ..experts.models import Expert
from ..reviews import eligibility, spotchecks
from ..reviews import operations as ops
from ..reviews.constants import CRITERIA
from ..reviews.demo import reviewer_account
from ..submissions.models import Submission
from ..submissions.operations import create_submission
from .models import ReviewRound

ROUND_NAME = "2026年第三批标准物质审评（示范）"
PAST = [
    ("水中多环芳烃成分分析标准物质", 8, "水", "中国环境监测总站"),
    ("大气颗粒物中重金属成分分析标准物质", 8, "大气颗粒物", "北京市环境保护监测中心"),
    ("小麦粉中脱氧雪腐镰刀菌烯醇标准物质", 10, "小麦粉", "国家粮食和物资储备局科学研究院"),
    ("茶叶中农药残留成分分析标准物质", 10, "茶叶", "中国农业科学院茶叶研究所"),
    ("人血清中总胆固醇标准物质", 9, "人血清", "国家卫生健康委临床检验中心"),
    ("沉积物中多氯联苯成分分析标准物质", 8, "沉积物", "自然资源部第二海洋研究所"),
]
# Per expert of the rotation: (days to answer, days after the due date, summary repeats, rating,
# recommendation). Expert 3 is late, brief and rated low; expert 4 goes against the panel.
HABITS = [
    (1, -4, 3, 5, "approve_with_revisions"),
    (2, -1, 2, 4, "approve_with_revisions"),
    (9, 14, 0, 2, "approve_with_revisions"),
    (3, 0, 2, 4, "reject"),
    (1, -6, 3, 5, "approve_with_revisions"),
]
SUMMARY = "均匀性与稳定性研究设计合理，定值方法独立、可溯源，不确定度评定各分量齐全。"


def load_demo(session: Session, admin: User, progress: bool) -> None:
    """The past round, its reviews and ratings, and a spot check with two disagreements."""
    today = dt.date.today()
    submissions = [
        create_submission(
            session,
            admin,
            {
                "kind": "rm_certification",
                "review_type": "new",
                "grade": "first",
                "title": title,
                "rm_name": title.removesuffix("成分分析标准物质").removesuffix("标准物质"),
                "category": category,
                "matrix": matrix,
                "applicant_institution": applicant,
            },
        )
        for title, category, matrix, applicant in PAST
    ]
    experts = _reviewers(session, submissions, today)
    if len(experts) < 5:
        return
    round_ = ReviewRound(
        name=ROUND_NAME, status="confirmed", created_by_id=admin.id, settings={}, proposal={}
    )
    session.add(round_)
    session.flush()
    start = today - dt.timedelta(days=150)
    for submission in submissions:  # registered before the round, months ago
        submission.created_at = dt.datetime.combine(start - dt.timedelta(days=20), dt.time(9))
    panels = []
    for k, submission in enumerate(submissions):
        members = [k % 5, (k + 1) % 5, (k + 2) % 5]
        invited = start + dt.timedelta(days=12 * k)
        _review(session, admin, round_, submission, [experts[i] for i in members], members, invited)
        panels.append(_panel_summary(submission, [experts[i] for i in members]))
    round_.proposal = {"panels": panels, "status": "demo", "method": "demo"}
    round_.confirmed_at = dt.datetime.combine(start, dt.time(9))
    session.flush()
    _spot_check(session, admin, round_)


def _reviewers(session: Session, submissions: list[Submission], today: dt.date) -> list[Expert]:
    """Five active experts of five institutions, eligible for every past submission, without a
    demo log-in (their own pages stay as the reviews' demo left them)."""
    rules = ops.default_rules()
    chosen: list[Expert] = []
    institutions: set[int | None] = set()
    for expert in session.scalars(
        select(Expert)
        .where(Expert.status == ExpertStatus.ACTIVE, Expert.user_id.is_(None))
        .order_by(Expert.id.desc())
    ):
        if expert.institution_id in institutions:
            continue
        if any(
            eligibility.exclusion_reasons(session, expert, s, rules, today) for s in submissions
        ):
            continue
        chosen.append(expert)
        institutions.add(expert.institution_id)
        if len(chosen) == 5:
            break
    return chosen


def _review(
    session: Session,
    admin: User,
    round_: ReviewRound,
    submission: Submission,
    experts: list[Expert],
    habits: list[int],
    invited: dt.date,
) -> None:
    due = invited + dt.timedelta(days=30)
    assignments = ops.assign_panel(
        session,
        admin,
        submission,
        [(e.id, 0.5, {}) for e in experts],
        [],
        dt.date.today() + dt.timedelta(days=30),
        round_id=round_.id,
        check_eligibility=False,  # checked when the reviewers were chosen
    )
    for assignment, habit in zip(assignments, habits, strict=True):
        answer, late, repeats, rating, recommendation = HABITS[habit]
        user = reviewer_account(session, assignment)
        ops.accept(session, user, assignment, no_conflict=True)
        content = {name: "satisfactory" for name in CRITERIA}
        content["recommendation"] = recommendation
        content["summary"] = SUMMARY * repeats or "同意。"
        review = ops.save_review(
            session, user, assignment, content, submit=True, expected_version=None
        )
        assignment.invited_at = dt.datetime.combine(invited, dt.time(9))
        assignment.responded_at = dt.datetime.combine(
            invited + dt.timedelta(days=answer), dt.time(10)
        )
        assignment.due_date = due
        review.submitted_at = dt.datetime.combine(due + dt.timedelta(days=late), dt.time(16))
        ops.rate_review(session, admin, review, rating, "示范评分")
    session.flush()


def _panel_summary(submission: Submission, experts: list[Expert]) -> dict:
    return {
        "submission_id": submission.id,
        "members": [[e.id, 0.5] for e in experts],
        "alternates": [],
        "affinity": 0.5,
        "filled": len(experts),
        "size": len(experts),
        "metrology": 0,
    }


def _spot_check(session: Session, admin: User, round_: ReviewRound) -> None:
    second = session.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.id != admin.id)
        .order_by(User.id.desc())
    )
    check = spotchecks.draw(session, admin, round_.id, 5, round_name=round_.name, seed=2026)
    if second is None:
        return
    for n, item in enumerate(check.items[:4]):
        first = item.review.quality_rating
        # two disagreements (3 is another band from every rating but 3), two agreements
        rating = (3 if first != 3 else 1) if n < 2 else first
        spotchecks.second_rating(session, second, item, rating, "复核" if n < 2 else None)
    session.flush()
