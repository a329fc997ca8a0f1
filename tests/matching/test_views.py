"""Matching through the test client: candidates page, one-click panel, review rounds, CSV."""

from __future__ import annotations

import csv
import io
import time
from unittest.mock import patch

import numpy as np
import pytest
from sqlalchemy import select

from expertpool.core.assignment import PoolAttributes, Rules, assign_round
from expertpool.core.assignment import assign as assign_module
from expertpool.core.assignment import fair as fair_module
from expertpool.db import db
from expertpool.matching.models import ReviewRound
from expertpool.matching.rounds import _fairness
from expertpool.reviews.models import Assignment


def test_candidates_page_explains_and_excludes(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    page = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    assert "土壤甲" in page and "<mark>" in page
    assert "Same institution as the applicant" in page and "同单位" in page
    assert "Not active in the pool" in page


def test_one_click_assignment_invites_the_panel(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    ids = [pool["soil1"].id, pool["soil2"].id, pool["soil3"].id]
    response = client.post(
        f"/submissions/{submission.id}/assign",
        data={"members": ids, "alternates": [pool["stats"].id]},
    )
    assert response.status_code == 302
    rows = db.session.scalars(
        select(Assignment).where(Assignment.submission_id == submission.id)
    ).all()
    assert {(a.expert_id, a.role) for a in rows} == {
        *((i, "member") for i in ids),
        (pool["stats"].id, "alternate"),
    }
    members = [a for a in rows if a.role == "member"]
    assert all(a.status == "invited" and a.explanation.get("parts") for a in members)


def test_assigning_a_recused_expert_is_refused(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    client.post(f"/submissions/{submission.id}/assign", data={"members": [pool["same_inst"].id]})
    assert db.session.scalars(select(Assignment)).all() == []


def test_round_proposal_then_confirmation(client, auth, pool, make_submission):
    first = make_submission()
    second = make_submission(
        title="奶粉中三聚氰胺成分分析标准物质",
        category=10,
        matrix="奶粉",
        analytes=["三聚氰胺"],
        methods=["LC-MS/MS"],
        applicant_institution="某乳业公司",
    )
    auth.login()
    response = client.post(
        "/rounds/new",
        data={
            "name": "2026 第一轮",
            "submissions": [first.id, second.id],
            "panel_size": 3,
            "load_cap_per_round": 1,
        },
    )
    assert response.status_code == 302
    round_ = db.session.scalar(select(ReviewRound))
    panels = {p["submission_id"]: p for p in round_.proposal["panels"]}
    assert round_.status == "proposed" and round_.proposal["status"] == "optimal"
    members = [e for p in panels.values() for e, _a in p["members"]]
    assert len(members) == len(set(members))  # load cap 1 per round
    assert pool["same_inst"].id not in [e for e, _a in panels[first.id]["members"]]
    assert db.session.scalars(select(Assignment)).all() == []  # nothing invited yet
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "round-data" in page and "2026 第一轮" in page
    client.post(f"/rounds/{round_.id}/confirm", data={"version": round_.version})
    db.session.refresh(round_)
    assert round_.status == "confirmed"
    created = db.session.scalars(select(Assignment).where(Assignment.round_id == round_.id)).all()
    assert {a.expert_id for a in created if a.role == "member"} == set(members)
    body = client.get(f"/assignments.csv?round={round_.id}").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(created) and {r["round_id"] for r in rows} == {str(round_.id)}


def test_stale_round_confirmation_is_refused(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    client.post(
        "/rounds/new",
        data={
            "name": "r",
            "submissions": [submission.id],
            "panel_size": 3,
            "load_cap_per_round": 2,
        },
    )
    round_ = db.session.scalar(select(ReviewRound))
    client.post(f"/rounds/{round_.id}/confirm", data={"version": round_.version + 7})
    db.session.refresh(round_)
    assert round_.status == "proposed"
    assert db.session.scalars(select(Assignment)).all() == []


@pytest.mark.parametrize("mode", ["exact", "exchanges", "late"])
def test_fair_round_shows_floor_bound_and_affinity_given_up(
    client, auth, pool, make_submission, mode
):
    """Exact max-min on a small round; the exchanges big rounds use; and the exchanges out of
    time, which the page must say."""
    first = make_submission()
    second = make_submission(
        title="奶粉中三聚氰胺成分分析标准物质",
        category=10,
        matrix="奶粉",
        analytes=["三聚氰胺"],
        methods=["LC-MS/MS"],
        applicant_institution="某乳业公司",
    )
    auth.login()
    late = fair_module.raise_floor
    with (
        patch.object(assign_module, "_EXACT_FAIR_ARCS", 10**6 if mode == "exact" else 0),
        patch.object(
            assign_module,
            "raise_floor",
            (lambda g, x, _deadline, bound: late(g, x, time.perf_counter() - 1, bound))
            if mode == "late"
            else late,
        ),
    ):
        response = client.post(
            "/rounds/new",
            data={
                "name": "公平轮次",
                "submissions": [first.id, second.id],
                "panel_size": 3,
                "load_cap_per_round": 1,
                "fairness": "y",
            },
        )
    assert response.status_code == 302
    round_ = db.session.scalar(select(ReviewRound))
    fair = round_.proposal["fairness"]
    expected = {"exact": {"optimal"}, "exchanges": {"optimal", "local optimum"}}
    if mode == "late" and fair["floor"] < fair["bound"]:
        expected["late"] = {"time limit"}
    else:  # the unfair answer's floor was already at the bound: nothing to do in time
        expected["late"] = {"optimal"}
    assert fair["status"] in expected[mode]
    assert fair["floor"] == round_.proposal["min_panel_score"]
    assert fair["unfair_floor"] <= fair["floor"] <= fair["bound"]
    assert fair["given_up"] >= 0
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="fairness-result"' in page
    assert str(fair["floor"]) in page and str(fair["bound"]) in page
    label = {
        "optimal": "proven as high as it can be",
        "local optimum": "Best found: no exchange",
        "time limit": "Time limit reached",
    }
    assert label[fair["status"]] in page


def test_round_without_fairness_has_no_fairness_report():
    pool = PoolAttributes(np.arange(3), np.full(3, -1), np.ones(3, bool), np.ones(3, int))
    plain = assign_round(np.array([[0.5, 0.4, 0.3]]), pool, Rules())
    assert _fairness(plain) is None
    fair = assign_round(np.array([[0.5, 0.4, 0.3]]), pool, Rules(), fairness=True)
    assert _fairness(fair) == {
        "status": "optimal",
        "floor": 0.4,
        "bound": 0.4,
        "unfair_floor": 0.4,
        "unfair_total": 1.2,
        "given_up": 0.0,
    }
