"""Supervision and spot checks through the database and the pages.

The constructed data set of test_supervision_core (its answers worked out by hand there) is
written as rows, so the query layer must give the core the same records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core import audit
from expertpool.core.access import Role
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.matching.models import ReviewRound
from expertpool.reviews import spotchecks
from expertpool.reviews import supervision as sv
from expertpool.reviews import supervision_queries as q
from expertpool.reviews.constants import AssignmentStatus, ReviewStatus
from expertpool.reviews.models import Assignment, Review, SpotCheck, SpotCheckItem
from tests.reviews.test_supervision_core import RECORDS


class Built:
    def __init__(self) -> None:
        self.experts: dict[int, Any] = {}  # record's expert number -> Expert
        self.submissions: dict[int, Any] = {}
        self.rounds: dict[int, ReviewRound] = {}
        self.reviews: dict[int, Review] = {}  # by record assignment id

    def expert(self, n: int) -> Any:
        return self.experts[n]


def _at(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(9)) if day else None


@pytest.fixture
def built(admin: Any, make_expert: Any, make_submission: Any) -> Built:
    b = Built()
    for n in (1, 2, 3, 4):
        b.experts[n] = make_expert(name=f"监督专家{n}", institution=f"研究院{n}")
    for n, category in ((1, 8), (2, 8), (3, 10)):
        b.submissions[n] = make_submission(title=f"监督样品{n}", category=category)
    for n in (1, 2):
        round_ = ReviewRound(
            name=f"2026 第{n}轮",
            status="confirmed",
            created_by_id=admin.id,
            settings={},
            proposal={"panels": []},
        )
        db.session.add(round_)
        b.rounds[n] = round_
    db.session.flush()
    for r in RECORDS:
        a = Assignment(
            submission_id=b.submissions[r.submission_id].id,
            expert_id=b.experts[r.expert_id].id,
            round_id=b.rounds[r.round_id].id,
            status=AssignmentStatus.COMPLETED if r.submitted else AssignmentStatus.DECLINED,
            invited_at=_at(r.invited_on),
            responded_at=_at(r.answered_on),
            due_date=r.due_on,
        )
        db.session.add(a)
        if r.submitted:
            b.reviews[r.assignment_id] = Review(
                assignment=a,
                expert_id=a.expert_id,
                status=ReviewStatus.SUBMITTED,
                submitted_at=_at(r.submitted_on),
                recommendation=r.recommendation,
                summary="审" * (r.length - 2),
                homogeneity_comment="均匀",  # 2 more characters: comments count too
                quality_rating=r.rating,
                quality_rated_by_id=admin.id if r.rating else None,
            )
            db.session.add(b.reviews[r.assignment_id])
    db.session.commit()
    return b


def test_the_query_layer_gives_the_core_the_same_figures(app: Any, built: Built) -> None:
    from_db = q.report(db.session, sv.Filters(min_reviews=1), {})
    by_hand = sv.report(RECORDS, sv.Filters(min_reviews=1))
    assert from_db.overall == by_hand.overall
    assert from_db.lateness_histogram == by_hand.lateness_histogram
    ids = {n: e.id for n, e in built.experts.items()}
    assert {row.expert_id: row.figures for row in from_db.experts} == {
        ids[row.expert_id]: row.figures for row in by_hand.experts
    }


def test_query_filters_by_round_and_period(app: Any, built: Built) -> None:
    second = q.report(db.session, sv.Filters(round_id=built.rounds[2].id), {})
    assert second.overall.reviews == 2 and second.overall.invitations == 3
    later = q.report(db.session, sv.Filters(date_from=dt.date(2026, 1, 11)), {})
    assert later.overall.reviews == 5  # S2 and S3


def test_supervision_page_figures_outliers_and_charts(client: Any, auth: Any, built: Built) -> None:
    auth.login()
    html = client.get("/reviews/supervision?min=2").get_data(as_text=True)
    e2, e3 = built.expert(2), built.expert(3)
    assert f'data-expert="{e2.id}"' in html
    outliers = html.split('data-list="outliers"')[1].split('id="expert-table"')[0]
    assert e2.name in outliers and e3.name in outliers and built.expert(1).name not in outliers
    for code in ("late", "slow_answer", "low_rating", "short", "against"):
        assert f'data-flag="{code}"' in html
    assert 'data-figure="late">38%' in html  # 3 of 8
    for chart in ("chart-lateness", "chart-ratings", "chart-categories"):
        assert f'<svg id="{chart}"' in html
    assert built.expert(4).name not in html  # one review: below the minimum of 2
    assert f"/reviews/supervision/experts/{e2.id}?" in html


def test_supervision_page_filters(client: Any, auth: Any, built: Built) -> None:
    auth.login()
    html = client.get("/reviews/supervision?category=10&min=1").get_data(as_text=True)
    table = html.split('id="expert-table"')[1].split("</table>")[0]
    assert built.expert(1).name in table and built.expert(3).name in table
    assert built.expert(2).name not in table
    html = client.get(f"/reviews/supervision?round={built.rounds[1].id}&min=3").get_data(
        as_text=True
    )
    table = html.split('id="expert-table"')[1].split("</table>")[0]
    assert "data-expert" not in table  # nobody has 3 reviews in round 1
    # nonsense filters are ignored, never an error
    assert client.get("/reviews/supervision?category=99&from=x&min=-3&round=²").status_code == 200


def test_drill_down_lists_the_experts_reviews_with_links(
    client: Any, auth: Any, built: Built
) -> None:
    auth.login()
    e2 = built.expert(2)
    html = client.get(f"/reviews/supervision/experts/{e2.id}?min=2").get_data(as_text=True)
    for aid in (2, 5):
        assert f'/reviews/{built.reviews[aid].id}"' in html
    assert f'/reviews/{built.reviews[1].id}"' not in html  # e1's
    assert 'data-figure="late">100%' in html
    flags = html.split('id="expert-flags"')[1].split("</ul>")[0]
    assert 'data-flag="late"' in flags and 'data-flag="against"' not in flags
    assert client.get("/reviews/supervision/experts/999").status_code == 404


def _admin2(make_user: Any) -> Any:
    return make_user(Role.ADMIN, username="admin2", name="第二审核人")


def test_draw_is_seeded_recorded_and_never_repeats_a_review(
    client: Any, auth: Any, admin: Any, built: Built
) -> None:
    auth.login()
    round1 = built.rounds[1].id
    pool = spotchecks.candidates(db.session, round1)
    rated = [built.reviews[a].id for a in (1, 2, 3, 4, 5)]  # e4's S2 review is unrated
    assert pool == sorted(rated)
    response = client.post(
        "/reviews/spot-checks/new", data={"round_id": round1, "size": 3, "seed": 7}
    )
    check = db.session.scalar(select(SpotCheck))
    assert response.headers["Location"].endswith(f"/reviews/spot-checks/{check.id}")
    assert (check.seed, check.candidates, check.round_name) == (7, 5, "2026 第1轮")
    assert [i.review_id for i in check.items] == sv.sample(pool, 3, 7)
    # the rest, then nothing left
    second = spotchecks.draw(db.session, admin, round1, 10)
    assert sorted(i.review_id for i in second.items) == sorted(
        set(pool) - {i.review_id for i in check.items}
    )
    assert second.seed is not None
    assert spotchecks.candidates(db.session, round1) == []
    with pytest.raises(spotchecks.SpotCheckError):  # nothing left to draw
        spotchecks.draw(db.session, admin, round1, 1)
    db.session.commit()
    logged = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type.in_(["SpotCheck", "SpotCheckItem"]))
    ).all()
    assert sum(1 for row in logged if row.entity_type == "SpotCheckItem") == 5
    assert any("seed 7" in (row.note or "") for row in logged)


@pytest.mark.parametrize("size", [0, 201])
def test_draw_refuses_a_bad_size(app: Any, admin: Any, built: Built, size: int) -> None:
    with pytest.raises(spotchecks.SpotCheckError):
        spotchecks.draw(db.session, admin, built.rounds[1].id, size)


def test_second_rating_rules_and_audit(app: Any, admin: Any, make_user: Any, built: Built) -> None:
    check = spotchecks.draw(db.session, admin, built.rounds[1].id, 5, seed=1)
    item = check.items[0]
    with pytest.raises(spotchecks.SpotCheckError, match="first rating"):
        spotchecks.second_rating(db.session, admin, item, 3)
    other = _admin2(make_user)
    with pytest.raises(spotchecks.SpotCheckError, match="1 to 5"):
        spotchecks.second_rating(db.session, other, item, 6)
    audit.set_actor(db.session, other)  # as the request handling does
    spotchecks.second_rating(db.session, other, item, 3, " 太宽松 ")
    assert (item.second_rated_by_id, item.second_comment) == (other.id, "太宽松")
    with pytest.raises(spotchecks.SpotCheckError, match="already"):
        spotchecks.second_rating(db.session, other, item, 4)
    db.session.commit()
    row = db.session.scalars(
        select(AuditLog).where(
            AuditLog.entity_type == "SpotCheckItem",
            AuditLog.entity_id == item.id,
            AuditLog.action == "update",
        )
    ).one()
    assert row.changes["second_rating"] == [None, 3]
    assert (row.subject_type, row.subject_id) == ("expert", item.expert_id)
    assert row.actor_id == other.id


def test_disagreements_are_listed(
    client: Any, auth: Any, admin: Any, make_user: Any, built: Built
) -> None:
    check = spotchecks.draw(db.session, admin, built.rounds[1].id, 5, seed=3)
    other = _admin2(make_user)
    by_first = {item.review.quality_rating: item for item in check.items}
    # first ratings in round 1: 4, 2, 5, 4, 1 -> pick one of each kind
    seconds = {5: 4, 2: 3, 1: 4}  # 5->4 agrees; 2->3 other band; 1->4 three apart
    for first, second in seconds.items():
        spotchecks.second_rating(db.session, other, by_first[first], second)
    db.session.commit()
    found = {item.review.quality_rating for item in spotchecks.disagreements(check)}
    assert found == {2, 1}
    auth.login("admin2")
    html = client.get(f"/reviews/spot-checks/{check.id}").get_data(as_text=True)
    listed = html.split('id="disagreements"')[1].split("</table>")[0]
    assert listed.count("data-item=") == 2
    assert f'data-item="{by_first[5].id}"' not in listed
    index = client.get("/reviews/spot-checks").get_data(as_text=True)
    assert 'data-disagreements="2"' in index


def test_second_rating_through_the_page(
    client: Any, auth: Any, admin: Any, make_user: Any, built: Built
) -> None:
    check = spotchecks.draw(db.session, admin, built.rounds[1].id, 1, seed=2)
    db.session.commit()
    item_id = check.items[0].id
    auth.login()  # the first rater: refused
    client.post(f"/reviews/spot-checks/items/{item_id}/rate", data={"rating": 1})
    assert db.session.get(SpotCheckItem, item_id).second_rating is None
    _admin2(make_user)
    auth.logout()
    auth.login("admin2")
    response = client.post(f"/reviews/spot-checks/items/{item_id}/rate", data={"rating": 2})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SpotCheckItem, item_id).second_rating == 2


def test_reachable_from_the_menu_and_the_round_page(client: Any, auth: Any, built: Built) -> None:
    auth.login()
    home = client.get("/").get_data(as_text=True)
    assert "/reviews/supervision" in home and "/reviews/spot-checks" in home
    round_id = built.rounds[1].id
    page = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert f"/reviews/supervision?round={round_id}" in page
    assert f"/reviews/spot-checks?round={round_id}" in page
    form = client.get(f"/reviews/spot-checks?round={round_id}").get_data(as_text=True)
    assert f'<option selected value="{round_id}">' in form
