"""Review rounds over a big pool go through the sparse solve and record its certificate."""

from __future__ import annotations

from unittest.mock import patch

from expertpool.core.assignment import Rules
from expertpool.db import db
from expertpool.matching import rounds


def _propose(admin, submissions, name):
    rules = Rules(panel_size=3, load_cap_per_round=2)
    return rounds.propose(db.session, admin, name, submissions, rules).proposal


def test_sparse_round_matches_the_dense_one_and_is_certified(app, admin, pool, make_submission):
    submissions = [
        make_submission(),
        make_submission(title="土壤中砷汞成分分析标准物质", analytes=["砷", "汞"]),
    ]
    dense = _propose(admin, submissions, "dense")
    assert dense["certified_optimal"] is None  # small pool: solved on the full graph
    with patch.object(rounds, "SPARSIFY_ABOVE", 0), patch.object(rounds, "TOP_K", 1):
        sparse = _propose(admin, submissions, "sparse")
    assert sparse["status"] == "optimal" and sparse["certified_optimal"] is True
    assert sparse["gap_bound"] is not None and sparse["gap_bound"] >= 0
    assert sparse["total_affinity"] == dense["total_affinity"]
    assert [p["filled"] for p in sparse["panels"]] == [p["filled"] for p in dense["panels"]]
    assert sparse["unfilled"] == []
    members = [e for p in sparse["panels"] for e, _a in p["members"]]
    assert max(members.count(e) for e in members) <= 2  # load cap 2 per round
    for panel in sparse["panels"]:  # nobody twice on one panel
        assert len({e for e, _a in panel["members"]}) == len(panel["members"])


def test_round_page_states_the_certificate(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    with patch.object(rounds, "SPARSIFY_ABOVE", 0), patch.object(rounds, "TOP_K", 1):
        response = client.post(
            "/rounds/new",
            data={"name": "大轮次", "submissions": [submission.id], "panel_size": 3},
        )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Proven optimal over all expert pairs" in page  # the test client asks for English
