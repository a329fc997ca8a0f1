"""Irreversible or mass actions say what will happen, with the numbers, before they happen;
a round confirmed against a count that no longer holds is refused and changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from expertpool.db import db
from expertpool.matching import rounds
from expertpool.matching.models import ReviewRound
from expertpool.reviews.models import Assignment


def _propose(client, *submissions):
    client.post(
        "/rounds/new",
        data={
            "name": "第一轮",
            "submissions": [s.id for s in submissions],
            "panel_size": 3,
            "load_cap_per_round": 2,
        },
    )
    return db.session.scalar(select(ReviewRound))


def _confirm_attribute(html: str) -> list[str]:
    return re.findall(r'data-confirm="([^"]*)"', html)


def test_round_page_says_how_many_invitations_go_out(client, auth, pool, make_submission):
    auth.login()
    round_ = _propose(client, make_submission())
    n = sum(len(p["members"]) for p in round_.proposal["panels"])
    assert n == rounds.invitation_count(round_) and n > 0
    html = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    expected = f"Confirming sends {n} invitations"
    assert expected in html  # printed on the page, for readers without JavaScript too
    assert any(expected in text for text in _confirm_attribute(html))  # and in the dialog
    assert f'name="invitations" type="hidden" value="{n}"' in html


def test_round_confirmed_with_a_stale_count_is_refused(client, auth, pool, make_submission):
    auth.login()
    round_ = _propose(client, make_submission())
    n = rounds.invitation_count(round_)
    response = client.post(
        f"/rounds/{round_.id}/confirm",
        data={"version": round_.version, "invitations": n + 5},
        follow_redirects=True,
    )
    db.session.refresh(round_)
    assert round_.status == "proposed"
    assert db.session.scalars(select(Assignment)).all() == []
    assert f"it would now send {n} invitations, not {n + 5}" in response.get_data(as_text=True)
    # The count the page showed goes through.
    client.post(f"/rounds/{round_.id}/confirm", data={"version": round_.version, "invitations": n})
    db.session.refresh(round_)
    assert round_.status == "confirmed"
    invited = db.session.scalars(select(Assignment).where(Assignment.status == "invited")).all()
    assert len(invited) == n


def test_panel_assignment_and_withdrawal_ask_first(client, auth, pool, make_submission):
    submission = make_submission()
    auth.login()
    html = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    assert any("the proposed panel has 3" in t for t in _confirm_attribute(html))
    detail = client.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert any(
        "0 open invitations and reviews are cancelled" in t for t in _confirm_attribute(detail)
    )
