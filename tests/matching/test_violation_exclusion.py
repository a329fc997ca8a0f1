"""Experts under investigation for a violation: kept off panels (with the reason shown among the
excluded) when MATCH_EXCLUDE_UNDER_INVESTIGATION is on, and the cached pool follows every case
that opens or closes."""

from __future__ import annotations

import datetime as dt

import pytest

from expertpool.core.assignment.constraints import ExpertTable, eligibility, exclusion_masks
from expertpool.core.assignment.records import ExpertRecord, Rules, SubmissionRecord
from expertpool.db import db
from expertpool.experts import violations as vio
from expertpool.matching.service import rank
from expertpool.reviews.eligibility import expert_record, file_records, rules_from_config

TODAY = dt.date.today()


def _investigate(admin, expert):
    case = vio.report(db.session, admin, expert, kind="leaked_content", description="泄露")
    vio.investigate(db.session, admin, case)
    db.session.commit()
    return case


def _reasons(ranking, expert_id):
    found = [c for c in ranking.excluded if c.expert.id == expert_id]
    return [e.code for e in found[0].exclusions] if found else None


@pytest.mark.parametrize("on", [True, False])
def test_the_core_rule_agrees_in_both_forms(on):
    rules = Rules(exclude_under_investigation=on)
    experts = [ExpertRecord(id=1, under_investigation=True), ExpertRecord(id=2)]
    masks = exclusion_masks(ExpertTable.from_records(experts), SubmissionRecord(id=1), rules, TODAY)
    scalar = [
        "under_investigation"
        in [x.code for x in eligibility(e, SubmissionRecord(id=1), rules, TODAY)]
        for e in experts
    ]
    assert list(masks["under_investigation"]) == scalar == [on, False]


def test_config_switch_reaches_the_rules(app):
    assert rules_from_config(app.config).exclude_under_investigation is True
    app.config["MATCH_EXCLUDE_UNDER_INVESTIGATION"] = False
    assert rules_from_config(app.config).exclude_under_investigation is False


def test_records_know_who_is_under_investigation(app, admin, pool):
    _investigate(admin, pool["soil1"])
    records = {r.id: r for r in file_records(db.session)}
    assert records[pool["soil1"].id].under_investigation
    assert not records[pool["soil2"].id].under_investigation
    for key in ("soil1", "soil2"):
        expert = pool[key]
        assert records[expert.id] == expert_record(db.session, expert, TODAY, load=0)


def test_investigation_excludes_with_its_reason_and_closing_it_restores(
    app, admin, pool, make_submission
):
    submission = make_submission()
    rules = rules_from_config(app.config)
    soil1 = pool["soil1"].id
    before = rank(db.session, submission, rules)  # also fills this process's pool cache
    assert before.candidate(soil1) is not None
    case = _investigate(admin, pool["soil1"])
    during = rank(db.session, submission, rules)
    assert during.candidate(soil1) is None
    assert _reasons(during, soil1) == ["under_investigation"]
    assert during.excluded_counts["under_investigation"] == 1
    vio.dismiss(db.session, admin, case, "查无实据")
    db.session.commit()
    after = rank(db.session, submission, rules)
    assert after.candidate(soil1) is not None and "under_investigation" not in after.excluded_counts


def test_switched_off_the_expert_stays_a_candidate(app, admin, pool, make_submission):
    app.config["MATCH_EXCLUDE_UNDER_INVESTIGATION"] = False
    submission = make_submission()
    _investigate(admin, pool["soil1"])
    ranking = rank(db.session, submission, rules_from_config(app.config))
    assert ranking.candidate(pool["soil1"].id) is not None


def test_a_reported_case_alone_does_not_exclude(app, admin, pool, make_submission):
    vio.report(db.session, admin, pool["soil1"], kind="other", description="待核实")
    db.session.commit()
    ranking = rank(db.session, make_submission(), rules_from_config(app.config))
    assert ranking.candidate(pool["soil1"].id) is not None


def test_the_candidates_page_names_the_reason(client, auth, admin, pool, make_submission):
    submission = make_submission()
    _investigate(admin, pool["soil1"])
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    excluded = html[html.index('id="excluded"') :]
    assert "土壤甲" in excluded and "Under investigation for a violation" in excluded
