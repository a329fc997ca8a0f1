"""A round proposal runs as a background job: the request only queues it; the round page shows
the job's stages and a cancel button; cancelled, crashed or refused, nothing is half-written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from flask import Flask
from sqlalchemy import func, select

from expertpool.core.jobs import drain
from expertpool.core.jobs import queue as jobqueue
from expertpool.core.jobs.models import Job, JobStatus
from expertpool.db import db
from expertpool.matching import rounds
from expertpool.matching.models import ReviewRound
from expertpool.reviews.models import Assignment

# The proposal main's synchronous path (before rounds became jobs) gave for `two_submissions`
# with panels of 3 and at most 2 reviews per expert: members and alternates by pool name.
BEFORE = {
    "members": [
        [("soil1", 0.9537), ("soil2", 0.7894), ("soil3", 0.7021)],
        [("food", 0.7275), ("soil1", 0.6535), ("stats", 0.1544)],
    ],
    "alternates": [
        [("stats", 0.2058), ("food", 0.0216)],
        [("same_inst", 0.5198), ("soil2", 0.4664), ("soil3", 0.0578)],
    ],
    "affinity": [2.4453, 1.5353],
    "total_affinity": 3.9806,
    "status": "optimal",
    "method": "lp",
}
STAGES_DENSE = [
    "Loading the pool of experts",
    "Scoring candidates",
    "Solving: flow and linear programme",
    "Writing the proposal",
]


@pytest.fixture
def two_submissions(pool: dict[str, Any], make_submission: Callable[..., Any]) -> list[Any]:
    """The fixed data set (the experts' index jobs have run: the suite runs jobs eagerly)."""
    return [
        make_submission(),
        make_submission(
            title="奶粉中三聚氰胺成分分析标准物质",
            category=10,
            matrix="奶粉",
            analytes=["三聚氰胺"],
            methods=["LC-MS/MS"],
            applicant_institution="某乳业公司",
        ),
    ]


@pytest.fixture
def stages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every progress write of every job: (done, stage)."""
    seen: list[tuple[int, str]] = []
    original = jobqueue.JobContext.progress

    def record(self: Any, done: int, total: int | None = None, stage: str | None = None) -> None:
        seen.append((done, stage or ""))
        original(self, done, total, stage)

    monkeypatch.setattr(jobqueue.JobContext, "progress", record)
    return seen


@pytest.fixture
def deferred(app: Flask, two_submissions: list[Any]) -> Flask:
    """From here on jobs wait for a worker, as in production."""
    return _deferred(app)


def _deferred(app: Flask) -> Flask:
    # BEFORE was recorded with the fields-only keyword query and no centroid part (before
    # issue 13's MATCH_KEYWORD_DESCRIPTION and MATCH_CENTROID_WEIGHT); these tests compare the
    # job path with it, not the scoring.
    app.config["MATCH_KEYWORD_DESCRIPTION"] = False
    app.config["MATCH_CENTROID_WEIGHT"] = 0.0
    app.config["JOBS_EAGER"] = False
    app.config["JOBS_RETRY_BASE_SECONDS"] = 0
    return app


def _start(client: Any, submissions: list[Any], name: str = "固定轮次") -> Any:
    return client.post(
        "/rounds/new",
        data={
            "name": name,
            "submissions": [s.id for s in submissions],
            "panel_size": 3,
            "load_cap_per_round": 2,
        },
    )


def _round() -> ReviewRound:
    db.session.expire_all()
    return db.session.scalar(select(ReviewRound))


def _by_name(proposal: dict[str, Any], pool: dict[str, Any]) -> dict[str, Any]:
    names = {e.id: key for key, e in pool.items()}
    panels = proposal["panels"]
    return {
        "members": [[(names[e], a) for e, a in p["members"]] for p in panels],
        "alternates": [[(names[e], a) for e, a in p["alternates"]] for p in panels],
        "affinity": [p["affinity"] for p in panels],
        "total_affinity": proposal["total_affinity"],
        "status": proposal["status"],
        "method": proposal["method"],
    }


def _without_timings(proposal: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in proposal.items() if k != "timings"}


def test_the_request_queues_the_job_and_the_worker_writes_the_proposal(
    deferred, client, auth, pool, two_submissions
):
    auth.login()
    with patch.object(rounds, "solve", side_effect=AssertionError("solved in the request")):
        response = _start(client, two_submissions)
    assert response.status_code == 302
    round_ = _round()
    assert response.headers["Location"].endswith(f"/rounds/{round_.id}")
    assert (round_.status, round_.state, round_.proposal) == ("solving", "solving", {})
    job = db.session.get(Job, round_.job_id)
    assert (job.task, job.status) == (rounds.PROPOSE_TASK, JobStatus.QUEUED)
    assert job.args["round_id"] == round_.id
    assert round_.settings["submission_ids"] == [s.id for s in two_submissions]

    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert f'data-job-url="/jobs/{job.id}.json"' in page  # the live bar, polled by jobs.js
    assert f'action="/jobs/{job.id}/cancel"' in page and "js/jobs.js" in page
    assert "Computing the proposal" in page and "round-data" not in page
    assert "Computing the proposal" in client.get("/rounds/").get_data(as_text=True)

    assert drain(deferred) == 1
    round_ = _round()
    assert round_.status == "proposed" and round_.error is None
    assert _by_name(round_.proposal, pool) == BEFORE  # what the synchronous path gave
    assert db.session.get(Job, job.id).status == JobStatus.DONE
    assert db.session.scalars(select(Assignment)).all() == []  # nobody invited before confirming
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "round-data" in page and "Confirm and invite" in page and "job-progress" not in page


def test_the_job_and_the_inline_path_give_the_same_proposal(
    deferred, client, auth, admin, pool, two_submissions
):
    rules = rounds.Rules(panel_size=3, load_cap_per_round=2)
    inline = rounds.propose(db.session, admin, "inline", two_submissions, rules).proposal
    db.session.rollback()
    auth.login()
    _start(client, two_submissions)
    drain(deferred)
    assert _without_timings(_round().proposal) == _without_timings(inline)


def test_stages_are_reported_in_order(deferred, client, auth, pool, two_submissions, stages):
    auth.login()
    _start(client, two_submissions)
    drain(deferred)
    names = [s for _done, s in stages]
    assert [s for i, s in enumerate(names) if i == 0 or names[i - 1] != s] == STAGES_DENSE
    done = [d for d, _s in stages]
    assert done == sorted(done) and done[0] == 0
    job = db.session.get(Job, _round().job_id)
    assert (job.stage, job.total, job.status) == ("Writing the proposal", 100, JobStatus.DONE)
    assert job.done == job.total  # the finished job shows a full bar


def test_a_large_round_reports_the_solver_phases(
    deferred, client, auth, pool, two_submissions, stages
):
    auth.login()
    _start(client, two_submissions)
    with patch.object(rounds, "SPARSIFY_ABOVE", 0), patch.object(rounds, "TOP_K", 1):
        drain(deferred)
    names = [s for i, (_d, s) in enumerate(stages) if i == 0 or stages[i - 1][1] != s]
    assert names[:5] == [
        "Loading the pool of experts",
        "Scoring candidates",
        "Solving: growing each submission's candidate list",
        "Solving: flow and linear programme",
        "Solving: certifying optimality over all expert pairs",
    ]
    assert names[-1] == "Writing the proposal"
    assert _round().proposal["certified_optimal"] is True


def test_cancelling_mid_solve_leaves_no_proposal_and_the_round_can_be_tried_again(
    deferred, client, auth, pool, two_submissions
):
    auth.login()
    _start(client, two_submissions)
    round_id, job_id = _round().id, _round().job_id
    solver = rounds.assign_round

    def cancel_while_solving(*args: Any, **kwargs: Any) -> Any:
        # the administrator presses the bar's cancel button while the solver runs
        response = client.post(f"/jobs/{job_id}/cancel", data={"next": f"/rounds/{round_id}"})
        assert response.status_code == 302
        return solver(*args, **kwargs)

    with patch.object(rounds, "assign_round", side_effect=cancel_while_solving):
        drain(deferred)
    round_ = _round()
    assert db.session.get(Job, job_id).status == JobStatus.CANCELLED
    assert (round_.status, round_.state, round_.proposal) == ("solving", "stopped", {})
    assert db.session.scalars(select(Assignment)).all() == []
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "cancelled before it finished" in page and "Nothing was written" in page
    assert "job-progress" not in page and "Try again" in page

    client.post(f"/rounds/{round_id}/retry")
    round_ = _round()
    assert round_.state == "solving" and round_.job_id != job_id
    drain(deferred)
    assert _by_name(_round().proposal, pool) == BEFORE


def test_a_queued_proposal_is_cancelled_at_once(deferred, client, auth, pool, two_submissions):
    auth.login()
    _start(client, two_submissions)
    round_ = _round()
    client.post(f"/jobs/{round_.job_id}/cancel", data={"next": f"/rounds/{round_.id}"})
    assert drain(deferred) == 0
    assert _round().state == "stopped" and _round().proposal == {}
    client.post(f"/rounds/{round_.id}/cancel")  # discarded: nothing was proposed
    assert _round().status == "cancelled"
    assert "Cancelled" in client.get("/rounds/").get_data(as_text=True)


def test_a_rerun_after_a_crash_leaves_exactly_one_proposal(
    deferred, client, auth, pool, two_submissions
):
    auth.login()
    _start(client, two_submissions)
    job_id = _round().job_id
    solve = rounds.solve
    crashes = []

    def crash_after_writing(*args: Any, **kwargs: Any) -> None:
        solve(*args, **kwargs)  # the proposal is in the job's transaction, not yet committed
        if not crashes:
            crashes.append(1)
            raise MemoryError("worker died before its commit")

    with patch.object(rounds, "solve", side_effect=crash_after_writing):
        drain(deferred)  # attempt 1 crashes; attempt 2 (back-off 0 s) runs and commits
    job = db.session.get(Job, job_id)
    assert crashes == [1] and (job.status, job.attempts) == (JobStatus.DONE, 2)
    assert db.session.scalar(select(func.count()).select_from(ReviewRound)) == 1
    proposal = _round().proposal
    assert _by_name(proposal, pool) == BEFORE

    # The task run once more (a duplicate delivery) changes nothing and adds nothing.
    ctx = jobqueue.JobContext(job, db.session, jobqueue.Worker(deferred))
    again = rounds.propose_round(ctx, **job.args)
    db.session.commit()
    assert again == {"skipped": True}
    assert db.session.scalar(select(func.count()).select_from(ReviewRound)) == 1
    assert _round().proposal == proposal


def test_a_rerun_replaces_a_half_written_proposal(app, admin, pool, two_submissions):
    """Should a proposal exist beside the "solving" status, the job's write replaces it."""
    rules = rounds.Rules(panel_size=3, load_cap_per_round=2)
    round_ = rounds._new_round(
        db.session, admin, "半成品", [s.id for s in two_submissions], rules, False, None
    )
    round_.proposal = {"panels": [{"submission_id": 0, "members": [[1, 1.0]]}], "status": "x"}
    rounds.solve(db.session, round_)
    assert [p["submission_id"] for p in round_.proposal["panels"]] == [
        s.id for s in two_submissions
    ]
    assert round_.status == "proposed"


def test_a_refused_proposal_says_why_in_plain_words(app, client, auth, make_submission):
    submission = make_submission()  # and no expert at all
    _deferred(app)
    auth.login()
    _start(client, [submission])
    assert drain(app) == 1
    round_ = _round()
    job = db.session.get(Job, round_.job_id)
    assert job.status == JobStatus.DONE and job.attempts == 1  # a refusal is not retried
    assert (round_.status, round_.state, round_.error) == (
        "failed",
        "failed",
        "The pool has no experts.",
    )
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "No proposal could be made:" in page and "The pool has no experts." in page
    assert "Try again" in page and "Traceback" not in page


def test_a_proposal_that_keeps_crashing_fails_with_a_plain_message(
    deferred, client, auth, pool, two_submissions
):
    auth.login()
    _start(client, two_submissions)
    round_id = _round().id
    with patch.object(rounds, "assign_round", side_effect=RuntimeError("max flow failed")):
        assert drain(deferred) == 3  # back-off 0 s here: the three attempts run in a row
    round_ = _round()
    job = db.session.get(Job, round_.job_id)
    assert job.status == JobStatus.FAILED and job.attempts == 3
    assert round_.state == "failed" and round_.proposal == {}
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "The proposal could not be computed:" in page
    assert "stopped with an error 3 times" in page
    assert "RuntimeError: max flow failed" in page  # the last line, under "technical detail"
    assert "Traceback" not in page and "Try again" in page
    client.post(f"/rounds/{round_id}/retry")
    drain(deferred)
    assert _round().status == "proposed"


def test_only_a_failed_or_stopped_round_is_tried_again(client, auth, pool, two_submissions):
    auth.login()
    _start(client, two_submissions)  # eager: proposed at once
    round_ = _round()
    assert round_.status == "proposed"
    client.post(f"/rounds/{round_.id}/retry", follow_redirects=True)
    assert _round().job_id == round_.job_id
    proposals = select(func.count()).select_from(Job).where(Job.task == rounds.PROPOSE_TASK)
    assert db.session.scalar(proposals) == 1
