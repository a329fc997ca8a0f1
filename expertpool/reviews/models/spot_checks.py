"""Spot checks of review-quality ratings: reviews of a round sampled for a second rating."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ...db import db, utcnow
from ...experts.constants import EXPERT_SUBJECT
from .reviews import Review


class SpotCheck(db.Model):
    """One draw: `size` reviews of a round, chosen at random with `seed` (kept, so the draw can
    be repeated from the same candidates)."""

    __tablename__ = "spot_check"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    # The review round sampled (kept as history if the round row goes).
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_round.id", ondelete="SET NULL"), index=True
    )
    round_name: Mapped[str] = mapped_column(String(128), default="")
    size: Mapped[int] = mapped_column(Integer)  # asked for; `items` may hold fewer
    seed: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[int] = mapped_column(Integer, default=0)  # reviews it was drawn from
    # A second rating this far from the first (or in another verdict band) is a disagreement.
    gap: Mapped[int] = mapped_column(Integer, default=2)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    items: Mapped[list[SpotCheckItem]] = relationship(
        back_populates="spot_check", cascade="all, delete-orphan", order_by="SpotCheckItem.id"
    )

    def __repr__(self) -> str:
        return f"<SpotCheck {self.id} round {self.round_id} n={self.size}>"


class SpotCheckItem(db.Model):
    """A sampled review and its second rating. A review is sampled at most once, ever."""

    __tablename__ = "spot_check_item"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(
        ForeignKey("spot_check.id", ondelete="CASCADE"), index=True
    )
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"), unique=True)
    # Copied from the review so the audit log files the second rating under its expert.
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)
    second_rating: Mapped[int | None]
    second_comment: Mapped[str | None] = mapped_column(Text)
    second_rated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    second_rated_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    spot_check: Mapped[SpotCheck] = relationship(back_populates="items")
    review: Mapped[Review] = relationship(lazy="joined")

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)

    def __repr__(self) -> str:
        return f"<SpotCheckItem {self.id} review {self.review_id}>"
