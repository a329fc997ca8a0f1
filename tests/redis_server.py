"""A throwaway redis-server on a Unix socket, one per test (Debian's package; `make test` installs it).

Use from a test module: `redis_url = redis_server.redis_url` (a fixture, as tests/pg.py's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
START_TIMEOUT_S = 20


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """`unix://<socket>` of a redis-server started for this test, stopped after it."""
    if not Path(REDIS).exists():
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: `make test` installs it")
        pytest.skip("redis-server is not installed (`make test` installs it)")
    sock = tmp_path / "redis.sock"
    process = subprocess.Popen(
        [REDIS, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(url):
            assert time.monotonic() < deadline, "redis-server did not start"
            threading.Event().wait(0.02)
        yield url
    finally:
        process.terminate()
        process.wait()


def answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url).ping())
    except Exception:
        return False
