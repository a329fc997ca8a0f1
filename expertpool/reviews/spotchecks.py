"""Spot checks of review-quality ratings: draw rated reviews of a round, rate them again.

An administrator draws `size` of a round's rated reviews at random (a seed is chosen when none
is given, and kept with the draw, so the same candidates and seed give the same sample); a
review is never drawn twice. A second administrator, not the one who gave the first rating,
records a second rating; the pairs that disagree (`supervision.disagree`) are listed.
Operations flush, never commit; the rows are audited (`__audited__`), the second rating under
the review's expert.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..core.errors import OperationError
from ..db import utcnow
from . import supervision as sv
from .constants import ReviewStatus
from .models import Assignment, Review, SpotCheck, SpotCheckItem

MAX_SIZE = 200  # reviews per draw: a spot check, not a second rating of everything
SEED_LIMIT = 2**31 - 1


class SpotCheckError(OperationError):
    """A refused spot-check operation; the message is shown to the user."""


def candidates(session: Session, round_id: int) -> list[int]:
    """Rated, submitted reviews of the round that no spot check has drawn yet."""
    drawn = select(SpotCheckItem.review_id)
    return list(
        session.scalars(
            select(Review.id)
            .join(Assignment, Assignment.id == Review.assignment_id)
            .where(
                Assignment.round_id == round_id,
                Review.status == ReviewStatus.SUBMITTED,
                Review.quality_rating.is_not(None),
                Review.id.not_in(drawn),
            )
            .order_by(Review.id)
        )
    )


def draw(
    session: Session,
    actor: User,
    round_id: int,
    size: int,
    *,
    round_name: str = "",
    seed: int | None = None,
    gap: int = 2,
    note: str | None = None,
) -> SpotCheck:
    """Draw up to `size` of the round's candidates; the seed used is kept on the spot check."""
    if not 1 <= size <= MAX_SIZE:
        raise SpotCheckError(str(_l("Draw between 1 and %(n)s reviews.", n=MAX_SIZE)))
    if seed is not None and not 0 <= seed <= SEED_LIMIT:
        raise SpotCheckError(str(_l("The seed is a whole number up to %(n)s.", n=SEED_LIMIT)))
    if gap < 1:
        raise SpotCheckError(str(_l("The disagreement gap is at least 1.")))
    pool = candidates(session, round_id)
    if not pool:
        raise SpotCheckError(
            str(_l("This round has no rated review left to draw (each is drawn only once)."))
        )
    seed = secrets.randbelow(SEED_LIMIT) if seed is None else seed
    chosen = sv.sample(pool, size, seed)
    rows = session.execute(select(Review.id, Review.expert_id).where(Review.id.in_(chosen)))
    experts = {review_id: expert_id for review_id, expert_id in rows}
    audit.set_note(session, f"spot check: {len(chosen)} of {len(pool)} reviews, seed {seed}")
    check = SpotCheck(
        round_id=round_id,
        round_name=round_name[:128],
        size=size,
        seed=seed,
        candidates=len(pool),
        gap=gap,
        note=(note or "").strip() or None,
        created_by_id=actor.id,
        items=[SpotCheckItem(review_id=rid, expert_id=experts[rid]) for rid in chosen],
    )
    session.add(check)
    session.flush()
    audit.set_note(session, None)
    return check


def second_rating(
    session: Session, actor: User, item: SpotCheckItem, rating: int, comment: str | None = None
) -> SpotCheckItem:
    """The second rater's rating (1-5): once, and never by the first rater or the reviewer."""
    review = item.review
    if item.second_rating is not None:
        raise SpotCheckError(str(_l("This review already has its second rating.")))
    if rating not in sv.RATINGS:
        raise SpotCheckError(str(_l("A rating is a whole number from 1 to 5.")))
    if review.quality_rated_by_id == actor.id:
        raise SpotCheckError(
            str(_l("You gave this review its first rating: another administrator rates it again."))
        )
    if review.assignment.expert.user_id == actor.id:
        raise SpotCheckError(str(_l("You cannot rate your own review.")))
    item.second_rating = rating
    item.second_comment = (comment or "").strip() or None
    item.second_rated_by_id = actor.id
    item.second_rated_at = utcnow()
    session.flush()
    return item


def disagreements(check: SpotCheck) -> list[SpotCheckItem]:
    """The items whose two ratings disagree, by the gap in force when the check was drawn."""
    return [
        item
        for item in check.items
        if sv.disagree(item.review.quality_rating, item.second_rating, check.gap)
    ]


def recent(session: Session, round_id: int | None = None, limit: int = 100) -> Sequence[SpotCheck]:
    stmt = select(SpotCheck).order_by(SpotCheck.id.desc()).limit(limit)
    if round_id is not None:
        stmt = stmt.where(SpotCheck.round_id == round_id)
    return list(session.scalars(stmt))


def raters(session: Session, ids: set[int | None]) -> dict[int, User]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}
