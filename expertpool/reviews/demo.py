"""Demo review history, so every queue and journey has something in it after `make run`.

Registered by the reviews feature's `init_app`, so it runs after the demo submissions (loaders
run in layer order). Everything goes through the real operations (panels, acceptance, declines, drafts,
submissions, ratings); only dates are moved, as a review office's month would have moved them.
The demo expert with a login (`expert1`) gets one of each: an invitation waiting for an answer,
a draft under way, a submitted review; another panel has an overdue review and a decline with
no alternate left, which the administrators' home page lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..experts.constants import Status as ExpertStatus
from ..experts.models import Expert, ExpertCategory
from ..submissions.models import Submission
from ..submissions.operations import add_attachment
from . import eligibility
from . import operations as ops
from .constants import CRITERIA
from .models import Assignment

ATTACHMENT_TEXT = (
    "申报材料摘要\n\n"
    "候选物制备：风干、研磨、过200目筛，混匀后分装 500 瓶。\n"
    "均匀性：随机抽取 15 瓶，每瓶 3 次重复测定，方差分析 F < F0.05。\n"
    "稳定性：短期（60 °C，14 天）与长期（室温，12 个月）考察，趋势检验不显著。\n"
    "定值：8 家实验室协作定值，ICP-MS 与原子荧光光谱法。\n"
)
COMPLETE_REVIEW = {
    **{name: "satisfactory" for name in CRITERIA},
    "uncertainty": "minor",
    "uncertainty_comment": "长期稳定性不确定度的计算未说明回归斜率的标准偏差来源，请补充。",
    "recommendation": "approve_with_revisions",
    "summary": "候选物制备与定值方案合理，均匀性和稳定性数据充分；补充不确定度说明后建议批准。",
}


def load_demo(session: Session, admin: User, progress: bool) -> None:
    """Panels on three demo submissions, in every state a review office sees."""
    today = dt.date.today()
    users = {u.username: u for u in session.scalars(select(User))}
    experts = {
        e.user_id: e for e in session.scalars(select(Expert).where(Expert.user_id.is_not(None)))
    }
    lead = experts.get(getattr(users.get("expert1"), "id", None))
    if lead is None or lead.status != ExpertStatus.ACTIVE:
        return
    rules = ops.default_rules()
    own = [
        s
        for s in _submissions_for(session, _categories(session, lead))
        if not eligibility.exclusion_reasons(session, lead, s, rules, today)
    ][:3]
    if len(own) < 2:
        return
    waiting, drafting, *rest = own
    submitted = rest[0] if rest else None
    upload = _upload_folder()
    for submission in (waiting, drafting):
        add_attachment(
            session,
            admin,
            submission,
            "申报材料摘要.txt",
            ATTACHMENT_TEXT.encode("utf-8"),
            upload,
            "text/plain",
        )
    # 1. An invitation waiting for expert1's answer; a colleague declined (by telephone, so the
    # office recorded it) and no alternate is left.
    panel = _panel(session, admin, waiting, lead, today, due_in=30)
    if len(panel) > 1:
        ops.decline(session, admin, panel[1], "专家来电告知：出差在外，无法按期完成审评。")
    # 2. expert1 accepted another and has a draft; a colleague's review is overdue.
    panel = _panel(session, admin, drafting, lead, today, due_in=12)
    ops.accept(session, users["expert1"], panel[0], no_conflict=True)
    ops.save_review(
        session,
        users["expert1"],
        panel[0],
        {"homogeneity": "satisfactory", "summary": "均匀性检验方案合理。"},
        submit=False,
        expected_version=None,
    )
    if len(panel) > 1:
        ops.accept(session, reviewer_account(session, panel[1]), panel[1], no_conflict=True)
        panel[1].due_date = today - dt.timedelta(days=5)
    # 3. expert1 submitted a review that waits for the office's quality rating.
    if submitted is not None:
        panel = _panel(session, admin, submitted, lead, today, due_in=20)
        ops.accept(session, users["expert1"], panel[0], no_conflict=True)
        ops.save_review(
            session, users["expert1"], panel[0], COMPLETE_REVIEW, submit=True, expected_version=None
        )
    session.flush()


def _categories(session: Session, expert: Expert) -> list[int]:
    return list(
        session.scalars(
            select(ExpertCategory.code)
            .where(ExpertCategory.expert_id == expert.id)
            .order_by(ExpertCategory.code)
        )
    )


def _submissions_for(session: Session, categories: Iterable[int]) -> list[Submission]:
    """The demo submissions, those in the expert's own categories first."""
    mine = set(categories)
    every = session.scalars(select(Submission).order_by(Submission.id))
    return sorted(every, key=lambda s: s.category not in mine)


def _panel(
    session: Session, admin: User, submission: Submission, lead: Expert, today: dt.date, due_in: int
) -> list[Assignment]:
    """`lead` and two eligible colleagues from other institutions, the submission's field first."""
    rules = ops.default_rules()
    members = [lead]
    institutions = {lead.institution_id}
    in_field = set(
        session.scalars(
            select(ExpertCategory.expert_id).where(ExpertCategory.code == submission.category)
        )
    )
    active = session.scalars(
        select(Expert)
        .where(Expert.status == ExpertStatus.ACTIVE, Expert.id != lead.id)
        .order_by(Expert.id)
    )
    for expert in sorted(active, key=lambda e: e.id not in in_field):
        if len(members) == 3:
            break
        if expert.institution_id in institutions:
            continue
        if eligibility.exclusion_reasons(session, expert, submission, rules, today):
            continue
        members.append(expert)
        institutions.add(expert.institution_id)
    return ops.assign_panel(
        session,
        admin,
        submission,
        [(e.id, 0.0, {}) for e in members],
        [],
        today + dt.timedelta(days=due_in),
        today=today,
    )


def reviewer_account(session: Session, assignment: Assignment) -> User:
    """The expert's account, made on the spot for a demo colleague who has none."""
    from ..accounts import operations as accounts
    from ..accounts.passwords import random_password
    from ..core.access import Role

    expert = assignment.expert
    if expert.user_id:
        return session.get(User, expert.user_id)
    user = accounts.create_user(
        session,
        username=f"demo-reviewer-{expert.id}",
        name=expert.name,
        email=f"reviewer{expert.id}@demo.example.org",
        password=random_password(),  # nobody signs in as them
        roles=[Role.EXPERT],
    )
    expert.user_id = user.id
    session.flush()
    return user


def _upload_folder() -> str:
    from flask import current_app

    return current_app.config["UPLOAD_FOLDER"]
