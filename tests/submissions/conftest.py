"""Fixtures of the submission tests: messages in English, a submission factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask_babel import force_locale

from tests.conftest import submission_maker


@pytest.fixture(autouse=True)
def english(request: pytest.FixtureRequest) -> Iterator[None]:
    """Messages are asserted in English, whatever translations the app has.

    Tests without the app (pure parsing) get no app either: outside an app Flask-Babel does not
    translate at all.
    """
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    with force_locale("en"):
        yield


@pytest.fixture
def make_submission(app: Any, admin: Any) -> Callable[..., Any]:
    return submission_maker(admin)


@pytest.fixture
def admin_client(client: Any, auth: Any, admin: Any) -> Any:
    """The test client signed in as the administrator, pages in English."""
    auth.login()
    client.post("/language", data={"locale": "en"})
    return client
