"""Starting a review round (issue 11): the request's time against the proposal job's own time.

    .venv/bin/python bench/round_request.py [--requests 30] [--solves 3] [--experts 320]
                                            [--model real|hashing] [--workdir DIR]

Builds a demo database (`flask demo load --experts N`, embeddings, search indexes) in
`--workdir` (kept, and reused by later runs with the same `--workdir`), signs in as the demo
administrator with Flask's test client and posts the "new round" form for every submission
waiting for a panel, `--requests` times, with JOBS_EAGER off as in production: each request
keeps the round and queues its `matching.propose_round` job. Then it runs such jobs through a
worker (`Worker.run_job`, the code `flask jobs worker` runs, progress writes and cancellation
checks included) and, for comparison, the same round solved and committed inline
(`rounds.propose`, what the request itself did before rounds became jobs), alternately,
`--solves` times each after one untimed warm-up solve.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _model import MODEL_DIR, machine, real_encoder

ADMIN = ("admin", "Demo-2026!pool")  # the demo data set's administrator


def build_app(workdir: Path, model: str):
    from expertpool import create_app

    setting = "hashing"
    if model == "real":
        real_encoder()  # converts the model into instance/models once
        setting = str(MODEL_DIR)
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "SECRET_KEY": "bench-secret",
            "EMBEDDING_MODEL": setting,
            "JOBS_EAGER": False,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        },
        instance_path=str(workdir / "instance"),
    )


def load_demo(app, workdir: Path, experts: int) -> None:
    from flask_migrate import upgrade

    from expertpool.core.jobs import drain

    ready = workdir / "ready"  # written once the data set and its indexes are complete
    with app.app_context():
        upgrade()
    if ready.exists():
        return
    runner = app.test_cli_runner()
    for args in (
        ["demo", "load", "--if-empty", "--experts", str(experts)],
        ["embeddings", "rebuild"],
        ["search", "reindex"],
    ):
        result = runner.invoke(args=args)
        if result.exit_code:
            raise SystemExit(f"{args}: {result.output}{result.exception!r}")
    drain(app)  # index jobs the loading may have queued
    ready.write_text(f"{experts} experts\n")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--solves", type=int, default=3)
    parser.add_argument("--experts", type=int, default=320)
    parser.add_argument("--model", choices=["real", "hashing"], default="real")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-round-request"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    from sqlalchemy import select

    from expertpool.accounts.models import User
    from expertpool.core.jobs.models import Job, JobStatus
    from expertpool.core.jobs.queue import Worker
    from expertpool.db import db
    from expertpool.matching import rounds
    from expertpool.matching.models import ReviewRound
    from expertpool.reviews.eligibility import rules_from_config

    app = build_app(args.workdir, args.model)
    started = time.perf_counter()
    load_demo(app, args.workdir, args.experts)
    print(f"machine: {machine()}")
    print(f"database ready in {time.perf_counter() - started:.0f} s ({args.workdir})")

    client = app.test_client()
    client.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    with app.app_context():
        open_ids = [s.id for s in rounds.open_submissions(db.session)]
        from expertpool.experts.models import Expert

        pool = db.session.query(Expert).count()
    form = {
        "name": "bench",
        "submissions": open_ids,
        "panel_size": 3,
        "load_cap_per_round": 2,
    }
    print(f"round: {len(open_ids)} submissions waiting for a panel, {pool} experts")
    client.get("/rounds/new")  # warm the templates
    client.post("/rounds/new", data=form)

    times = []
    for _ in range(args.requests):
        start = time.perf_counter()
        response = client.post("/rounds/new", data=form)
        times.append(1000 * (time.perf_counter() - start))
        assert response.status_code == 302, response.status_code
    print(
        f"request POST /rounds/new ({args.requests}x): p50 {statistics.median(times):.1f} ms, "
        f"p95 {pct(times, 0.95):.1f} ms, max {max(times):.1f} ms"
    )

    worker = Worker(app, name="bench")
    with app.app_context():
        queued = db.session.scalars(
            select(Job.id)
            .join(ReviewRound, ReviewRound.job_id == Job.id)
            .where(Job.status == JobStatus.QUEUED)
            .order_by(Job.id)
        ).all()
        admin_id = db.session.scalar(select(User.id).where(User.username == ADMIN[0]))
        rules = rules_from_config(app.config)
    job_s, inline_s = [], []

    def inline() -> float:
        """The old request's work: solve, write and commit the proposal."""
        with app.app_context():
            actor = db.session.get(User, admin_id)
            subs = [s for s in rounds.open_submissions(db.session) if s.id in set(open_ids)]
            start = time.perf_counter()
            rounds.propose(db.session, actor, "inline", subs, rules, fairness=False)
            db.session.commit()
            return time.perf_counter() - start

    inline()  # warm-up: the experts' vectors and keyword index loaded
    for i in range(args.solves):
        start = time.perf_counter()
        assert worker.run_job(queued[i])
        job_s.append(time.perf_counter() - start)
        inline_s.append(inline())
    with app.app_context():
        done = db.session.scalars(select(Job).where(Job.id.in_(queued[: args.solves]))).all()
        assert all(j.status == JobStatus.DONE for j in done), [j.error for j in done]
        proposal = db.session.scalar(
            select(ReviewRound.proposal).where(ReviewRound.job_id == queued[0])
        )
        for job_id in queued[args.solves :]:  # the rest are not needed
            db.session.get(Job, job_id).status = JobStatus.CANCELLED
        db.session.commit()
    print(
        f"job matching.propose_round ({args.solves}x): p50 {statistics.median(job_s):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in job_s)}); status {proposal['status']}, "
        f"{len(proposal['panels'])} panels, solver stages: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in proposal["timings"].items())
    )
    print(
        f"inline rounds.propose, as the request did before ({args.solves}x): "
        f"p50 {statistics.median(inline_s):.2f} s ({', '.join(f'{t:.2f}' for t in inline_s)})"
    )


if __name__ == "__main__":
    main()
