"""Serving: gunicorn.conf.py's sizing and settings, and scripts/serve.py, which runs the web server
and the job worker together (`make run`), passing a stop on and stopping both when one ends."""

from __future__ import annotations

import gc
import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve = _load("serve", ROOT / "scripts" / "serve.py")


@pytest.fixture
def conf(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """gunicorn.conf.py as gunicorn reads it (it sets WEB_CONCURRENCY/TORCH_THREADS: undone)."""
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "WEB_PRELOAD", "WEB_BIND", "TORCH_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("TORCH_THREADS", "")
    module = _load("gunicorn_conf", ROOT / "gunicorn.conf.py")
    return module


# -- gunicorn.conf.py ------------------------------------------------------------------------


def test_the_server_preloads_and_logs_no_access_lines(conf: ModuleType) -> None:
    assert conf.preload_app is True
    assert conf.accesslog is None  # the app's JSON lines instead (core/logs.py)
    assert conf.worker_class == "gthread"
    assert conf.workers == 3
    assert conf.threads == 4
    assert conf.bind == ["127.0.0.1:5000"]
    assert os.environ["WEB_CONCURRENCY"] == "3"  # what the production check counts


def test_workers_follow_the_cores_when_memory_allows(conf: ModuleType) -> None:
    plenty = 64 * 1024
    assert conf.default_workers(2, plenty) == 5
    assert conf.default_workers(8, plenty) == 17
    assert conf.default_workers(2, None) == 5  # memory unknown: the cores decide


def test_workers_are_capped_by_memory(conf: ModuleType) -> None:
    shared, worker, job = conf.SHARED_MB, conf.WORKER_MB, conf.JOB_WORKER_MB
    room_for_two = conf.HEADROOM_MB + job + shared + 2 * worker + worker // 2
    assert conf.default_workers(16, room_for_two) == 2
    assert conf.default_workers(16, room_for_two, job_workers=0) > 2
    assert conf.default_workers(16, 1024) == 1  # never fewer than one
    # without preload every worker holds its own model: far fewer fit
    unshared = conf.default_workers(16, 8 * 1024, preload=False)
    assert unshared < conf.default_workers(16, 8 * 1024) and unshared >= 1


def test_torch_threads_share_the_cores_among_workers(conf: ModuleType) -> None:
    assert conf.torch_threads_per_worker(cores=2, workers=5) == 1
    assert conf.torch_threads_per_worker(cores=8, workers=3) == 2
    assert conf.torch_threads_per_worker(cores=1, workers=0) == 1


def test_available_memory_is_read_from_meminfo(conf: ModuleType, tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24576000 kB\nMemFree: 100 kB\nMemAvailable: 2097152 kB\n")
    assert conf.available_mb(meminfo) == 2048
    assert conf.available_mb(tmp_path / "missing") is None


def test_the_environment_overrides_the_sizing(
    monkeypatch: pytest.MonkeyPatch, conf: ModuleType
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    monkeypatch.setenv("WEB_THREADS", "2")
    monkeypatch.setenv("WEB_PRELOAD", "0")
    monkeypatch.setenv("WEB_BIND", "unix:/run/expertpool/web.sock")
    again = _load("gunicorn_conf2", ROOT / "gunicorn.conf.py")
    assert (again.workers, again.threads, again.preload_app) == (7, 2, False)
    assert again.bind == ["unix:/run/expertpool/web.sock"]


class _Thread:
    joined = False

    def join(self) -> None:
        self.joined = True


class _Server:
    def __init__(self, preload: bool) -> None:
        self.cfg = SimpleNamespace(preload_app=preload, workers=3)
        self.log = SimpleNamespace(info=lambda *args: None)


def test_the_master_finishes_the_warm_up_and_closes_its_connections_before_forking(
    conf: ModuleType, app: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from expertpool.db import db

    make_user()
    assert db.engine.pool.checkedin() == 1
    warm_up = _Thread()
    monkeypatch.setitem(sys.modules, "wsgi", SimpleNamespace(warm_up_thread=warm_up))
    conf.when_ready(_Server(preload=False))  # each worker loads the app itself: nothing to do
    assert not warm_up.joined and db.engine.pool.checkedin() == 1
    try:
        conf.when_ready(_Server(preload=True))
        assert warm_up.joined
        assert db.engine.pool.checkedin() == 0  # the workers will not inherit a connection
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# -- scripts/serve.py ------------------------------------------------------------------------


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _stoppable(name: str, fifo: Path | None = None) -> list[str]:
    """A child that says it is ready (on stdout, or into `fifo`) and reports the signal that
    stops it."""
    return _python(
        f"""
        import signal, sys
        def stop(signum, frame):
            print("{name} stopped by " + signal.Signals(signum).name, flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if {str(fifo)!r} != "None":
            with open({str(fifo)!r}, "w") as f:
                f.write("ready")
        print("{name} ready", flush=True)
        while True:
            signal.pause()
        """
    )


def test_when_one_child_ends_the_others_are_stopped(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "ready"
    os.mkfifo(fifo)
    # the failing child waits (blocked on the FIFO) until the other is up, then fails
    failing = _python(f"open({str(fifo)!r}).read(); raise SystemExit(3)")
    code = serve.supervise([_stoppable("web", fifo), failing], stop_timeout=30)
    assert code == 3
    out, err = capfd.readouterr()
    assert "web stopped by SIGTERM" in out
    assert "exited with code 3; stopping the rest" in err


def test_a_child_ending_cleanly_by_itself_is_a_failure(tmp_path: Path) -> None:
    fifo = tmp_path / "ready"
    os.mkfifo(fifo)
    done = _python(f"open({str(fifo)!r}).read()")
    assert serve.supervise([_stoppable("web", fifo), done], stop_timeout=30) == 1


def test_a_child_killed_by_a_signal_gives_a_shell_style_status() -> None:
    killed = _python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert serve.supervise([killed], stop_timeout=30) == 128 + signal.SIGKILL


SUPERVISOR = """
import sys
sys.path.insert(0, {scripts!r})
import serve
sys.exit(serve.supervise({commands!r}, stop_timeout={timeout}))
"""


def _supervisor(commands: list[list[str]], timeout: float = 30) -> subprocess.Popen[str]:
    code = SUPERVISOR.format(scripts=str(ROOT / "scripts"), commands=commands, timeout=timeout)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen[str], names: set[str]) -> list[str]:
    # The children share the supervisor's stdout, so two "ready" lines can interleave in the
    # pipe ("jobs readyweb ready", then an empty line): look for each "<name> ready" anywhere.
    seen: list[str] = []
    while not all(f"{name} ready" in "\n".join(seen) for name in names):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line, f"supervisor output ended before {names} were ready: {seen}"
        seen.append(line.strip())
    return seen


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_is_passed_on_to_every_child_as_sigterm(stop: signal.Signals) -> None:
    proc = _supervisor([_stoppable("web"), _stoppable("jobs")])
    _wait_ready(proc, {"web", "jobs"})
    proc.send_signal(stop)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "web stopped by SIGTERM" in out
    assert "jobs stopped by SIGTERM" in out
    assert f"{stop.name}: stopping" in err


def test_a_child_ignoring_the_stop_is_killed_after_the_timeout() -> None:
    stubborn = _python(
        """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stubborn ready", flush=True)
        while True:
            signal.pause()
        """
    )
    proc = _supervisor([stubborn, _stoppable("web")], timeout=0.5)
    _wait_ready(proc, {"stubborn", "web"})
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert "web stopped by SIGTERM" in out
    assert "outlived the stop timeout: killed" in err
    assert proc.returncode == 0  # the first to end (web) ended as asked


def test_make_run_starts_gunicorn_and_the_job_worker() -> None:
    web, jobs = serve.web_command(dev=False), serve.job_worker_command()
    assert Path(web[0]).name == "gunicorn"
    assert web[1:] == ["-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    assert jobs[1:] == ["jobs", "worker"]
    assert serve.web_command(dev=True)[1:3] == ["run", "--debug"]
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/serve.py --job-workers $(JOB_WORKERS)" in makefile
    assert "scripts/serve.py --dev" in makefile
