"""Load test (issue 11): the three roles' journeys against a real server, N users at once.

    .venv/bin/python bench/load.py [--backend sqlite|postgres] [--server gunicorn|dev]
                                   [--users 50 200] [--duration 60] [--think 1,3]
                                   [--mix trainee=6,expert=3,admin=1] [--json out.json]

What it does, all on this machine and on loopback only:

1. A throw-away instance: a base built once into --cache-dir (migrations, `flask demo load`,
   the accounts and review work below, `flask embeddings rebuild`, `flask search reindex`) and
   copied for every run, so each run starts from the same data. The model is the converted
   multilingual-e5-small of instance/models (converted with `flask embeddings install-model`
   into the cache when missing). The base is rebuilt when the migrations, the demo data or
   this script's seed change (or with --fresh).
   `--backend postgres` keeps a private PostgreSQL cluster in the cache (initdb; unix socket
   only, no TCP) whose base database is the template of each run's database, and starts a
   `redis-server` on a unix socket per run for the rate limits (RATELIMIT_STORAGE_URI) and the
   job queue (JOBS_BACKEND=rq).
2. The server: `gunicorn -c gunicorn.conf.py wsgi:app` (its default sizing) or, with
   `--server dev`, Flask's development server as `make run` used it before issue 11 (`flask
   run`, threaded, no debugger); beside it one `flask jobs worker`; WARM_UP=1 as `make run`.
3. The users (locust as a library, FastHttpUser, in a child process so that gevent patches
   nothing here): every user signs in with its own account (the CSRF token read from the
   form) and, once all have signed in, the measured window of --duration seconds begins. Each
   user then runs its role's journeys, waiting --think seconds (uniform) between clicks:
   trainee: catalogue, course search, resume a lesson and mark it done, the final quiz
            (start, answer, submit, result), my learning;
   expert:  the technical file (add a publication, remove it again, save the profile), the
            invitations (accept, or decline with a reason), my reviews, the inbox;
   admin:   home, lists (experts, submissions, review board, change history), a submission's
            candidates page, panel assignment (the proposed panel, as the page ticks it).
   Every POST uses the token of the form it submits; redirects are not followed (each request
   is timed alone; the journey requests the next page itself when a person would see it).
4. The report: per endpoint count, errors, p50/p95/p99/max; pages (GET) and writes (POST)
   overall; req/s; the slowest endpoints; the verdict against issue 11's targets (page and
   write p50 <= 150 ms and p99 <= 300 ms at 50 users; no error at 200 users). Beside the
   client's times, the app's own (its request log's duration_ms, joined by X-Request-ID): the
   difference is time spent waiting for a server thread. Each run's logs (web.log with any
   traceback, jobs.log, samples.jsonl) are kept under <cache-dir>/logs/.

An error is a connection failure, a status other than the one the step expects (4xx and 5xx
always), or a redirect to the sign-in page. Times are the client's (around locust's request), so they include
waiting for a free server thread; the load generator shares the machine's cores with the
server, as it would not in production. Sign-ins are reported apart and are not in the window.

Why the bench changes two settings: every virtual user signs in from 127.0.0.1, so the sign-in
rate limit (per client address) is raised; and the seed gives every virtual user an account
of its own (the demo has 3 experts with a log-in; people do not share accounts), pending
invitations to answer, and trainees enrolled at every stage of the first course.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin/
MODEL_NAME = "multilingual-e5-small"

# Issue 11's targets (2 cores).
TARGET_P50_MS = 150.0
TARGET_P99_MS = 300.0
LATENCY_TARGET_USERS = 50  # p50/p99 targets apply at this many users
ERROR_TARGET_USERS = 200  # "0 errors" applies at this many users

ROLES = ("trainee", "expert", "admin")
DEFAULT_MIX = {"trainee": 6, "expert": 3, "admin": 1}

# The seed: accounts for the virtual users and work for them to do (see `seed`).
SEED = {
    "trainees": 150,
    "experts": 80,
    "admins": 25,
    "submissions": 200,
    "panel": 3,
}
SEED_VERSION = 1  # bump when `seed` changes what it writes
SEED_PASSWORD = "Load-bench-2026!"
BENCH_SECRET_KEY = "load-bench-not-a-secret-" + "0" * 40
READY_TIMEOUT_S = 600  # server start: the warm-up loads the model (~50 s on a busy machine)
STOP_TIMEOUT_S = 30


# --- arguments -----------------------------------------------------------------------------------


def parse_mix(text: str) -> dict[str, int]:
    """'trainee=6,expert=3,admin=1' -> weights; roles left out get 0."""
    mix = dict.fromkeys(ROLES, 0)
    for part in text.split(","):
        if not part.strip():
            continue
        role, _, weight = part.partition("=")
        role = role.strip()
        if role not in mix or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"bad mix item {part!r}: use e.g. trainee=6,admin=1")
        mix[role] = int(weight)
    if not any(mix.values()):
        raise argparse.ArgumentTypeError("the mix gives every role weight 0")
    return mix


def parse_think(text: str) -> tuple[float, float]:
    """'1,3' -> (1.0, 3.0) seconds between a user's journeys; '0' -> no wait."""
    parts = [p.strip() for p in text.split(",")]
    try:
        low, high = (float(parts[0]), float(parts[-1]))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad think time {text!r}: use e.g. 1,3") from exc
    if len(parts) > 2 or low < 0 or high < low:
        raise argparse.ArgumentTypeError(f"bad think time {text!r}: use MIN,MAX with 0<=MIN<=MAX")
    return low, high


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--server", choices=("gunicorn", "dev"), default="gunicorn")
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per run")
    parser.add_argument(
        "--think", type=parse_think, default=(1.0, 3.0), help="MIN,MAX seconds between journeys"
    )
    parser.add_argument("--mix", type=parse_mix, default=dict(DEFAULT_MIX))
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--port", type=int, default=5391)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "expertpool-loadbench"
    )
    parser.add_argument("--model-dir", type=Path, help="converted model folder (default: found)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached base instance")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder and logs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the journeys")
    parser.add_argument(
        "--web",
        default="",
        metavar="WORKERSxTHREADS",
        help="gunicorn's workers and threads (e.g. 9x2; default: gunicorn.conf.py's sizing)",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if any(u < 1 for u in args.users):
        build_parser().error("--users must be positive")
    if args.duration <= 0:
        build_parser().error("--duration must be positive")
    return args


# --- forms (the CSRF token and the values a browser would send) -----------------------------------


@dataclass
class Form:
    action: str
    method: str
    id: str | None
    fields: list[dict[str, Any]] = field(default_factory=list)

    def values(self) -> list[tuple[str, str]]:
        """What a browser submits untouched: hidden/text inputs, ticked boxes, chosen options."""
        out = []
        for f in self.fields:
            kind = f["type"]
            if kind in ("checkbox", "radio"):
                if f["checked"]:
                    out.append((f["name"], f["value"] if f["value"] is not None else "on"))
            elif kind == "select":
                out.extend((f["name"], v) for v in f["selected"])
            elif kind not in ("submit", "button", "file", "image", "reset"):
                out.append((f["name"], f["value"] or ""))
        return out

    def value(self, name: str) -> str | None:
        return next((v for k, v in self.values() if k == name), None)

    def choices(self, name: str) -> list[str]:
        """The values a radio/checkbox group or a select offers."""
        out = []
        for f in self.fields:
            if f["name"] != name:
                continue
            if f["type"] == "select":
                out.extend(f["options"])
            elif f["value"] is not None:
                out.append(f["value"])
        return out

    def names(self) -> list[str]:
        return list(dict.fromkeys(f["name"] for f in self.fields))

    def kind_of(self, name: str) -> str | None:
        return next((f["type"] for f in self.fields if f["name"] == name), None)


class _FormParser(HTMLParser):
    """Forms with their fields, including fields outside a form that name it (form="id")."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._orphans: list[tuple[str, dict[str, Any]]] = []  # (form id, field)
        self._select: dict[str, Any] | None = None
        self._option: str | None = None
        self._textarea: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower(), a.get("id"))
            self.forms.append(self._current)
        elif tag == "input" and a.get("name"):
            self._add(
                a,
                {
                    "name": a["name"],
                    "type": a.get("type", "text").lower(),
                    "value": a.get("value"),
                    "checked": "checked" in a,
                },
            )
        elif tag == "textarea" and a.get("name"):
            self._textarea = {"name": a["name"], "type": "textarea", "value": "", "checked": False}
            self._add(a, self._textarea)
        elif tag == "select" and a.get("name"):
            self._select = {
                "name": a["name"],
                "type": "select",
                "options": [],
                "selected": [],
                "multiple": "multiple" in a,
                "value": None,
                "checked": False,
            }
            self._add(a, self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value")
            self._option = value if "value" in a else ""
            if value is not None and "value" in a:
                self._select["options"].append(value)
                if "selected" in a:
                    self._select["selected"].append(value)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea["value"] = self._textarea["value"].lstrip("\n")
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen, options = self._select["selected"], self._select["options"]
            if not chosen and options and not self._select["multiple"]:
                chosen.append(options[0])  # a browser submits a single select's first option
            self._select = None

    def _add(self, attrs: dict[str, str], item: dict[str, Any]) -> None:
        owner = attrs.get("form")
        if owner:
            self._orphans.append((owner, item))
        elif self._current is not None:
            self._current.fields.append(item)

    def close(self) -> None:
        super().close()
        by_id = {f.id: f for f in self.forms if f.id}
        for owner, item in self._orphans:
            if owner in by_id:
                by_id[owner].fields.append(item)


_FORM_BLOCK = re.compile(r"<form\b.*?</form>", re.S | re.I)


def parse_forms(html: str) -> list[Form]:
    """Every form of a page (parsing only the forms keeps the load generator light)."""
    parser = _FormParser()
    blocks = _FORM_BLOCK.findall(html)
    # a field outside its form (form="id") is found only when the whole page is parsed
    parser.feed(html if ' form="' in html else "\n".join(blocks))
    parser.close()
    return parser.forms


def form_to(forms: Iterable[Form], action_pattern: str) -> Form | None:
    """The first POST form whose action matches the regular expression."""
    rx = re.compile(action_pattern)
    return next((f for f in forms if f.method == "post" and rx.search(f.action)), None)


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One request of the measured window."""

    role: str
    name: str  # the journey step, e.g. "mark done"
    kind: str  # "page" (GET) or "write" (POST)
    ms: float
    status: int  # 0: no response
    error: str = ""  # empty: as expected
    at: float = 0.0  # seconds after the window opened
    rid: str = ""  # the response's X-Request-ID
    server_ms: float | None = None  # the app's own duration_ms for it (its request log)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Stat:
    name: str
    role: str
    kind: str
    count: int
    errors: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float
    server_p50: float  # the app's own time (request log): the rest is waiting and transfer
    server_p99: float

    @classmethod
    def of(cls, name: str, role: str, kind: str, samples: Sequence[Sample]) -> Stat:
        times = [s.ms for s in samples]
        server = [s.server_ms for s in samples if s.server_ms is not None]
        return cls(
            name=name,
            role=role,
            kind=kind,
            count=len(samples),
            errors=sum(1 for s in samples if s.error),
            p50=percentile(times, 50),
            p95=percentile(times, 95),
            p99=percentile(times, 99),
            max=max(times) if times else math.nan,
            mean=sum(times) / len(times) if times else math.nan,
            server_p50=percentile(server, 50),
            server_p99=percentile(server, 99),
        )


@dataclass
class Summary:
    seconds: float
    requests: int
    errors: int
    rps: float
    overall: dict[str, Stat]  # "page", "write", "all"
    endpoints: list[Stat]  # slowest p50 first
    error_kinds: list[tuple[str, int]]  # ("mark done: HTTP 500", 3), most frequent first


def summarise(samples: Sequence[Sample], seconds: float) -> Summary:
    groups: dict[tuple[str, str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        groups[(s.name, s.role, s.kind)].append(s)
    endpoints = sorted(
        (Stat.of(n, r, k, g) for (n, r, k), g in groups.items()),
        key=lambda st: (-st.p50, st.name),
    )
    overall = {
        kind: Stat.of(label, "", kind, [s for s in samples if kind in ("all", s.kind)])
        for kind, label in (("page", "all pages"), ("write", "all writes"), ("all", "everything"))
    }
    errors = Counter(f"{s.name}: {s.error}" for s in samples if s.error)
    return Summary(
        seconds=seconds,
        requests=len(samples),
        errors=sum(errors.values()),
        rps=len(samples) / seconds if seconds > 0 else math.nan,
        overall=overall,
        endpoints=endpoints,
        error_kinds=errors.most_common(),
    )


@dataclass
class Verdict:
    target: str
    met: bool | None  # None: does not apply at this number of users
    figure: str


def verdicts(summary: Summary, users: int) -> list[Verdict]:
    out = []
    latency_applies = users == LATENCY_TARGET_USERS
    for kind, label in (("page", "pages"), ("write", "writes")):
        st = summary.overall[kind]
        for q, limit in (("p50", TARGET_P50_MS), ("p99", TARGET_P99_MS)):
            value = getattr(st, q)
            met = None if not latency_applies or st.count == 0 else value <= limit
            out.append(Verdict(f"{label} {q} <= {limit:.0f} ms", met, f"{value:.0f} ms"))
    out.append(
        Verdict(
            "no errors",
            summary.errors == 0 if users == ERROR_TARGET_USERS else None,
            f"{summary.errors} of {summary.requests}",
        )
    )
    return out


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def format_table(stats: Sequence[Stat]) -> list[str]:
    width = max([len(f"{s.role} {s.name}".strip()) for s in stats] + [8])
    lines = [
        f"  {'endpoint':<{width}} {'kind':<5} {'n':>6} {'err':>4} "
        f"{'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} | {'app p50':>7} {'app p99':>7}  (ms)"
    ]
    for s in stats:
        label = f"{s.role} {s.name}".strip()
        lines.append(
            f"  {label:<{width}} {s.kind:<5} {s.count:>6} {s.errors:>4} "
            f"{_ms(s.p50):>7} {_ms(s.p95):>7} {_ms(s.p99):>7} {_ms(s.max):>7} | "
            f"{_ms(s.server_p50):>7} {_ms(s.server_p99):>7}"
        )
    return lines


def server_times(log_lines: Iterable[str]) -> dict[str, float]:
    """request id -> the app's duration_ms, from its JSON request log (other lines skipped)."""
    out = {}
    for line in log_lines:
        if '"duration_ms"' not in line:
            continue
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("request_id") and entry.get("duration_ms") is not None:
                out[entry["request_id"]] = float(entry["duration_ms"])
    return out


def with_server_times(samples: Iterable[Sample], times: dict[str, float]) -> list[Sample]:
    return [dataclasses.replace(s, server_ms=times.get(s.rid)) for s in samples]


def format_report(
    summary: Summary, *, users: int, title: str, facts: dict[str, Any] | None = None
) -> str:
    lines = [f"== {title}: {users} users, {summary.seconds:.0f} s measured =="]
    for key, value in (facts or {}).items():
        lines.append(f"  {key}: {value}")
    lines.append(f"  requests {summary.requests}, {summary.rps:.1f} req/s, errors {summary.errors}")
    lines.append("")
    lines += format_table([summary.overall[k] for k in ("page", "write", "all")])
    lines.append("")
    lines.append("  per endpoint, slowest p50 first:")
    lines += format_table(summary.endpoints)
    slow = sorted(summary.endpoints, key=lambda s: -s.p99)[:5]
    lines.append("")
    lines.append(
        "  slowest endpoints (p99): "
        + "; ".join(f"{s.role} {s.name} {_ms(s.p99)} ms" for s in slow)
    )
    if summary.error_kinds:
        lines.append("  errors: " + "; ".join(f"{k} x{n}" for k, n in summary.error_kinds[:8]))
    lines.append("")
    lines.append("  targets (issue 11, 2 cores):")
    for v in verdicts(summary, users):
        state = {True: "met", False: "MISSED", None: "n/a at this user count"}[v.met]
        lines.append(f"    {v.target:<24} {v.figure:>14}  {state}")
    return "\n".join(lines)


# --- the throw-away instance ----------------------------------------------------------------------


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu or 'unknown CPU'}, {cores} cores, load average {load}"


def say(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


def base_env(model_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "JOB"))}
    env.update(
        FLASK_APP="wsgi:app",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        SECRET_KEY=BENCH_SECRET_KEY,
        EMBEDDING_MODEL=str(model_dir),
        # Every virtual user signs in from 127.0.0.1: the per-address limit would refuse them.
        LOGIN_RATE_LIMIT="100000 per minute",
        PYTHONUNBUFFERED="1",
    )
    for key in ("DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI", "JOBS_BACKEND"):
        env.pop(key, None)
    return env


def folder_env(folder: Path) -> dict[str, str]:
    return {"UPLOAD_FOLDER": str(folder / "uploads"), "SEARCH_INDEX_DIR": str(folder / "search")}


def run_step(cmd: list[str], env: dict[str, str], what: str, log: Path) -> None:
    say(what)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        done = subprocess.run(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}); see {log}")


def find_model(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The converted model: --model-dir, instance/models, or converted into the cache."""
    for candidate in (args.model_dir, ROOT / "instance" / "models" / MODEL_NAME):
        if candidate and (Path(candidate) / "modules.json").is_file():
            return Path(candidate).resolve()
    dest = args.cache_dir / "models" / MODEL_NAME
    if not (dest / "modules.json").is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        run_step(
            [str(BIN / "flask"), "embeddings", "install-model", "--dest", str(dest)],
            {**env, "DATABASE_URL": f"sqlite:///{args.cache_dir / 'model.db'}"},
            f"converting the model into {dest}",
            args.cache_dir / "setup.log",
        )
    return dest


def base_stamp(backend: str) -> str:
    """Changes when what the base holds would change: schema, demo data, seed, backend."""
    digest = hashlib.sha256(f"{backend} {SEED_VERSION} {sorted(SEED.items())}".encode())
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode())
    for module in ("expertpool/demo/data.py", "expertpool/submissions/demo.py", "courses/demo.py"):
        with contextlib.suppress(OSError):
            digest.update((ROOT / module).read_bytes())
    return digest.hexdigest()[:16]


def build_base(db_env: dict[str, str], folder: Path, log: Path) -> None:
    """Migrate, load the demo, seed, embed and index: what `make setup` does, plus the seed."""
    flask = str(BIN / "flask")
    env = {**db_env, **folder_env(folder)}
    run_step([flask, "db", "upgrade"], env, "base: migrations", log)
    run_step([flask, "demo", "load"], env, "base: demo data", log)
    run_step(
        [sys.executable, str(Path(__file__).resolve()), "_seed", str(folder / "accounts.json")],
        env,
        "base: accounts, enrolments, submissions and invitations for the virtual users",
        log,
    )
    run_step(
        [flask, "embeddings", "rebuild"], env, "base: embeddings (the slow part, minutes)", log
    )
    run_step([flask, "search", "reindex"], env, "base: keyword indexes", log)


class SqliteBackend:
    name = "sqlite"

    def __init__(self, cache: Path, env: dict[str, str]) -> None:
        self.base = cache / "sqlite" / "base"
        self.env = env

    def __enter__(self) -> SqliteBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def _db_env(self, folder: Path) -> dict[str, str]:
        return {**self.env, "DATABASE_URL": f"sqlite:///{folder / 'expertpool.db'}"}

    def ensure_base(self, fresh: bool) -> None:
        stamp = base_stamp(self.name)
        stamp_file = self.base / "stamp"
        if not fresh and stamp_file.is_file() and stamp_file.read_text() == stamp:
            say(f"base instance {self.base} is current")
            return
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        build_base(self._db_env(self.base), self.base, self.base.parent / "setup.log")
        stamp_file.write_text(stamp)

    def run_instance(self, folder: Path) -> dict[str, str]:
        shutil.copytree(self.base, folder)
        return {**self._db_env(folder), **folder_env(folder)}

    def extra_services(self, folder: Path) -> contextlib.AbstractContextManager[dict[str, str]]:
        return contextlib.nullcontext({})


def _run_as_postgres() -> list[str]:
    """initdb and postgres refuse to run as root: drop to the `postgres` user when root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


class PostgresBackend:
    """A private cluster kept in the cache: unix socket only; the base database is a template."""

    name = "postgres"
    BASE_DB = "loadbench_base"
    RUN_DB = "loadbench_run"
    SETTINGS = {
        "listen_addresses": "''",  # no TCP at all
        "max_connections": "300",  # 5 workers x (pool 5 + overflow 10) + workers + psql
        "log_min_messages": "warning",
    }

    def __init__(self, cache: Path, env: dict[str, str]) -> None:
        self.root = cache / "postgres"
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.base = self.root / "base"  # the base's uploads, search indexes, accounts.json
        self.env = env
        self.prefix = _run_as_postgres()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.sock}"

    def __enter__(self) -> PostgresBackend:
        if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
            raise SystemExit("--backend postgres needs PostgreSQL's initdb and pg_ctl on PATH")
        if not (self.data / "PG_VERSION").is_file():
            shutil.rmtree(self.root, ignore_errors=True)
            self.sock.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
                shutil.chown(self.sock, "postgres", "postgres")
            cmd = [*self.prefix, "initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8"]
            cmd += ["--no-locale", "--auth-local=trust", "--auth-host=reject"]
            run_step(cmd, self.env, "postgres: initdb", self.root.parent / "setup.log")
            conf = self.data / "postgresql.conf"
            settings = dict(self.SETTINGS, unix_socket_directories=f"'{self.sock}'")
            conf.write_text(conf.read_text() + "".join(f"{k} = {v}\n" for k, v in settings.items()))
        cmd = [*self.prefix, "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log")]
        run_step([*cmd, "-w", "-t", "60", "start"], self.env, "postgres: start", self.log)
        return self

    @property
    def log(self) -> Path:
        return self.root.parent / "setup.log"

    def __exit__(self, *exc: object) -> None:
        cmd = [*self.prefix, "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"]
        subprocess.run(cmd, capture_output=True)

    def _sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.sock), user="postgres", dbname=database, autocommit=True
        ) as conn:
            conn.execute(statement)

    def _db_env(self, database: str) -> dict[str, str]:
        return {**self.env, "DATABASE_URL": self.url(database)}

    def ensure_base(self, fresh: bool) -> None:
        stamp = base_stamp(self.name)
        stamp_file = self.base / "stamp"
        if not fresh and stamp_file.is_file() and stamp_file.read_text() == stamp:
            say(f"base database {self.BASE_DB} and {self.base} are current")
            return
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        self._sql(f'DROP DATABASE IF EXISTS "{self.BASE_DB}" WITH (FORCE)')
        self._sql(f"CREATE DATABASE \"{self.BASE_DB}\" ENCODING 'UTF8' TEMPLATE template0")
        build_base(self._db_env(self.BASE_DB), self.base, self.log)
        stamp_file.write_text(stamp)

    def run_instance(self, folder: Path) -> dict[str, str]:
        shutil.copytree(self.base, folder)
        self._sql(f'DROP DATABASE IF EXISTS "{self.RUN_DB}" WITH (FORCE)')
        self._sql(f'CREATE DATABASE "{self.RUN_DB}" TEMPLATE "{self.BASE_DB}"')
        self._sql("ANALYZE", self.RUN_DB)  # statistics for the planner, as a live database has
        return {**self._db_env(self.RUN_DB), **folder_env(folder)}

    @contextlib.contextmanager
    def extra_services(self, folder: Path) -> Iterator[dict[str, str]]:
        """redis-server on a unix socket: rate-limit counters and the RQ job queue."""
        redis = shutil.which("redis-server")
        if redis is None:
            raise SystemExit("--backend postgres needs redis-server (Debian package redis-server)")
        sock = folder / "redis.sock"
        cmd = [redis, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
        cmd += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
        with (folder / "redis.log").open("w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: _redis_ping(sock), "redis-server", 30)
            yield {
                "REDIS_URL": f"unix://{sock}",
                "RATELIMIT_STORAGE_URI": f"redis+unix://{sock}",
                "JOBS_BACKEND": "rq",
            }
        finally:
            _stop(proc)


def _redis_ping(sock: Path) -> bool:
    from redis import Redis

    try:
        return bool(Redis(unix_socket_path=str(sock)).ping())
    except Exception:
        return False


def _wait(predicate: Any, what: str, timeout: float, every: float = 0.5) -> None:
    """Poll until `predicate()` holds, to a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(every)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process (its group when it leads one), SIGKILL after the timeout."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(ValueError):
            return exc.code, json.loads(exc.read() or b"null")
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


@contextlib.contextmanager
def app_server(kind: str, env: dict[str, str], port: int, folder: Path) -> Iterator[str]:
    """The web server and one job worker, each in its own process group; yields the base URL."""
    env = {**env, "WARM_UP": "1", "JOB_WORKERS": "1", "WEB_BIND": f"127.0.0.1:{port}"}
    if kind == "gunicorn":
        web = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    else:  # as `make run` served before issue 11, without the debugger
        web = [str(BIN / "flask"), "run", "--host", "127.0.0.1", "--port", str(port)]
        web += ["--no-reload", "--with-threads"]
    commands = {"web": web, "jobs": [str(BIN / "flask"), "jobs", "worker"]}
    procs = []
    try:
        for name, cmd in commands.items():
            with (folder / f"{name}.log").open("w") as log:
                procs.append(
                    subprocess.Popen(
                        cmd,
                        env=env,
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"the server stopped while starting; see {folder}/*.log")
            status, body = _get_json(base + "/readyz")
            model = ((body or {}).get("checks") or {}).get("model") or {}
            return status == 200 and str(model.get("detail", "loaded")).startswith("loaded")

        say(f"starting {kind} on {base} (warm-up loads the model)")
        started = time.monotonic()
        _wait(ready, f"{kind} server", READY_TIMEOUT_S, every=1.0)
        say(f"ready after {time.monotonic() - started:.0f} s")
        yield base
    finally:
        for proc in procs:
            _stop(proc)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def jobs_detail(base: str) -> str:
    _status, body = _get_json(base + "/readyz")
    return str((((body or {}).get("checks") or {}).get("jobs") or {}).get("detail", "?"))


# --- one run ---------------------------------------------------------------------------------------


def run_once(
    args: argparse.Namespace, backend: Any, users: int, work: Path, index: int
) -> dict[str, Any]:
    folder = work / f"run-{index}-{users}"
    instance_env = backend.run_instance(folder)
    accounts = json.loads((folder / "accounts.json").read_text())
    with backend.extra_services(folder) as extra:
        env = {**instance_env, **extra}
        with app_server(args.server, env, args.port, folder) as base:
            driver_cfg = {
                "host": base,
                "users": users,
                "duration": args.duration,
                "think": list(args.think),
                "mix": args.mix,
                "spawn_rate": args.spawn_rate,
                "seed": args.seed + index,
                "accounts": accounts,
            }
            (folder / "driver.json").write_text(json.dumps(driver_cfg))
            out = folder / "samples.jsonl"
            load_before = os.getloadavg()[0]
            cpu_before = _children_cpu()
            clock = time.strftime("%Y-%m-%d %H:%M", time.localtime())
            say(f"{users} users: signing in, then {args.duration:.0f} s measured")
            # the users run in their own process: locust's gevent patches the one it runs in
            cmd = [sys.executable, str(Path(__file__).resolve().parent / "_load_users.py")]
            cmd += [str(folder / "driver.json"), str(out)]
            subprocess.run(cmd, check=True, cwd=ROOT)
            driver_cpu = _children_cpu() - cpu_before
            jobs_after = jobs_detail(base)
    lines = out.read_text().splitlines()
    meta = json.loads(lines[0])
    samples = [Sample(**json.loads(line)) for line in lines[1:]]
    with (folder / "web.log").open(errors="replace") as log:
        samples = with_server_times(samples, server_times(log))
    summary = summarise(samples, meta["seconds"])
    facts = {
        "backend": f"{args.backend} + {args.server}"
        + (" + redis (rate limits, RQ jobs)" if args.backend == "postgres" else ""),
        "users by role": meta["users_by_role"],
        "think time": f"{args.think[0]:g}-{args.think[1]:g} s",
        "sign-ins": f"{meta['logins']} in {meta['login_seconds']:.1f} s, "
        f"{meta['login_failures']} failed",
        "started": clock,
        "load average (1 min) before / after": f"{load_before:.2f} / {os.getloadavg()[0]:.2f}",
        "load generator CPU (sign-ins and window)": f"{driver_cpu:.1f} s",
        "journey exceptions (bugs of this script)": meta["journey_exceptions"],
        "jobs after the window": jobs_after,
    }
    title = f"{args.backend}-{args.server}"
    report = format_report(summary, users=users, title=title, facts=facts)
    print(report, flush=True)
    logs = args.cache_dir / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{title}-{users}"
    logs.mkdir(parents=True)
    for name in ("web.log", "jobs.log", "samples.jsonl", "redis.log"):
        if (folder / name).is_file():
            shutil.copy2(folder / name, logs / name)
    print(f"  logs: {logs}", flush=True)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "users": users,
        "facts": facts,
        "summary": {
            **{k: v for k, v in asdict(summary).items() if k not in ("overall", "endpoints")},
            "overall": {k: asdict(v) for k, v in summary.overall.items()},
            "endpoints": [asdict(s) for s in summary.endpoints],
        },
        "verdicts": [asdict(v) for v in verdicts(summary, users)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_seed"]:
        seed(Path(argv[1]))
        return 0
    args = parse_args(argv)
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    print(f"command: {' '.join([Path(sys.executable).name, 'bench/load.py', *argv])}", flush=True)
    env = base_env(Path("."))
    model = find_model(args, env)
    env = base_env(model)
    if args.web:
        workers, _x, threads = args.web.lower().partition("x")
        env.update(WEB_CONCURRENCY=workers.strip(), WEB_THREADS=threads.strip() or "1")
    kind = SqliteBackend if args.backend == "sqlite" else PostgresBackend
    results = []
    with kind(args.cache_dir, env) as backend:
        backend.ensure_base(args.fresh)
        work = Path(tempfile.mkdtemp(prefix="runs-", dir=args.cache_dir))
        try:
            for index, users in enumerate(args.users):
                results.append(run_once(args, backend, users, work, index))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "argv": argv, "runs": results}, indent=1)
        )
    return 0


# --- the seed (runs inside the app, in its own process) ---------------------------------------------


def seed(out: Path) -> None:
    """Accounts for every virtual user, review work for the experts, trainees at every stage.

    - SEED["admins"] administrators, SEED["trainees"] trainees, and a log-in for
      SEED["experts"] experts of the pool (the demo has three);
    - SEED["submissions"] more submissions (the demo's twelve, numbered), each with a panel of
      SEED["panel"] of those experts invited, so that experts have invitations to answer;
    - every trainee enrolled in the first course (the prerequisite of all others) with the
      first n % 10 of its lessons done: some start reading, some are ready for the quiz.
    """
    import datetime as dt

    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from courses import operations as course_ops
    from courses.models import Course
    from expertpool import create_app
    from expertpool.accounts import operations as accounts
    from expertpool.core import audit
    from expertpool.core.access import Role
    from expertpool.core.search.app import SKIP_SYNC
    from expertpool.db import db
    from expertpool.experts.models import Expert
    from expertpool.reviews.operations import assign_panel
    from expertpool.submissions.demo import SUBMISSIONS, TODAY
    from expertpool.submissions.operations import create_submission

    app = create_app()
    with app.app_context():
        session = db.session
        audit.set_actor(session, None, note="load bench seed")
        session.info[SKIP_SYNC] = True  # `flask embeddings rebuild` and `search reindex` follow

        def user(username: str, role: Role, name: str) -> Any:
            return accounts.create_user(
                session,
                username=username,
                name=name,
                email=f"{username.replace('_', '.')}@load.example.org",
                password=SEED_PASSWORD,
                roles=[role],
            )

        admins = [
            user(f"load_admin{n:03d}", Role.ADMIN, f"负载管理员{n}")
            for n in range(1, SEED["admins"] + 1)
        ]
        trainees = [
            user(f"load_trainee{n:03d}", Role.TRAINEE, f"负载学员{n}")
            for n in range(1, SEED["trainees"] + 1)
        ]
        free = session.scalars(
            select(Expert).where(Expert.user_id.is_(None)).order_by(Expert.id)
        ).all()[: SEED["experts"]]
        experts = []
        for n, expert in enumerate(free, start=1):
            expert.user_id = user(f"load_expert{n:03d}", Role.EXPERT, expert.name).id
            experts.append(expert)
        session.flush()

        first = session.scalars(select(Course).order_by(Course.id)).all()
        first = next(c for c in first if not c.prerequisites) if first else None
        for n, trainee in enumerate(trainees):
            if first is None:
                break
            enrollment = course_ops.enrol(session, trainee, first)
            for lesson in first.lessons[: n % 10]:
                course_ops.mark_done(session, enrollment, lesson)

        submission_ids = []
        size = SEED["panel"]
        for n in range(SEED["submissions"]):
            data = SUBMISSIONS[n % len(SUBMISSIONS)]
            values = {"kind": "rm_certification", "review_type": "new", "grade": "first", **data}
            values["title"] = f"{data['title']}（负载测试 {n + 1}）"
            values["window_start"] = TODAY + dt.timedelta(days=20 + n % 30)
            values["window_end"] = TODAY + dt.timedelta(days=80 + n % 30)
            submission = create_submission(session, admins[0], values)
            panel = [experts[(n * size + k) % len(experts)] for k in range(size)]
            assign_panel(
                session,
                admins[0],
                submission,
                [(e.id, 0.5, {}) for e in panel],
                [],
                None,
                check_eligibility=False,
            )
            submission_ids.append(submission.id)
        session.commit()
        open_ids = submission_ids + list(range(1, len(SUBMISSIONS) + 1))
        out.write_text(
            json.dumps(
                {
                    "password": SEED_PASSWORD,
                    "trainee": [u.username for u in trainees],
                    "expert": [f"load_expert{n:03d}" for n in range(1, len(experts) + 1)],
                    "admin": [u.username for u in admins],
                    "submissions": open_ids,
                    "first_course": first.slug if first is not None else None,
                }
            )
        )
        print(
            f"seeded {len(admins)} admins, {len(trainees)} trainees, {len(experts)} expert "
            f"log-ins, {len(submission_ids)} submissions with panels of {size}"
        )


if __name__ == "__main__":
    sys.exit(main())
