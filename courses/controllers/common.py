"""Helpers shared by the handlers: lookups that 404, failure flashing, file responses."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app
from flask_login import current_user

from expertpool.core import storage
from expertpool.core.requests import fail
from expertpool.db import db

from .. import queries
from ..models import Course


def form_errors(form: Any) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        fail(f"{label.text if label else name}: {'; '.join(map(str, errors))}")


def visible_course(slug: str) -> Course:
    """A published course by slug; drafts only for administrators (preview)."""
    course = queries.course_by_slug(db.session, slug)
    if course is None or (not course.is_published and not current_user.is_admin):
        abort(404)
    return course


def upload_root() -> str:
    return current_app.config["UPLOAD_FOLDER"]


def stored_file(
    relative: str | None, *, name: str | None, mime: str | None, attachment: bool
) -> Any:
    """Send a stored course file (404 when missing or outside the upload folder)."""
    return storage.send(
        upload_root(), relative, name=name, mime=mime, as_attachment=attachment, max_age=3600
    )
