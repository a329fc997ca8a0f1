"""Demo data: last year's assessment round, graded and closed, and this year's round open."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from . import operations as ops
from .models import AssessmentDraft, AssessmentRound

DEMO_REASON = "依据年度审评、培训与档案情况（系统建议等级经复核）"


def load_demo(
    session: Session, admin: Any, progress: bool = False, today: dt.date | None = None
) -> None:
    today = today or dt.date.today()
    config = ops.settings()
    last = _round(session, admin, today.year - 1, today, config)
    _grade_all(session, admin, last, config)
    ops.close_round(session, admin, last, config=config)
    current = _round(session, admin, today.year, today, config)
    for draft in current.drafts[: len(current.drafts) // 3]:  # an open round, partly graded
        ops.record_grade(
            session, admin, draft, draft.suggested_grade or "", DEMO_REASON, config=config
        )


def _round(
    session: Session, admin: Any, year: int, today: dt.date, config: ops.Settings
) -> AssessmentRound:
    round_ = AssessmentRound(
        year=year,
        status="gathering",
        as_of=min(dt.date(year, 12, 31), today),
        created_by_id=admin.id,
    )
    session.add(round_)
    session.flush()
    ops.gather(session, round_, config)  # inline: the demo is loaded by a command, not a request
    session.refresh(round_)
    return round_


def _grade_all(session: Session, admin: Any, round_: AssessmentRound, config: ops.Settings) -> None:
    """The suggested grades, except that the expert with the most late reviews is graded the
    lowest (so the demo shows a proposed suspension waiting for a second administrator)."""
    drafts: list[AssessmentDraft] = list(round_.drafts)
    worst = config.grades[-1].code
    latest = max(drafts, key=lambda d: (d.facts.get("late_share") or 0, -d.id), default=None)
    for draft in drafts:
        grade = worst if draft is latest else (draft.suggested_grade or config.grades[1].code)
        reason = DEMO_REASON if draft is not latest else "审评意见多次逾期提交，质量评价偏低"
        ops.record_grade(session, admin, draft, grade, reason, config=config)
