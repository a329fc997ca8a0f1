"""Serving memory (issue 11): RSS and PSS of gunicorn with 1 and 4 workers, preloaded or not.

    .venv/bin/python bench/serve_memory.py [--configs 1:preload 4:preload 4:no-preload]
                                           [--port 5091] [--rounds 3]

Needs the set-up `make run` does (database, demo data, the model under instance/models, the
embeddings and search indexes). For each configuration it starts `gunicorn -c gunicorn.conf.py
wsgi:app` on 127.0.0.1 with WARM_UP=1 (the model, the experts' vectors and the keyword
segments loaded at start: once in the master when preloaded, else once in every worker), waits
until /readyz answers 200 and every warm-up has finished, signs in as the demo administrator
and requests pages that use all of it (a submission's candidates page, a course search, the
home page) `--rounds` times per worker, several at once so that every worker serves some.
Then it reads /proc/<pid>/smaps_rollup of the master and each worker.

PSS (proportional set size) divides each shared page among the processes sharing it, so the
PSS of all processes adds up to the memory they really use; RSS counts shared pages in every
process. Linux only (smaps_rollup).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _model import machine

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
ADMIN = ("admin", "Demo-2026!pool")  # the demo data set's administrator
PAGES = ["/submissions/1/candidates", "/courses/search?q=标准物质定值", "/"]
FIELDS = ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")


@dataclass
class Memory:
    pid: int
    kb: dict[str, int]

    def mb(self, *fields: str) -> float:
        return sum(self.kb.get(f, 0) for f in fields) / 1024


def smaps_rollup(pid: int) -> Memory:
    kb = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        kb[name] = int(value.split()[0])
    return Memory(pid, kb)


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_for(predicate, what: str, timeout: float = 600.0, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(every)


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> int:
        try:
            with self.opener.open(self.base + urllib.parse.quote(path, safe="/?=&")) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def login(self, username: str, password: str) -> None:
        with self.opener.open(self.base + "/login") as r:
            page = r.read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        data = {"username": username, "password": password}
        if token:
            data["csrf_token"] = token.group(1)
        body = urllib.parse.urlencode(data).encode()
        with self.opener.open(self.base + "/login", data=body) as r:
            r.read()
            if r.url.rstrip("/").endswith("/login"):
                raise RuntimeError("sign-in failed: is the demo data set loaded (make run)?")


def ready(client: Client) -> bool:
    try:
        return client.get("/readyz") == 200
    except OSError:
        return False


def measure(workers: int, preload: bool, port: int, rounds: int) -> dict:
    env = dict(
        os.environ,
        WARM_UP="1",
        WEB_CONCURRENCY=str(workers),
        WEB_PRELOAD="1" if preload else "0",
        WEB_BIND=f"127.0.0.1:{port}",
        JOB_WORKERS="0",
        LOG_LEVEL="info",
    )
    log = Path(tempfile.mkstemp(prefix="serve-memory-", suffix=".log")[1])
    with log.open("w") as out:
        master = subprocess.Popen(
            [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    client = Client(f"http://127.0.0.1:{port}")
    try:
        started = time.monotonic()
        warmups = 1 if preload else workers
        wait_for(lambda: len(children(master.pid)) == workers, "workers forked")
        wait_for(lambda: ready(client), "/readyz 200")
        wait_for(lambda: log.read_text().count("warm-up done") >= warmups, "warm-ups done")
        ready_s = time.monotonic() - started
        client.login(*ADMIN)
        pids = children(master.pid)
        before = {pid: cpu_ticks(pid) for pid in pids}
        paths = PAGES * rounds * workers
        with ThreadPoolExecutor(max_workers=2 * workers) as pool:
            statuses = list(pool.map(client.get, paths))
        if any(s != 200 for s in statuses):
            raise RuntimeError(f"page statuses: {sorted(set(statuses))}")
        served = sum(cpu_ticks(pid) > before[pid] for pid in pids)
        master_mem = smaps_rollup(master.pid)
        worker_mem = [smaps_rollup(pid) for pid in pids]
    finally:
        master.send_signal(signal.SIGTERM)
        master.wait(timeout=60)
        log.unlink()
    every = [master_mem, *worker_mem]
    return {
        "config": f"{workers} worker{'s' if workers > 1 else ''}, "
        + ("preload" if preload else "no preload"),
        "ready_s": ready_s,
        "requests": len(paths),
        "served": f"{served}/{workers}",
        "rss": sum(m.mb("Rss") for m in every),
        "pss": sum(m.mb("Pss") for m in every),
        "master_pss": master_mem.mb("Pss"),
        "worker_pss": sum(m.mb("Pss") for m in worker_mem) / workers,
        "worker_rss": sum(m.mb("Rss") for m in worker_mem) / workers,
        "worker_private": sum(m.mb("Private_Clean", "Private_Dirty") for m in worker_mem) / workers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=["1:preload", "4:preload", "4:no-preload"])
    parser.add_argument("--port", type=int, default=5091)
    parser.add_argument("--rounds", type=int, default=3, help="pages per worker, times 3 pages")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    for spec in args.configs:
        count, mode = spec.split(":")
        rows.append(measure(int(count), mode == "preload", args.port, args.rounds))
        print(f"  done: {rows[-1]['config']}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    header = (
        "| configuration | ready after s | requests (workers that served) | RSS sum MB "
        "| **PSS sum MB** | master PSS MB | per worker: RSS / PSS / private MB |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for r in rows:
        print(
            f"| {r['config']} | {r['ready_s']:.1f} | {r['requests']} ({r['served']}) "
            f"| {r['rss']:.0f} | **{r['pss']:.0f}** | {r['master_pss']:.0f} "
            f"| {r['worker_rss']:.0f} / {r['worker_pss']:.0f} / {r['worker_private']:.0f} |"
        )


if __name__ == "__main__":
    main()
