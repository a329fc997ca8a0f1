"""Fixtures of the home-page tests: courses from the training tests, submissions and experts
from the review tests, English interface text."""

from __future__ import annotations

from tests.courses.conftest import _english, app, login, make_course, trainee  # noqa: F401
from tests.reviews.conftest import expert_user, make_submission, pool, sign_in  # noqa: F401
from tests.reviews.test_review_reminders import fake_smtp  # noqa: F401
