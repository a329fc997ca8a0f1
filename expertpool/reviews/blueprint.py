"""URL rules of the review workflow, and the inbox's unread count for the navigation bar."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint

from . import controllers as c
from . import supervision_views as sv

log = logging.getLogger(__name__)
bp = Blueprint("reviews", __name__, template_folder="templates")

rule = bp.add_url_rule
rule("/reviews/invitations", "invitations", c.invitations)
rule("/reviews/assignments/<int:assignment_id>/accept", "accept", c.accept, methods=["POST"])
rule("/reviews/assignments/<int:assignment_id>/decline", "decline", c.decline, methods=["POST"])
rule("/reviews/mine", "mine", c.mine)
rule(
    "/reviews/assignments/<int:assignment_id>/submission",
    "invited_submission",
    c.invited_submission,
)
rule(
    "/reviews/assignments/<int:assignment_id>/review",
    "review_form",
    c.review_form,
    methods=["GET", "POST"],
)
rule(
    "/reviews/assignments/<int:assignment_id>/attachments/<int:attachment_id>",
    "attachment",
    c.attachment,
)
rule("/inbox", "inbox", c.inbox)
rule("/inbox/<int:notification_id>/read", "mark_read", c.mark_read, methods=["POST"])
rule("/inbox/read-all", "mark_all_read", c.mark_all_read, methods=["POST"])
rule("/reviews/board", "board", c.board)
rule("/reviews/<int:review_id>", "review_detail", c.review_detail)
rule("/reviews/<int:review_id>/rate", "rate", c.rate, methods=["POST"])
rule("/reviews/assignments/<int:assignment_id>/withdraw", "withdraw", c.withdraw, methods=["POST"])
rule("/reviews/assignments/<int:assignment_id>/due", "set_due", c.set_due, methods=["POST"])
# Review-quality supervision (审评质量监督) and spot checks of the quality ratings.
rule("/reviews/supervision", "supervision", sv.supervision)
rule("/reviews/supervision/experts/<int:expert_id>", "supervision_expert", sv.supervision_expert)
rule("/reviews/spot-checks", "spot_checks", sv.spot_checks)
rule("/reviews/spot-checks/new", "spot_check_new", sv.spot_check_new, methods=["POST"])
rule("/reviews/spot-checks/<int:check_id>", "spot_check", sv.spot_check)
rule(
    "/reviews/spot-checks/items/<int:item_id>/rate",
    "spot_check_rate",
    sv.spot_check_rate,
    methods=["POST"],
)


@bp.app_context_processor
def inbox_badge() -> dict[str, Any]:
    """`inbox_unread()` for the navigation bar: one COUNT, only on pages that show it."""

    def inbox_unread() -> int:
        from flask_login import current_user
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from ..db import db
        from ..experts.models import Expert
        from .notices import unread_count

        if not current_user.is_authenticated:
            return 0
        try:
            expert_id = db.session.scalar(
                select(Expert.id).where(Expert.user_id == current_user.id)
            )
            return unread_count(db.session, current_user, expert_id)
        except SQLAlchemyError:  # a badge never breaks a page (e.g. an error page's)
            log.exception("inbox count failed")
            return 0

    return {"inbox_unread": inbox_unread}


@bp.app_template_global()
def assignment_status_label(status: str) -> str:
    from .constants import STATUS_LABELS, AssignmentStatus

    return (
        str(STATUS_LABELS[AssignmentStatus(status)]) if status in set(AssignmentStatus) else status
    )
