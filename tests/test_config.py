"""Production refusal: each unsafe setting stops the app from starting, all named at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from expertpool import create_app
from expertpool.config import ConfigError, load_config, production_problems
from tests.conftest import SAFE_PRODUCTION

# Environment variables that would change what these tests configure.
_ENV = (
    "PRODUCTION",
    "PUBLIC_BASE_URL",
    "SECRET_KEY",
    "FLASK_DEBUG",
    "APP_HOSTS",
    "WEB_CONCURRENCY",
    "RATELIMIT_STORAGE_URI",
    "SESSION_COOKIE_SECURE",
    "TRUSTED_PROXIES",
    "BEHIND_PROXY",
    "DATABASE_URL",
    "REDIS_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


_UNSET = object()  # leave the setting out altogether (its default applies)


def _app(tmp_path: Path, **settings: Any) -> Flask:
    """The app with SAFE_PRODUCTION changed by `settings`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"}
    config.update({k: v for k, v in SAFE_PRODUCTION.items() if k not in settings})
    config.update({k: v for k, v in settings.items() if v is not _UNSET})
    return create_app(config, instance_path=str(tmp_path / "instance"))


def test_a_safe_production_config_starts(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert app.config["PRODUCTION"] is True
    assert production_problems(app.config) == []
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"SECRET_KEY": _UNSET}, "SECRET_KEY must be given explicitly"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY must be at least 32"),
        ({"DEBUG": True}, "DEBUG (FLASK_DEBUG) must be off"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE must be on"),
        ({"TRUSTED_PROXIES": 0}, "TRUSTED_PROXIES must give the number"),
        (
            {"WEB_CONCURRENCY": 4, "RATELIMIT_STORAGE_URI": "memory://"},
            "RATELIMIT_STORAGE_URI is memory:// with 4 web processes",
        ),
        ({"PUBLIC_BASE_URL": None}, "PUBLIC_BASE_URL must be set"),
    ],
    ids=["generated-secret", "short-secret", "debug", "cookie", "proxies", "ratelimit", "base"],
)
def test_each_unsafe_setting_is_refused(tmp_path: Path, settings: dict, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _app(tmp_path, **settings)
    message = str(refused.value)
    assert named in message
    assert message.count("\n  - ") == 1  # that problem alone


def test_sqlite_with_several_app_hosts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _app(tmp_path, APP_HOSTS=2, RATELIMIT_STORAGE_URI="redis://cache:6379/0")
    assert "APP_HOSTS is 2 but DATABASE_URL is SQLite" in str(refused.value)
    assert str(refused.value).count("\n  - ") == 1


def test_several_hosts_share_memory_rate_limits_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"memory:// with 6 web processes \(APP_HOSTS"):
        _app(tmp_path, APP_HOSTS=2, WEB_CONCURRENCY=3, RATELIMIT_STORAGE_URI="memory://")


def test_rate_limits_are_shared_unless_memory_is_asked_for(tmp_path: Path) -> None:
    """Unset, the counters go to Redis when there is one, else to the database: never per worker."""
    assert _app(tmp_path / "a", WEB_CONCURRENCY=4).config["RATELIMIT_STORAGE_URI"] == (
        "expertpool+db://"
    )
    redis = _app(tmp_path / "b", WEB_CONCURRENCY=4, REDIS_URL="unix:///run/redis/redis.sock")
    assert redis.config["RATELIMIT_STORAGE_URI"] == "redis+unix:///run/redis/redis.sock"


def test_every_problem_is_listed_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")  # how a real server would get debug on
    monkeypatch.setenv("APP_HOSTS", "3")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError) as refused:
        create_app(
            {"TESTING": True, "PRODUCTION": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"},
            instance_path=str(tmp_path / "instance"),
        )
    message = str(refused.value)
    assert message.startswith("PRODUCTION is on, and the server refuses to start")
    for named in (
        "PUBLIC_BASE_URL",
        "SECRET_KEY must be given explicitly",
        "DEBUG",
        "APP_HOSTS is 3",
        "RATELIMIT_STORAGE_URI",
        "SESSION_COOKIE_SECURE",
        "TRUSTED_PROXIES",
        "personal-data keys",
    ):
        assert named in message
    assert message.count("\n  - ") == 8


def test_the_rules_apply_only_in_production(tmp_path: Path) -> None:
    app = _app(tmp_path, PRODUCTION=False, SECRET_KEY=_UNSET, DEBUG=True, TRUSTED_PROXIES=0)
    assert app.config["PRODUCTION"] is False


def test_a_secret_key_from_the_environment_is_explicit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "e" * 40)
    app = _app(tmp_path, SECRET_KEY=_UNSET)
    assert app.config["SECRET_KEY"] == "e" * 40
    assert app.config["SECRET_KEY_GENERATED"] is False


def test_a_scaled_setup_on_postgresql_and_redis_is_safe(tmp_path: Path) -> None:
    # Checked on the loaded settings: building the app would connect to redis.
    config = load_config(
        tmp_path,
        SAFE_PRODUCTION
        | {
            "DATABASE_URL": "postgresql://rm:pw@db.internal/rm",
            "APP_HOSTS": 3,
            "WEB_CONCURRENCY": 5,
            "RATELIMIT_STORAGE_URI": "redis://cache.internal:6379/0",
        },
    )
    assert production_problems(config) == []


def test_clients_connecting_directly_need_no_trusted_proxies(tmp_path: Path) -> None:
    app = _app(tmp_path, BEHIND_PROXY=False, TRUSTED_PROXIES=0)
    assert production_problems(app.config) == []


def test_settings_come_from_the_environment_as_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_HOSTS", "2")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    config = load_config(tmp_path)
    assert config["APP_HOSTS"] == 2
    assert config["TRUSTED_PROXIES"] == 1


def _seen_by_the_app(app: Flask, headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}

    @app.get("/probe-address")
    def probe() -> str:
        from flask import request

        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    probe.__access__ = frozenset({"public"})  # type: ignore[attr-defined]
    app.test_client().get("/probe-address", headers=headers)
    return seen


def test_trusted_proxies_set_the_client_address(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct = _app(tmp_path / "direct", PRODUCTION=False, TRUSTED_PROXIES=0)
    assert _seen_by_the_app(direct, forwarded) == {"addr": "127.0.0.1", "scheme": "http"}
    proxied = _app(tmp_path / "proxied", PRODUCTION=False, TRUSTED_PROXIES=1)
    assert _seen_by_the_app(proxied, forwarded) == {"addr": "203.0.113.9", "scheme": "https"}
