"""Shared fixtures (flaskr style): a fresh database per test, a client, a CLI runner, users."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, settings

from expertpool import create_app
from expertpool.accounts import operations as accounts
from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.db import db

PASSWORD = "Correct-horse-battery-9"
# A production configuration the app accepts (tests/test_config.py checks each rule against it).
SAFE_PRODUCTION = {
    "PRODUCTION": True,
    "PUBLIC_BASE_URL": "https://rm.example.gov.cn",
    "SECRET_KEY": "0123456789abcdef" * 4,
    "DEBUG": False,
    "SESSION_COOKIE_SECURE": True,
    "TRUSTED_PROXIES": 1,
    "APP_HOSTS": 1,
    "WEB_CONCURRENCY": 1,
    "PII_KEYS": "Gq1kB6oRzAVZyX8T6t1Nwq3cF4vBDe_0mVYpDnA2E1o=",
    "PII_INDEX_KEY": "ab" * 32,
}
_counter = itertools.count(1)

# Hypothesis profiles of the fuzz suite (tests/fuzz): "fuzz" is its default, small and with a
# fixed seed (derandomize) so `make test` and CI are fast and stable; `--hypothesis-profile=long`
# runs many more random examples. Registered here, in the first conftest pytest reads, because
# hypothesis' own plugin loads the profile named on the command line before tests/fuzz is seen.
_FUZZ = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
}
settings.register_profile("fuzz", max_examples=20, derandomize=True, **_FUZZ)
settings.register_profile("long", max_examples=400, **_FUZZ)


@contextmanager
def running_app(tmp_path: Any, **overrides: Any) -> Iterator[Flask]:
    """A test app with its tables, inside its app context; `overrides` change the config.

    The default is a database file under `tmp_path` (other connections, such as a job's
    progress writes or a second writer, see it) with the stand-in encoder and eager jobs.
    """
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "EMBEDDING_MODEL": "hashing",
        "JOBS_EAGER": True,  # jobs run right after the commit that adds them
        "SERVER_NAME": "localhost",
    }
    app = create_app(config | overrides, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    with running_app(tmp_path) as app:
        yield app


class FreshRequestClient(FlaskClient):
    """A test client whose requests start with an empty `g`, as real requests do.

    The tests run inside one app context, which Flask reuses for every test request, so without
    this a `g.rollback` set by one failed request would roll back the next, and flask-login's
    cached user and Flask-Babel's cached locale would outlive a change of user or language.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt costs ~0.2 s per hash on this machine; the tests are not about its cost."""
    import functools

    from werkzeug.security import generate_password_hash

    from expertpool.accounts import models

    monkeypatch.setattr(
        models,
        "generate_password_hash",
        functools.partial(generate_password_hash, method="pbkdf2:sha256:1000"),
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshRequestClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    def make(*roles: Role, username: str | None = None, **fields: Any) -> User:
        name = username or f"user{next(_counter)}"
        user = accounts.create_user(
            db.session,
            username=name,
            name=fields.pop("name", name),
            email=fields.pop("email", f"{name}@example.cn"),
            password=PASSWORD,
            roles=list(roles),
            **fields,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, username="admin")


@pytest.fixture
def sysadmin(make_user: Callable[..., User]) -> User:
    """The system administrator (系统管理员): accounts, jobs, backups."""
    return make_user(Role.SYSADMIN, username="sysadmin")


@pytest.fixture
def secadmin(make_user: Callable[..., User]) -> User:
    """The security administrator (安全管理员): roles, security settings."""
    return make_user(Role.SECADMIN, username="secadmin")


@pytest.fixture
def auditor(make_user: Callable[..., User]) -> User:
    """The security auditor (安全审计员): the audit log."""
    return make_user(Role.AUDITOR, username="auditor")


@pytest.fixture
def make_expert(app: Flask, admin: User) -> Callable[..., Any]:
    from expertpool.experts.operations import create_expert

    def make(status: str = "active", **data: Any) -> Any:
        n = next(_counter)
        values = {
            "name": f"专家{n}",
            "email": f"expert{n}@example.cn",
            "id_number": None,
            "institution": "中国计量科学研究院",
            "province": "北京市",
            "categories": [8],
        }
        values.update(data)
        expert = create_expert(db.session, admin, values, status=status)
        db.session.commit()
        return expert

    return make


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, username: str = "admin", password: str = PASSWORD) -> Any:
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self) -> Any:
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def english_ui(app: Flask) -> Iterator[None]:
    """For tests that assert interface text in English: English by default, in and out of requests."""
    from flask_babel import force_locale

    app.config["LANGUAGES"] = ["en", "zh_CN"]
    with force_locale("en"):
        yield


# A submission as most tests need it; each feature's tests give `make_submission` its own defaults.
SUBMISSION = {
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


def submission_maker(admin: User, **defaults: Any) -> Callable[..., Any]:
    """`make(**data)`: a committed submission from SUBMISSION, then `defaults`, then `data`."""
    from expertpool.submissions.operations import create_submission

    def make(**data: Any) -> Any:
        submission = create_submission(db.session, admin, {**SUBMISSION, **defaults, **data})
        db.session.commit()
        return submission

    return make
