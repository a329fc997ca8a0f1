"""Single-request times and profiles of bench/load.py's slowest steps (issue 11's tail).

    .venv/bin/python bench/admin_profile.py INSTANCE [--model-dir DIR] [--rounds 3]
                                            [--profile candidates] [--top 25]

INSTANCE is a copy of bench/load.py's base instance (``<cache-dir>/sqlite/base``: its
expertpool.db, uploads/, search/ and accounts.json); the script works on a copy of its
database, so the base stays as built. In one process with the real model (as a gunicorn
worker, but one request at a time, no other threads), through Flask's test client, signed in
as one of the seed's administrators, it times:

- the candidates page of `--submissions` of the seed's submissions, cold (the first view of
  each: the submission's query text not yet embedded in this process) and warm (again);
- the candidates page right after someone else added a publication to an expert's file (as
  the load bench's experts do all the time): the first ranking after such a commit; and again
  once a job worker (`flask jobs worker`, another process, started by the script) has embedded
  and indexed it: the first ranking that reads the new vectors;
- panel assignment (POST /submissions/<id>/assign) of the proposed panel, for other ones;
- the administrator's home, course search (the load bench's queries).

With `--profile STEP` it prints cProfile's top functions (cumulative) for that step's requests.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument(
        "--model-dir", type=Path, default=ROOT / "instance/models/multilingual-e5-small"
    )
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--profile", default="")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="count the SQL statements per step")
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="migrate the copy and run `flask embeddings rebuild` first (a base of older code)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="admin-profile-"))
    shutil.copy(args.instance / "expertpool.db", work / "expertpool.db")
    for folder in ("uploads", "search"):
        if (args.instance / folder).is_dir():
            shutil.copytree(args.instance / folder, work / folder)
    accounts = json.loads((args.instance / "accounts.json").read_text())
    os.environ.update(
        DATABASE_URL=f"sqlite:///{work / 'expertpool.db'}",
        UPLOAD_FOLDER=str(work / "uploads"),
        SEARCH_INDEX_DIR=str(work / "search"),
        EMBEDDING_MODEL=str(args.model_dir.resolve()),
        SECRET_KEY="admin-profile-" + "0" * 40,
        LOGIN_RATE_LIMIT="100000 per minute",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    if args.upgrade:
        import subprocess

        env = {**os.environ, "FLASK_APP": "wsgi:app"}
        for cmd in (["db", "upgrade"], ["embeddings", "rebuild"]):
            subprocess.run(
                [str(Path(sys.executable).parent / "flask"), *cmd],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    from _load_users import COURSE_QUERIES
    from werkzeug.datastructures import MultiDict

    from expertpool import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "JOBS_EAGER": False, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    admin = accounts["admins"][0] if "admins" in accounts else accounts["admin"][0]
    resp = client.post(
        "/login", data={"username": admin, "password": accounts["password"]}, follow_redirects=False
    )
    assert resp.status_code in (302, 303), resp.status_code
    subs = accounts["submissions"]
    n = min(args.submissions, len(subs) // 2)
    profiles: dict[str, cProfile.Profile] = {}
    statements: dict[str, list[int]] = {}
    seen: list[str] = []
    if args.sql:
        from sqlalchemy import event

        from expertpool.db import db

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", lambda *a, **k: seen.append(a[2]))

    def timed(step: str, method: str, url: str, **kw) -> float:
        prof = profiles.setdefault(step, cProfile.Profile()) if step == args.profile else None
        start = time.perf_counter()
        if prof:
            prof.enable()
        seen.clear()
        r = client.open(url, method=method, **kw)
        statements.setdefault(step, []).append(len(seen))
        if prof:
            prof.disable()
        ms = (time.perf_counter() - start) * 1000
        assert r.status_code in (200, 302, 303), (url, r.status_code)
        return ms

    # warm-up: the model, the matrices, the pool, the indexes
    timed("warm", "GET", f"/submissions/{subs[-1]}/candidates")
    timed("warm", "GET", "/courses/search?q=" + COURSE_QUERIES[0])
    results: dict[str, list[float]] = {}
    for sid in subs[:n]:
        results.setdefault("candidates (cold)", []).append(
            timed("candidates-cold", "GET", f"/submissions/{sid}/candidates")
        )
    for sid in subs[:n]:
        results.setdefault("candidates (warm)", []).append(
            timed("candidates", "GET", f"/submissions/{sid}/candidates")
        )
    add_publication = publication_adder(app, admin)
    for i, sid in enumerate(subs[:n]):
        add_publication(i)
        results.setdefault("candidates (after a publication)", []).append(
            timed("candidates-edited", "GET", f"/submissions/{sid}/candidates")
        )
    with job_worker(app) as drained:
        for i, sid in enumerate(subs[:n]):
            add_publication(n + i)
            drained()
            results.setdefault("candidates (after its job)", []).append(
                timed("candidates-embedded", "GET", f"/submissions/{sid}/candidates")
            )
    for sid in subs[n : 2 * n]:
        page = client.get(f"/submissions/{sid}/candidates").get_data(as_text=True)
        form = re.search(r'<form[^>]*action="([^"]*/assign)"(.*?)</form>', page, re.S)
        if form is None:
            continue
        data = [
            (m.group(1), m.group(2))
            for m in re.finditer(
                r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"[^>]*checked', form.group(2)
            )
        ]
        due = re.search(r'name="due_date"[^>]*value="([^"]*)"', form.group(2))
        if due:
            data.append(("due_date", due.group(1)))
        results.setdefault("panel assignment", []).append(
            timed("assign", "POST", form.group(1), data=MultiDict(data))
        )
    for _ in range(n):
        results.setdefault("home", []).append(timed("home", "GET", "/"))
    for q in COURSE_QUERIES:
        results.setdefault("course search", []).append(
            timed("search", "GET", "/courses/search?q=" + q)
        )
    for step, times in results.items():
        print(
            f"{step:20s} n={len(times):3d}  p50 {statistics.median(times):7.1f} ms"
            f"  max {max(times):7.1f} ms"
        )
    if args.sql:
        for step, counts in statements.items():
            print(f"{step:20s} SQL statements per request: median {statistics.median(counts)}")
    for step, prof in profiles.items():
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(f"\n--- profile: {step} ---\n{out.getvalue()}")
    shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def job_worker(app):
    """A `flask jobs worker` process on the same database; yields a function that returns
    once no job is queued or running (polled: this is a benchmark, not a test)."""
    import subprocess

    from sqlalchemy import func, select

    from expertpool.core.jobs.models import OPEN, Job
    from expertpool.db import db

    env = {**os.environ, "FLASK_APP": "wsgi:app"}
    flask = str(Path(sys.executable).parent / "flask")
    proc = subprocess.Popen(
        [flask, "jobs", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def drained() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with app.app_context():
                left = db.session.scalar(select(func.count()).where(Job.status.in_(OPEN)))
                db.session.remove()
            if not left:
                return
            time.sleep(0.05)
        raise TimeoutError("the job worker did not drain the queue in 120 s")

    try:
        yield drained
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def publication_adder(app, username: str):
    """A function that adds a publication to the i-th expert's file and commits, as another
    process's request would (the next ranking here sees the moved stamp)."""
    from sqlalchemy import select

    from expertpool.accounts.models import User
    from expertpool.db import db
    from expertpool.experts import operations as ops
    from expertpool.experts.models import Expert

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        expert_ids = db.session.scalars(select(Expert.id).order_by(Expert.id)).all()

    def add(i: int) -> None:
        with app.test_request_context("/"):
            expert = db.session.get(Expert, expert_ids[i % len(expert_ids)])
            values = {"title": f"均匀性评估 {i}", "language": "zh", "year": 2025, "authors": "李明"}
            ops.add_part(db.session, db.session.get(User, user_id), expert, "publication", values)
            db.session.commit()
            db.session.remove()

    return add


if __name__ == "__main__":
    main()
