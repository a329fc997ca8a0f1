"""The reviews feature's part of a person's own data (`accounts.mydata`)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.mydata import Section, rows_of
from ..db import db
from ..experts.models import Expert
from .models import Assignment, Review


def sections(user: Any) -> list[Section] | None:
    """The invitations the person received and the reviews they wrote, as an expert."""
    expert_id = db.session.scalar(select(Expert.id).where(Expert.user_id == user.id))
    if expert_id is None:
        return None
    invitations = db.session.scalars(
        select(Assignment).where(Assignment.expert_id == expert_id).order_by(Assignment.id)
    )
    reviews = db.session.scalars(
        select(Review).where(Review.expert_id == expert_id).order_by(Review.id)
    )
    return [
        Section("invitations", _("Invitations"), rows_of(invitations)),
        Section("reviews", _("Reviews written"), rows_of(reviews)),
    ]
