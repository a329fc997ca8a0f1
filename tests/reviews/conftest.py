"""Fixtures of the review-workflow tests: a submission, experts with accounts, sign-in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask_babel import force_locale

from expertpool.core.access import Role
from tests.conftest import PASSWORD, submission_maker

WINDOW = (dt.date(2025, 3, 1), dt.date(2025, 4, 30))


@pytest.fixture(autouse=True)
def english(app: Any) -> Iterator[None]:
    with force_locale("en"):
        yield


@pytest.fixture
def window() -> tuple[dt.date, dt.date]:
    """The review window of the `pool` submission."""
    return WINDOW


@pytest.fixture
def make_submission(app: Any, admin: Any) -> Callable[..., Any]:
    return submission_maker(
        admin, applicant_people=["王强"], window_start=WINDOW[0], window_end=WINDOW[1]
    )


@pytest.fixture
def expert_user(
    make_user: Callable[..., Any], make_expert: Callable[..., Any]
) -> Callable[..., Any]:
    """An active expert with a signed-in-able account named `username`."""

    def make(username: str, **data: Any) -> Any:
        # English messages: notifications are written in the reader's own language.
        user = make_user(Role.EXPERT, username=username, name=username, locale="en")
        expert = make_expert(name=username, email=f"{username}@example.cn", user_id=user.id, **data)
        return expert

    return make


@dataclass
class Pool:
    submission: Any
    members: list[Any]
    alternates: list[Any]


@pytest.fixture
def pool(make_submission: Callable[..., Any], expert_user: Callable[..., Any]) -> Pool:
    """A submission from 广东省计量院 and five experts elsewhere: three members, two alternates."""
    submission = make_submission()
    places = [
        "中国计量科学研究院",
        "上海市计量测试技术研究院",
        "北京化工大学",
        "中国地质科学院",
        "国家食品安全风险评估中心",
    ]
    experts = [
        expert_user(f"e{n}", institution=place, metrology_competent=n == 1)
        for n, place in enumerate(places, start=1)
    ]
    return Pool(submission=submission, members=experts[:3], alternates=experts[3:])


class SignIn:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, username: str) -> Any:
        self.client.post("/logout")
        self.client.post("/login", data={"username": username, "password": PASSWORD})
        self.client.post("/language", data={"locale": "en"})
        return self.client


@pytest.fixture
def sign_in(client: Any) -> SignIn:
    return SignIn(client)
