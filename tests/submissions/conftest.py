"""Fixtures of the submission tests: messages in English, a submission factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask_babel import force_locale

from expertpool.db import db
from expertpool.submissions.operations import create_submission


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
    def make(**data: Any) -> Any:
        values = {
            "kind": "rm_certification",
            "review_type": "new",
            "grade": "first",
            "title": "土壤中重金属成分分析标准物质",
            "rm_name": "土壤成分分析标准物质",
            "category": 8,
            "matrix": "土壤",
            "analytes": ["铅", "镉"],
            "methods": ["ICP-MS"],
            "applicant_institution": "广东省计量科学研究院",
        }
        values.update(data)
        submission = create_submission(db.session, admin, values)
        db.session.commit()
        return submission

    return make


@pytest.fixture
def admin_client(client: Any, auth: Any, admin: Any) -> Any:
    """The test client signed in as the administrator, pages in English."""
    auth.login()
    client.post("/language", data={"locale": "en"})
    return client
