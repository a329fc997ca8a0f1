"""Run the web server and the job worker(s) together, as `make run` and `make dev` do.

    python scripts/serve.py [--dev] [--job-workers N]

Starts `gunicorn -c gunicorn.conf.py wsgi:app` (or, with --dev, Flask's development server) and
N job workers (`flask jobs worker`, default 1), each in its own session so a Ctrl-C reaches only
this script. SIGINT and SIGTERM are passed on to every child as SIGTERM (gunicorn and the
worker both stop gracefully on it); when any child ends, for whatever reason, the others are
stopped too and this script exits with the first one's exit code (1 if that was 0 without a
stop being asked for: a server that stops by itself has failed). Children that outlive
--stop-timeout seconds after the SIGTERM are killed, and on Linux a child gets SIGTERM when this
script dies in any way. A production host runs the same programs under systemd instead
(deploy/), one unit each.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin/
_PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def web_command(dev: bool, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    if dev:
        return [str(BIN / "flask"), "run", "--debug", "--host", host, "--port", str(port)]
    return [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]


def job_worker_command() -> list[str]:
    return [str(BIN / "flask"), "jobs", "worker"]


def say(message: str) -> None:
    print(f"serve: {message}", file=sys.stderr, flush=True)


def supervise(commands: Sequence[Sequence[str]], *, stop_timeout: float = 30.0) -> int:
    """Run `commands` until one ends or a stop is asked for; returns the exit code to use."""
    procs = [
        subprocess.Popen(list(c), start_new_session=True, preexec_fn=_die_with_parent)
        for c in commands
    ]
    stop_at: list[float] = []  # when children still running after a stop get killed
    asked: list[int] = []  # the signals that asked for a stop

    def forward(signum: int, _frame: object) -> None:
        if not asked:
            say(f"{signal.Signals(signum).name}: stopping")
            stop_at.append(time.monotonic() + stop_timeout)
        asked.append(signum)
        _terminate(procs)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    wake_read, wake_write = os.pipe()  # a signal makes this readable, waking the wait below
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    previous_wakeup = signal.set_wakeup_fd(wake_write)
    try:
        first = _first_to_end(procs, stop_at, wake_read)
        code = first.returncode
        if not asked:
            say(f"{' '.join(map(str, first.args[:3]))} exited with code {code}; stopping the rest")
            stop_at.append(time.monotonic() + stop_timeout)
        _terminate(procs)
        while any(p.poll() is None for p in procs):
            _first_to_end([p for p in procs if p.poll() is None], stop_at, wake_read)
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(wake_read)
        os.close(wake_write)
    if asked:
        return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else _status(code)
    return _status(code) if code else 1


def _status(returncode: int) -> int:
    """An exit status for a child's return code (-N: killed by signal N, as a shell says it)."""
    return 128 - returncode if returncode < 0 else returncode


def _first_to_end(
    procs: list[subprocess.Popen], stop_at: list[float], wake: int
) -> subprocess.Popen:
    """Wait until one of `procs` ends (reaping only it); past the stop deadline, kill the rest."""
    pidfds = {os.pidfd_open(p.pid): p for p in procs} if hasattr(os, "pidfd_open") else {}
    try:
        while True:
            for proc in procs:
                if proc.poll() is not None:
                    return proc
            timeout = max(0.0, stop_at[0] - time.monotonic()) if stop_at else None
            if timeout == 0.0:
                for proc in procs:
                    if proc.poll() is None:
                        say(f"{proc.args[0]} (pid {proc.pid}) outlived the stop timeout: killed")
                        proc.kill()
                stop_at.clear()
                timeout = None
            if pidfds:  # a pidfd is readable once its child has ended
                ready, _, _ = select.select([*pidfds, wake], [], [], timeout)
                if wake in ready:
                    _drain(wake)
            else:
                time.sleep(0.2 if timeout is None else min(0.2, timeout))
    finally:
        for fd in pidfds:
            os.close(fd)


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        os.read(fd, 512)


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM if this script dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _terminate(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", action="store_true", help="Flask's development server, debug on")
    parser.add_argument("--job-workers", type=int, default=1, help="job worker processes (0: none)")
    parser.add_argument("--stop-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    commands = [web_command(args.dev)] + [job_worker_command()] * max(0, args.job_workers)
    os.chdir(ROOT)
    return supervise(commands, stop_timeout=args.stop_timeout)


if __name__ == "__main__":
    sys.exit(main())
