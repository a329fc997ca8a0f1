"""The supervision demo: a past round whose figures flag the experts meant to stand out, and a
spot check with two disagreements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from expertpool.db import db
from expertpool.matching import demo
from expertpool.matching.models import ReviewRound
from expertpool.reviews import spotchecks
from expertpool.reviews import supervision as sv
from expertpool.reviews import supervision_queries as q
from expertpool.reviews.models import SpotCheck


def test_demo_round_flags_and_spot_check(
    app: Any, admin: Any, make_user: Any, make_expert: Any
) -> None:
    from expertpool.core.access import Role

    make_user(Role.ADMIN, username="review_office")
    for n in range(7):
        make_expert(name=f"示范专家{n}", institution=f"示范研究院{n}")
    demo.load_demo(db.session, admin, progress=False)
    db.session.commit()
    round_ = db.session.scalar(select(ReviewRound).where(ReviewRound.name == demo.ROUND_NAME))
    report = q.report(db.session, sv.Filters(round_id=round_.id, min_reviews=3), {})
    assert report.overall.reviews == 18 and len(report.experts) == 5
    flags = sorted(sorted(f.code for f in row.flags) for row in report.experts if row.flags)
    assert flags == [["against"], ["late", "low_rating", "short", "slow_answer"]]
    check = db.session.scalar(select(SpotCheck))
    assert (len(check.items), check.seed) == (5, 2026)
    assert len(spotchecks.disagreements(check)) == 2
    assert sum(1 for i in check.items if i.second_rating is None) == 1
