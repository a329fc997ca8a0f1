"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (`make run`, deploy/).

Environment (all optional):

    WEB_BIND          where to listen: "127.0.0.1:5000" (default), "unix:/run/expertpool/web.sock"
    WEB_CONCURRENCY   worker processes (default: sized from the cores and the free memory, below)
    WEB_THREADS       threads per worker (default 4)
    WEB_TIMEOUT       seconds a request may take before its worker is restarted (default 120)
    WEB_PRELOAD       1 (default): load the app once, before forking; 0: each worker loads it
    JOB_WORKERS       job worker processes on this host, counted out of the memory (default 1)
    TORCH_THREADS     torch threads per worker (default: cores // workers, at least 1)

Memory, and why the app is preloaded. A worker that loads the app itself holds the embedding
model (~470 MB of float32 weights), torch, the experts' vectors and the keyword-index segments:
about 1 GB of its own (PSS), 1.3 GB RSS. With `preload_app` the master loads and warms all that up (WARM_UP=1) before
forking, and the workers share those pages copy-on-write; what a worker adds is what it writes
(its own requests' objects, caches it fills later). BENCHMARKS.md ("Serving memory",
bench/serve_memory.py) has the figures behind SHARED_MB and WORKER_MB. The trade-offs: a code
change needs a full restart (`systemctl restart`, not a HUP of the workers), since the master
holds the old code; and anything a worker loads after the fork (a newly built index segment, a
re-read vector matrix after many changes) is private to it again until the workers are recycled.

Fork safety (database pools, torch threads) is `expertpool/core/forking.py`'s part.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Measured with bench/serve_memory.py on the demo data set (BENCHMARKS.md "Serving memory"):
# 1 preloaded worker, PSS of master + worker 1,242 MB, of which the worker's private part 119 MB;
# 4 preloaded workers 1,604 MB (121 MB private each); 4 workers without preload 3,867 MB.
SHARED_MB = 1150  # the preloaded master: model, torch, vectors, segments (shared by workers)
WORKER_MB = 200  # what a preloaded worker adds (121 MB measured, with room to grow)
UNSHARED_WORKER_MB = 1000  # a worker that loads everything itself (WEB_PRELOAD=0): 964 MB
JOB_WORKER_MB = 1000  # a job worker loads the app and the model itself (not forked from here)
HEADROOM_MB = 512  # left for the database, nginx and the page cache


def cpu_cores() -> int:
    """Cores this process may run on (a container's or a CPU set's, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_mb(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable in MiB, or None where /proc/meminfo does not say."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def default_workers(
    cores: int, memory_mb: int | None, *, preload: bool = True, job_workers: int = 1
) -> int:
    """2 x cores + 1 (gunicorn's rule for I/O-bound requests), but never more than fit in memory."""
    by_cpu = 2 * cores + 1
    if memory_mb is None:
        return by_cpu
    budget = memory_mb - HEADROOM_MB - job_workers * JOB_WORKER_MB
    if preload:
        budget -= SHARED_MB
    by_memory = budget // (WORKER_MB if preload else UNSHARED_WORKER_MB)
    return max(1, min(by_cpu, by_memory))


def torch_threads_per_worker(cores: int, workers: int) -> int:
    """Torch threads per worker so that all workers together use about one per core."""
    return max(1, cores // max(1, workers))


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) >= minimum else default


preload_app = _flag("WEB_PRELOAD", True)
workers = _number(
    "WEB_CONCURRENCY",
    default_workers(
        cpu_cores(),
        available_mb(),
        preload=preload_app,
        job_workers=_number("JOB_WORKERS", 1, minimum=0),
    ),
)
# 4 threads per worker, measured against more processes with fewer threads (the GIL: a thread's
# Python work waits for its worker's other threads; BENCHMARKS.md, issue 11, "Worker sizing"):
# at 50 users on 2 cores, 5 x 4 served more requests per second with lower p50 and p99 than
# 9 x 2 and 17 x 1 in each of two rounds (a busy shared machine). The likely reason: a
# keep-alive connection (locust's, nginx's upstream) stays with the worker that accepted it, so
# with one or two threads its next request waits behind a slow page (a candidates page) of that
# worker, where with four it is still answered; and each further process adds ~120 MB.
threads = _number("WEB_THREADS", 4)
worker_class = "gthread"
bind = [part.strip() for part in os.environ.get("WEB_BIND", "127.0.0.1:5000").split(",")]
timeout = _number("WEB_TIMEOUT", 120)  # a large round proposal still runs inside its request
graceful_timeout = 30
keepalive = 5  # behind nginx's keep-alive upstream
# The app writes one JSON line per request itself (expertpool/core/logs.py), with the user and
# the request id; gunicorn's own access log would repeat it with the query string, which may
# hold personal data.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "expertpool"
control_socket_disable = True  # no gunicornc socket in $HOME; systemctl manages the server
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"  # heartbeat file off the disk (a slow disk stalls workers)

# What the app reads: its production check counts the web processes sharing rate-limit counters,
# and each worker's torch takes its share of the cores.
os.environ["WEB_CONCURRENCY"] = str(workers)
os.environ.setdefault("TORCH_THREADS", str(torch_threads_per_worker(cpu_cores(), workers)))


def when_ready(server) -> None:
    """Master, app preloaded, before the first fork: finish the warm-up, then close what the
    workers must not share."""
    if not server.cfg.preload_app:
        return
    wsgi = sys.modules.get("wsgi")  # imported by the preload (another app module: no warm-up)
    warm_up = getattr(wsgi, "warm_up_thread", None)
    if warm_up is not None:
        warm_up.join()
        server.log.info("warm-up finished in the master; forking %s workers", server.cfg.workers)
    from expertpool.core import forking

    forking.before_fork()
