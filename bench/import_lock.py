"""How long an import of experts blocks other people's writes (issues 11 and 12, item 1).

    .venv/bin/python bench/import_lock.py [--experts 300] [--threshold 200] [--mode web|cli]
                                          [--model-dir DIR | --hashing] [--before REF]
    .venv/bin/python bench/import_lock.py --phases [--experts 3000] [--before REF]

Before the background jobs, the confirmation of an import embedded every expert inside its
write transaction: 300 experts held SQLite's write lock for 23.7 s and logins failed meanwhile.
Three processes share one SQLite file (WAL, the app's pragmas), as gunicorn workers and a job
worker do:

- a job worker (`Worker.run`) with the real embedding model (or `--hashing`, the tests'
  stand-in), loaded before the measurement;
- a prober that, every 0.1 s, signs in with a fresh session (a login writes `last_login_at`)
  and saves an expert's own profile (`/experts/<id>/profile`), and records how long each web
  write took and whether it succeeded;
- the importer (this process). `--mode web`: an administrator uploads the XLSX file (the
  dry-run preview), then confirms it; with more than `--threshold` rows (IMPORT_JOB_THRESHOLD)
  the confirmation only adds a job; `--threshold 100000` makes the request write the rows
  itself. `--mode cli`: `flask experts import FILE --as-user admin`, in this process.

It waits until the import and the index job it causes are done (the experts are searchable),
then prints the web writes' p50/p99/max before and during the import, the failures (a write
that waits more than SQLite's 10 s busy timeout fails with "database is locked"), how long the
request and each job took, and the longest stretch in which no web write succeeded.

`--phases` measures the import alone, in this process on a fresh SQLite file (hashing encoder,
no other process): parse, validate, then `commit` + the commit, and how long the transaction
held the write lock (from its first INSERT/UPDATE to the end of the commit).

`--before REF` runs the same measurement first on `git archive REF` (the code before a change;
this script, its file and its prober are the same for both).
"""

from __future__ import annotations

import argparse
import importlib
import io
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The code measured: this tree, or the `git archive` of `--before REF` (the spawned processes
# inherit the variable, so all three run the same code). Imported before `_model` puts ROOT
# first on the path.
CODE = Path(os.environ.get("IMPORT_LOCK_CODE") or ROOT)
sys.path.insert(0, str(CODE))
importlib.import_module("expertpool")

from _before import run_before  # noqa: E402
from _model import MODEL_DIR, machine  # noqa: E402

PASSWORD = "Bench-2026!lockwatch"
PROBE_EVERY = 0.1


def make_app(folder: Path, model: str, threshold: int) -> Any:
    from expertpool import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench-" + "0" * 32,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "EMBEDDING_MODEL": model,
            "JOBS_EAGER": False,
            "JOBS_POLL_SECONDS": 0.2,
            "IMPORT_JOB_THRESHOLD": threshold,
            "SEARCH_INDEX_DIR": str(folder / "search"),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "LOG_LEVEL": "WARNING",
            "SERVER_NAME": "localhost",
        },
        instance_path=str(folder / "instance"),
    )


# -- the job worker --------------------------------------------------------------------------------


def worker_main(folder: Path, model: str, threshold: int, ready: Any, stop: Any) -> None:
    from expertpool.core.embeddings.store import get_store
    from expertpool.core.jobs.queue import Worker

    app = make_app(folder, model, threshold)
    with app.app_context():
        get_store().encoder.encode_document(["预热 warm-up"])  # the model, loaded once
    ready.set()
    while not stop.is_set():  # a worker that fails on "database is locked" is started again
        try:
            Worker(app, name="bench").run(stop=stop)
        except Exception as exc:  # printed and counted, as a supervisor restarts it
            print(f"worker crashed: {type(exc).__name__}: {str(exc)[:120]}", flush=True)


# -- the prober ------------------------------------------------------------------------------------


def prober_main(folder: Path, model: str, threshold: int, ready: Any, stop: Any, out: Any) -> None:
    """Every PROBE_EVERY s: a login with a fresh session, then a save of the probe's profile."""
    app = make_app(folder, model, threshold)
    expert_id = probe_expert_id(app)
    saver = app.test_client()
    saver.post("/login", data={"username": "probe", "password": PASSWORD})
    ready.set()
    samples: list[tuple[str, float, float, int]] = []
    n = 0
    while not stop.is_set():
        n += 1
        login = app.test_client()  # a fresh visitor: the login writes last_login_at
        samples.append(
            timed(
                "login",
                lambda c=login: c.post("/login", data={"username": "probe", "password": PASSWORD}),
            )
        )
        profile = {"name": "探针专家", "summary": f"第 {n} 次保存。", "city": "北京"}
        samples.append(
            timed(
                "profile",
                lambda p=profile: saver.post(f"/experts/{expert_id}/profile", data=p),
            )
        )
        time.sleep(PROBE_EVERY)
    out.put(samples)


def timed(kind: str, request: Any) -> tuple[str, float, float, int]:
    """(kind, start, seconds, status) of one web write; a redirect (302) is a success."""
    start = time.time()
    try:
        status = request().status_code
    except Exception:  # a failure that escaped the error pages counts as one too
        status = 599
    return (kind, start, time.time() - start, status)


def probe_expert_id(app: Any) -> int:
    from sqlalchemy import select

    from expertpool.db import db
    from expertpool.experts.models import Expert

    with app.app_context():
        return db.session.scalar(select(Expert.id).where(Expert.email == "probe@example.cn"))


# -- the import --------------------------------------------------------------------------------


def expert_file(n: int) -> bytes:
    """An XLSX file of `n` valid experts with texts to embed (summary, specialties)."""
    import openpyxl

    from expertpool.core.idnumbers import check_digit
    from expertpool.experts.importer import COLUMNS

    topics = [
        ("铅;镉;汞", "土壤;大米", "ICP-MS;原子吸收光谱", "重金属成分分析标准物质的研制与定值"),
        ("葡萄糖;胆固醇", "血清", "同位素稀释质谱", "临床检验用标准物质的定值与不确定度评定"),
        ("三聚氰胺", "奶粉", "液相色谱-串联质谱", "食品中有害物质检测用基体标准物质的均匀性研究"),
        ("苯;甲苯", "空气", "气相色谱", "环境气体标准物质的稳定性研究与量值溯源"),
    ]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([c.zh for c in COLUMNS])
    for i in range(1, n + 1):
        first17 = f"110105{1950 + i % 40}0612{(i // 40) % 1000:03d}"  # unique below 40,000
        analytes, matrices, techniques, summary = topics[i % len(topics)]
        row = {
            "name": f"导入专家{i}",
            "id_number": first17 + check_digit(first17),
            "email": f"bench{i}@example.cn",
            "institution": [
                "中国计量科学研究院",
                "广东省计量科学研究院",
                "上海市计量测试技术研究院",
            ][i % 3],
            "province": ["北京", "广东", "上海"][i % 3],
            "title": "研究员",
            "title_grade": "正高级",
            "years_experience": str(10 + i % 20),
            "categories": ["08", "09", "10", "08;10"][i % 4],
            "analytes": analytes,
            "matrices": matrices,
            "techniques": techniques,
            "metrology_competent": "是" if i % 2 else "否",
            "status": "在库",
            "summary": f"{summary}（第 {i} 位）。长期从事标准物质研制、测量与检测工作。",
        }
        ws.append([row.get(c.key) for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def setup(app: Any) -> None:
    from werkzeug.security import generate_password_hash

    from expertpool.accounts import operations as accounts
    from expertpool.core.access import Role
    from expertpool.db import db
    from expertpool.experts import operations as experts

    with app.app_context():
        db.create_all()
        users = {}
        for name, role in (("admin", Role.ADMIN), ("probe", Role.EXPERT)):
            user = accounts.create_user(
                db.session,
                username=name,
                name=name,
                email=f"{name}@example.cn",
                password=PASSWORD,
                roles=[role],
            )
            # a cheap hash, so a login's time is its write, not the password check (~0.2 s)
            user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            users[name] = user
        db.session.flush()
        experts.create_expert(
            db.session,
            users["admin"],
            {
                "name": "探针专家",
                "email": "probe@example.cn",
                "institution": "中国计量科学研究院",
                "categories": [8],
                "user_id": users["probe"].id,
            },
            status="active",
        )
        db.session.commit()


def run_import(app: Any, data: bytes) -> dict[str, float]:
    """Preview and confirm as the administrator; returns the two requests' times."""
    import re

    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    start = time.time()
    page = client.post(
        "/experts/import",
        data={"file": (io.BytesIO(data), "experts.xlsx"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    preview = time.time() - start
    token = re.search(r'name="token" type="hidden" value="(\w+)"', page)
    if not token:
        sys.exit("the preview refused the file")
    start = time.time()
    response = client.post("/experts/import/commit", data={"token": token.group(1)})
    confirm = time.time() - start
    if response.status_code != 302:
        sys.exit(f"the confirmation answered {response.status_code}")
    return {"preview": preview, "confirm": confirm, "confirm_started": start}


def run_cli_import(app: Any, folder: Path, data: bytes) -> dict[str, float]:
    """`flask experts import FILE --as-user admin` in this process; returns its time."""
    path = folder / "experts.xlsx"
    path.write_bytes(data)
    start = time.time()
    result = app.test_cli_runner().invoke(
        args=["experts", "import", str(path), "--as-user", "admin"]
    )
    if result.exit_code != 0:
        sys.exit(f"the import command failed: {result.output[-2000:]}")
    return {"preview": 0.0, "confirm": time.time() - start, "confirm_started": start}


def wait_until_searchable(app: Any, n: int, timeout: float = 3600) -> list[Any]:
    """The finished jobs once the experts are imported and every index job is done."""
    from sqlalchemy import func, select

    from expertpool.core.jobs.models import OPEN, Job
    from expertpool.db import db
    from expertpool.experts.models import Expert

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.expire_all()
            experts = db.session.scalar(
                select(func.count()).select_from(Expert).where(Expert.email.like("bench%"))
            )
            open_jobs = db.session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(OPEN))
            )
            db.session.rollback()
            if experts == n and not open_jobs:
                return list(db.session.scalars(select(Job).order_by(Job.id)))
            time.sleep(0.2)
    sys.exit("the import did not finish in time")


Sample = tuple[str, float, float, int]  # kind, start, seconds, status


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(samples: list[Sample]) -> str:
    if not samples:
        return "none"
    times = [d for _k, _t, d, _s in samples]
    failed = sum(1 for _k, _t, _d, s in samples if s != 302)
    return (
        f"{len(samples)}, p50 {percentile(times, 50) * 1000:.0f} ms, "
        f"p99 {percentile(times, 99) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms, "
        f"failed {failed}"
    )


def longest_without_write(samples: list[Sample], start: float, end: float) -> float:
    """The longest stretch of [start, end] in which no web write finished successfully."""
    ends = sorted(t + d for _k, t, d, s in samples if s == 302 and start <= t + d <= end)
    edges = [start, *ends, end]
    return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def measure(args: argparse.Namespace) -> None:
    model = "hashing" if args.hashing else str(args.model_dir)
    if not args.hashing and not (args.model_dir / "config.json").is_file():
        sys.exit(f"no model at {args.model_dir}: run `flask embeddings install-model` first")
    folder = Path(tempfile.mkdtemp(prefix="import-lock-"))
    app = make_app(folder, model, args.threshold)
    setup(app)
    data = expert_file(args.experts)

    spawn = mp.get_context("spawn")
    stop_worker, stop_prober, ready = spawn.Event(), spawn.Event(), spawn.Event()
    out = spawn.Queue()
    worker = spawn.Process(
        target=worker_main, args=(folder, model, args.threshold, ready, stop_worker)
    )
    worker.start()
    if not ready.wait(600):
        sys.exit("the job worker did not start")
    probing = spawn.Event()
    prober = spawn.Process(
        target=prober_main, args=(folder, model, args.threshold, probing, stop_prober, out)
    )
    prober.start()
    if not probing.wait(300):
        sys.exit("the prober did not start")
    time.sleep(args.baseline)
    cli = args.mode == "cli"
    requests = run_cli_import(app, folder, data) if cli else run_import(app, data)
    imported = time.time()
    jobs = wait_until_searchable(app, args.experts)
    finished = time.time()
    time.sleep(1.0)
    stop_prober.set()
    samples = out.get(timeout=60)
    prober.join(30)
    stop_worker.set()
    worker.join(60)

    started = requests["confirm_started"]
    before = [s for s in samples if s[1] + s[2] < started - requests["preview"]]
    during = [s for s in samples if started <= s[1] <= finished]
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"code {CODE}: {args.experts} experts, --mode {args.mode}, IMPORT_JOB_THRESHOLD "
        f"{args.threshold}, model {model}, SQLite {folder / 'bench.db'}"
    )
    if args.mode == "cli":
        print(f"import command {requests['confirm']:.2f} s")
    else:
        print(
            f"preview request {requests['preview']:.2f} s, confirmation {requests['confirm']:.2f} s"
        )
    probe_jobs = [j for j in jobs if j.args == {"expert_ids": [probe_expert_id(app)]}]
    for job in jobs:
        if job.started_at and job.finished_at and job not in probe_jobs:
            took = (job.finished_at - job.started_at).total_seconds()
            print(f"job {job.id} {job.task}: {job.status}, {took:.2f} s ({job.title})")
    print(f"(and {len(probe_jobs)} index jobs of the profile saves)")
    print(f"until searchable: {finished - started:.1f} s after the confirmation")
    for kind in ("login", "profile"):
        print(f"{kind} before: {summary([s for s in before if s[0] == kind])}")
        print(f"{kind} during: {summary([s for s in during if s[0] == kind])}")
    print(f"all web writes during: {summary(during)}")
    importing = [s for s in samples if started <= s[1] <= imported]
    print(f"web writes during the import itself ({imported - started:.1f} s): {summary(importing)}")
    print(
        f"longest time without a successful web write: "
        f"{longest_without_write(samples, started, finished):.2f} s "
        f"(probes every {PROBE_EVERY} s; issue 11 measured 23.7 s before the jobs)"
    )


def phases(args: argparse.Namespace) -> None:
    """Parse, validate, commit and the write lock of one import, alone in this process."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from expertpool.db import db
    from expertpool.experts import importer

    folder = Path(tempfile.mkdtemp(prefix="import-phases-"))
    app = make_app(folder, "hashing", args.threshold)
    setup(app)
    data = expert_file(args.experts)
    first_write: list[float] = []
    committed: list[float] = []
    writes = ("INSERT", "UPDATE", "BEGIN IMMEDIATE")  # what takes SQLite's write lock

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not first_write and statement.lstrip().upper().startswith(writes):
            first_write.append(time.perf_counter())

    def note_commit(session: Any) -> None:
        if not session.in_nested_transaction():
            committed.append(time.perf_counter())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", note)
        # first of the session's after_commit listeners: the lock ends with the COMMIT itself
        event.listen(Session, "after_commit", note_commit, insert=True)
        t0 = time.perf_counter()
        parsed = importer.parse("experts.xlsx", data)
        t1 = time.perf_counter()
        report = importer.validate(db.session, parsed)
        t2 = time.perf_counter()
        assert report.ok, report.errors[:3]
        importer.commit(db.session, None, report)
        db.session.commit()
        t3 = time.perf_counter()
    lock = committed[0] - first_write[0]
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(f"code {CODE}: {args.experts} experts, SQLite {folder / 'bench.db'}")
    print(
        f"parse {t1 - t0:.2f} s, validate {t2 - t1:.2f} s, commit() + commit {t3 - t2:.2f} s, "
        f"of which the write lock {lock:.2f} s (BEGIN IMMEDIATE or first INSERT to the COMMIT)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=300)
    parser.add_argument("--threshold", type=int, default=200, help="IMPORT_JOB_THRESHOLD")
    parser.add_argument("--mode", choices=("web", "cli"), default="web")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--hashing", action="store_true", help="the test stand-in, no model")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds probed before")
    parser.add_argument("--phases", action="store_true", help="the import alone, by phase")
    parser.add_argument("--before", metavar="REF", help="measure `git archive REF` first")
    args = parser.parse_args()
    if args.before:
        run_before(args.before, __file__)
    if args.phases:
        phases(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
