"""How long a web import of 300 experts blocks other people's writes (issues 11 and 12, item 1).

    .venv/bin/python bench/import_lock.py [--experts 300] [--threshold 200]
                                          [--model-dir DIR | --hashing]

Before the background jobs, the confirmation of an import embedded every expert inside its
write transaction: 300 experts held SQLite's write lock for 23.7 s and logins failed meanwhile.
Three processes share one SQLite file (WAL, the app's pragmas), as gunicorn workers and a job
worker do:

- a job worker (`Worker.run`) with the real embedding model, loaded before the measurement;
- a prober that signs in every 0.1 s with a fresh session (a login writes `last_login_at`) and
  records how long each login took and whether it succeeded;
- the importer (this process): an administrator uploads the XLSX file (the dry-run preview),
  then confirms it. With more than `--threshold` rows (IMPORT_JOB_THRESHOLD) the confirmation
  only adds a job; `--threshold 1000` makes the request write the rows itself, as small files do.

It waits until the import and the index job it causes are done (the experts are searchable),
then prints the logins' times before and during the import, the failures (a login that waits
more than SQLite's 10 s busy timeout fails with "database is locked"), how long the request
and each job took, and the longest stretch in which no login succeeded.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _model import MODEL_DIR, machine

ROOT = Path(__file__).resolve().parent.parent
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
    Worker(app, name="bench").run(stop=stop)


# -- the prober ------------------------------------------------------------------------------------


def prober_main(folder: Path, model: str, threshold: int, ready: Any, stop: Any, out: Any) -> None:
    app = make_app(folder, model, threshold)
    app.test_client().post("/login", data={"username": "probe", "password": PASSWORD})
    ready.set()
    samples = []
    while not stop.is_set():
        client = app.test_client()  # a fresh visitor: the login writes last_login_at
        start = time.time()
        try:
            status = client.post(
                "/login", data={"username": "probe", "password": PASSWORD}
            ).status_code
        except Exception:  # a failure that escaped the error pages counts as one too
            status = 599
        samples.append((start, time.time() - start, status))
        time.sleep(PROBE_EVERY)
    out.put(samples)


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
        first17 = f"110105{1950 + i % 40}0612{i % 1000:03d}"
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

    with app.app_context():
        db.create_all()
        for name, role in (("admin", Role.ADMIN), ("probe", Role.TRAINEE)):
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


def wait_until_searchable(app: Any, n: int, timeout: float = 1800) -> list[Any]:
    """The finished jobs once the experts are imported and every index job is done."""
    from sqlalchemy import func, select

    from expertpool.core.jobs.models import OPEN, Job
    from expertpool.db import db
    from expertpool.experts.models import Expert

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            db.session.expire_all()
            experts = db.session.scalar(select(func.count()).select_from(Expert))
            open_jobs = db.session.scalar(
                select(func.count()).select_from(Job).where(Job.status.in_(OPEN))
            )
            if experts == n and not open_jobs:
                return list(db.session.scalars(select(Job).order_by(Job.id)))
            time.sleep(0.2)
    sys.exit("the import did not finish in time")


def summary(samples: list[tuple[float, float, int]]) -> str:
    if not samples:
        return "no logins"
    times = sorted(d for _t, d, _s in samples)
    failed = sum(1 for _t, _d, s in samples if s != 302)
    return (
        f"{len(samples)} logins, p50 {statistics.median(times) * 1000:.0f} ms, "
        f"max {times[-1] * 1000:.0f} ms, failed {failed}"
    )


def longest_without_login(
    samples: list[tuple[float, float, int]], start: float, end: float
) -> float:
    """The longest stretch of [start, end] in which no login finished successfully."""
    ends = sorted(t + d for t, d, s in samples if s == 302 and start <= t + d <= end)
    edges = [start, *ends, end]
    return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=300)
    parser.add_argument("--threshold", type=int, default=200, help="IMPORT_JOB_THRESHOLD")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--hashing", action="store_true", help="the test stand-in, no model")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds probed before")
    args = parser.parse_args()
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
    requests = run_import(app, data)
    jobs = wait_until_searchable(app, args.experts)
    finished = time.time()
    time.sleep(1.0)
    stop_prober.set()
    samples = out.get(timeout=60)
    prober.join(30)
    stop_worker.set()
    worker.join(60)

    started = requests["confirm_started"]
    before = [s for s in samples if s[0] + s[1] < started - requests["preview"]]
    during = [s for s in samples if started <= s[0] <= finished]
    blocked = longest_without_login(samples, started, finished)
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{args.experts} experts, IMPORT_JOB_THRESHOLD {args.threshold}, model {model}, "
        f"SQLite {folder / 'bench.db'}"
    )
    print(f"preview request {requests['preview']:.2f} s, confirmation {requests['confirm']:.2f} s")
    for job in jobs:
        if job.started_at and job.finished_at:
            took = (job.finished_at - job.started_at).total_seconds()
            print(f"job {job.id} {job.task}: {job.status}, {took:.2f} s ({job.title})")
    print(f"until searchable: {finished - started:.1f} s after the confirmation")
    print(f"logins before: {summary(before)}")
    print(f"logins during: {summary(during)}")
    print(
        f"longest time without a successful login: {blocked:.2f} s "
        f"(probes every {PROBE_EVERY} s; issue 11 measured 23.7 s before the jobs)"
    )


if __name__ == "__main__":
    main()
