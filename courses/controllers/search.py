"""The course-material search page: every signed-in user learns, so every one may search."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from expertpool.core.access import login_required
from expertpool.db import db

from ..constants import AUDIENCES, LANGUAGES, LEVELS, TOPICS
from ..search.queries import MaterialQuery, search_materials


@login_required
def search() -> Any:
    query = MaterialQuery.from_args(request.args)
    # Administrators author courses: they also find drafts (marked as such).
    results = (
        search_materials(db.session, query, include_drafts=current_user.is_admin)
        if query.q
        else None
    )
    return render_template(
        "courses/search.html",
        query=query,
        results=results,
        facet_labels={
            "topic": TOPICS,
            "audience": AUDIENCES,
            "level": LEVELS,
            "language": LANGUAGES,
        },
    )
