"""A throwaway PostgreSQL server for the test session.

`DATABASE_URL_TEST` (any database on a server we may CREATE DATABASE on) wins; otherwise, when
`initdb` is on PATH, a private cluster is made in a temporary directory, listening on 127.0.0.1
only (unix socket inside that directory), and removed at the end; otherwise the tests skip.

Under pytest-xdist every worker is its own process with its own session fixtures, so each worker
gets its own cluster (or, with `DATABASE_URL_TEST`, its own database named after the worker id).

Use from a test module (or for the whole suite: `pytest_plugins = ["tests.pg"]` in conftest.py):

    from tests import pg
    pg_server, pg_database_url = pg.pg_server, pg.pg_database_url  # fixtures
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV_URL = "DATABASE_URL_TEST"
READY_TIMEOUT_S = 30  # bounded wait for the server to accept connections
_POLL_INTERVAL_S = 0.05
_PORT_ATTEMPTS = 3  # a free port can be taken by someone else between probing and binding
_SAFE_NAME = re.compile(r"[^a-z0-9_]")

# Durability buys nothing for a database thrown away after the run; these make it faster.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class PgServer:
    """Where a server is and how to reach it; `url(db)` is a libpq-style SQLAlchemy URL."""

    host: str
    port: int
    user: str
    password: str
    maintenance_db: str  # a database that exists, to run CREATE/DROP DATABASE from

    def url(self, database: str, driver: str = "postgresql") -> str:
        from urllib.parse import quote

        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"{driver}://{auth}@{self.host}:{self.port}/{database}"

    def connect(self, database: str | None = None):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=database or self.maintenance_db,
            autocommit=True,
            connect_timeout=10,
        )

    def create_database(self, name: str) -> str:
        """(Re)create an empty UTF-8 database `name`; return its URL."""
        self.drop_database(name)
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.connect() as conn:
            # FORCE (PostgreSQL 13+) ends sessions a crashed test may have left connected.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(prefix: str = "expertpool_test") -> str:
    """A database name unique to this xdist worker ("gw0", "gw1", ...; "main" without xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return _SAFE_NAME.sub("_", f"{prefix}_{worker}".lower())[:63]


# --- the server -------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_server() -> Iterator[PgServer]:
    """The server of `DATABASE_URL_TEST`, or a private temporary cluster; skip when neither."""
    url = os.environ.get(ENV_URL)
    if url:
        yield _server_from_url(url)
        return
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip(
            f"PostgreSQL tests need a server: set {ENV_URL}=postgresql://user:pw@host/db "
            "or put PostgreSQL's initdb and pg_ctl on PATH"
        )
    with _temporary_cluster() as server:
        yield server


def _server_from_url(url: str) -> PgServer:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith(("postgresql", "postgres")):
        raise pytest.UsageError(f"{ENV_URL} must be a postgresql:// URL, not {parsed.drivername}")
    return PgServer(
        host=parsed.host or "localhost",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or "",
        maintenance_db=parsed.database or "postgres",
    )


def _run_as() -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=READY_TIMEOUT_S * 2)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _temporary_cluster() -> Iterator[PgServer]:
    root = Path(tempfile.mkdtemp(prefix="expertpool-pg-"))
    data, sockets, logfile = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    password = secrets.token_urlsafe(16)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        for path in (root, sockets, pwfile):
            shutil.chown(path, "postgres", "postgres")
    prefix = _run_as()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        if (data / "postmaster.pid").exists():
            # immediate: nothing to keep, so skip the shutdown checkpoint
            subprocess.run(
                [
                    *prefix,
                    "pg_ctl",
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    str(READY_TIMEOUT_S),
                    "stop",
                ],
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)  # also when the session is interrupted before fixture teardown
    try:
        # Password auth over TCP: the port is reachable by every user of this machine.
        _run(
            [
                *prefix,
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            ],
            "initdb",
        )
        pwfile.unlink()
        port = _start(prefix, data, sockets, logfile)
        server = PgServer(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password=password,
            maintenance_db="postgres",
        )
        _wait_until_connectable(server)
        yield server
    finally:
        stop()
        atexit.unregister(stop)


def _start(prefix: list[str], data: Path, sockets: Path, logfile: Path) -> int:
    """Start the server on a free port, retrying when the port was taken meanwhile."""
    conf = data / "postgresql.conf"
    base = conf.read_text()
    error = ""
    for _attempt in range(_PORT_ATTEMPTS):
        port = _free_port()
        settings = dict(_SERVER_SETTINGS, port=str(port), unix_socket_directories=f"'{sockets}'")
        conf.write_text(base + "\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        # -w waits until the server reports ready (bounded by -t); no sleeping.
        done = subprocess.run(
            [
                *prefix,
                "pg_ctl",
                "-D",
                str(data),
                "-l",
                str(logfile),
                "-w",
                "-t",
                str(READY_TIMEOUT_S),
                "start",
            ],
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT_S * 2,
        )
        if done.returncode == 0:
            return port
        error = logfile.read_text(errors="replace") if logfile.exists() else done.stderr
        if "could not bind" not in error and "already in use" not in error:
            break
    raise RuntimeError(f"PostgreSQL did not start:\n{error[-2000:]}")


def _wait_until_connectable(server: PgServer) -> None:
    """pg_ctl -w already waited; this confirms TCP + password work, polling to a deadline."""
    import psycopg

    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            with server.connect():
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_POLL_INTERVAL_S)  # poll interval, bounded by the deadline


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One server per test process (each xdist worker has its own)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def pg_database_url(pg_server: PgServer) -> Iterator[str]:
    """An empty database of this worker for the session (`postgresql://` URL), dropped after."""
    name = database_name()
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)
