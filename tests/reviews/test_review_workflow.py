"""The whole review workflow through the test client, from panel to quality rating."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from expertpool.core import audit
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts.models import Assessment, PastReview, UnavailablePeriod
from expertpool.reviews import operations as ops
from expertpool.reviews.models import Assignment, Notification, Review

COMPLETE_REVIEW = {
    "homogeneity": "satisfactory",
    "homogeneity_comment": "ANOVA 无显著差异",
    "stability": "minor",
    "stability_comment": "长期稳定性只有 6 个月数据",
    "value_assignment": "satisfactory",
    "uncertainty": "satisfactory",
    "traceability": "satisfactory",
    "certificate_label": "not_applicable",
    "recommendation": "approve_with_revisions",
    "summary": "补充稳定性数据后可批准。",
}


def _assignment(submission: Any, expert: Any) -> Assignment:
    found = db.session.scalar(
        select(Assignment).where(
            Assignment.submission_id == submission.id, Assignment.expert_id == expert.id
        )
    )
    db.session.refresh(found)
    return found


def _flashes(html: str) -> str:
    return " ".join(re.findall(r'role="alert">\s*(.*?)<button', html, re.S))


def _assign(admin: Any, pool: Any) -> list[Assignment]:
    audit.set_actor(db.session, admin)
    members = [(e.id, 0.9 - n / 10, {"categories": [8]}) for n, e in enumerate(pool.members)]
    alternates = [(e.id, 0.5 - n / 10, {}) for n, e in enumerate(pool.alternates)]
    created = ops.assign_panel(
        db.session,
        admin,
        pool.submission,
        members,
        alternates,
        dt.date.today() + dt.timedelta(days=30),
    )
    db.session.commit()
    return created


def test_whole_workflow(app: Any, admin: Any, pool: Any, sign_in: Any, window: Any) -> None:
    submission, (e1, e2, _e3), (alt1, alt2) = pool.submission, pool.members, pool.alternates
    created = _assign(admin, pool)
    assert [a.status for a in created] == ["invited"] * 3 + ["proposed"] * 2
    assert [a.rank for a in created] == [1, 2, 3, 1, 2]
    assert submission.status == "assigned"
    # After the panel was drawn, the first alternate becomes unavailable for the window.
    db.session.add(UnavailablePeriod(expert_id=alt1.id, start=window[0], end=window[1]))
    db.session.commit()

    # e1 sees the invitation (and the unread badge); accepting without the declaration fails.
    client = sign_in("e1")
    page = client.get("/reviews/invitations").get_data(as_text=True)
    assert submission.title in page and "data-unread>1<" in page
    a1 = _assignment(submission, e1)
    url = f"/reviews/assignments/{a1.id}"
    refused = client.post(f"{url}/accept", data={"version": a1.version}, follow_redirects=True)
    assert "declare that you have no conflict of interest" in _flashes(refused.get_data(True))
    assert _assignment(submission, e1).status == "invited"
    accepted = client.post(f"{url}/accept", data={"version": a1.version, "no_conflict": "y"})
    assert accepted.headers["Location"].endswith(f"{url}/review")
    a1 = _assignment(submission, e1)
    assert a1.status == "accepted" and a1.conflict_declared_none and a1.responded_at
    assert submission.status == "in_review"

    # e2 declines: a reason is required; then alt1 is passed over (unavailable), alt2 invited.
    client = sign_in("e2")
    a2 = _assignment(submission, e2)
    client.post(f"/reviews/assignments/{a2.id}/decline", data={"version": a2.version})
    assert _assignment(submission, e2).status == "invited"
    client.post(
        f"/reviews/assignments/{a2.id}/decline",
        data={"version": a2.version, "reason": "评审期间出国"},
    )
    a2 = _assignment(submission, e2)
    assert (a2.status, a2.decline_reason) == ("declined", "评审期间出国")
    skipped, invited = _assignment(submission, alt1), _assignment(submission, alt2)
    assert skipped.status == "withdrawn"
    assert [x["code"] for x in skipped.exclusions] == ["unavailable"]
    assert "unavailable" in skipped.withdraw_reason
    assert invited.status == "invited" and invited.invited_at is not None
    assert (
        db.session.scalar(
            select(Notification).where(
                Notification.expert_id == alt2.id, Notification.kind == "invitation"
            )
        )
        is not None
    )
    # Another expert's review form does not exist for e2.
    assert client.get(f"{url}/review").status_code == 404

    # e1 saves a draft, a stale copy of the form is refused, an incomplete one too, then submits.
    client = sign_in("e1")
    form_page = client.get(f"{url}/review").get_data(as_text=True)
    assert 'name="version" type="hidden" value="0"' in form_page
    draft = {"version": "0", "homogeneity": "satisfactory", "summary": "初稿", "action": "save"}
    assert client.post(f"{url}/review", data=draft).status_code == 302
    review = db.session.scalar(select(Review))
    assert (review.status, review.summary, review.version) == ("draft", "初稿", 1)
    stale = client.post(f"{url}/review", data={**draft, "summary": "另一窗口"})
    assert stale.status_code == 409
    db.session.refresh(review)
    assert review.summary == "初稿"
    incomplete = client.post(f"{url}/review", data={**draft, "version": "1", "action": "submit"})
    assert incomplete.status_code == 400
    assert "cannot be submitted yet" in incomplete.get_data(as_text=True)
    unexplained = {**COMPLETE_REVIEW, "stability_comment": "", "version": "1", "action": "submit"}
    assert "explain the issues found in: Stability" in client.post(
        f"{url}/review", data=unexplained
    ).get_data(as_text=True)
    done = client.post(
        f"{url}/review", data={**COMPLETE_REVIEW, "version": "1", "action": "submit"}
    )
    assert done.status_code == 302
    db.session.refresh(review)
    assert review.status == "submitted" and review.submitted_at is not None
    assert review.recommendation == "approve_with_revisions"
    assert _assignment(submission, e1).status == "completed"
    past = db.session.scalar(select(PastReview).where(PastReview.expert_id == e1.id))
    assert past.rm_name == submission.rm_name and past.category == 8
    assert submission.status == "in_review"  # e3 and alt2 have not answered yet
    after = client.post(f"{url}/review", data={**COMPLETE_REVIEW, "version": "2", "action": "save"})
    assert "补充稳定性数据后可批准" in after.get_data(as_text=True)  # read-only now
    assert db.session.scalar(select(Review)).summary == "补充稳定性数据后可批准。"

    # The administrator sees the board, reads the review and rates it into e1's file.
    client = sign_in("admin")
    board = client.get("/reviews/board").get_data(as_text=True)
    assert submission.title in board and "e1 · Completed" in board and "e3 · Invited" in board
    detail = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "长期稳定性只有 6 个月数据" in detail and "Approve with revisions" in detail
    client.post(f"/reviews/{review.id}/rate", data={"rating": "4", "comment": "论证充分"})
    rating = db.session.scalar(select(Assessment).where(Assessment.expert_id == e1.id))
    assert (rating.kind, rating.rating, rating.assessor_id) == ("review_quality", 4, admin.id)
    assert "论证充分" in rating.comment and submission.title in rating.comment
    again = client.post(f"/reviews/{review.id}/rate", data={"rating": "1"}, follow_redirects=True)
    assert "already been rated" in _flashes(again.get_data(as_text=True))
    file_page = client.get(f"/experts/{e1.id}").get_data(as_text=True)
    assert "Review quality · ★★★★☆" in file_page
    panel_page = client.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "ineligible when their turn came: unavailable" in panel_page

    # Everything was audited under the expert concerned.
    logged = {
        (e.entity_type, e.action, e.note)
        for e in db.session.scalars(select(AuditLog).where(AuditLog.of_subject("expert", e1.id)))
    }
    assert ("Assignment", "update", "accepted, declared no conflict of interest") in logged
    assert {
        ("Review", "create"),
        ("Review", "update"),
        ("Assessment", "create"),
        ("PastReview", "create"),
    } <= {(t, a) for t, a, _n in logged}
    assert ("Assignment", "update", "评审期间出国") in {
        (e.entity_type, e.action, e.note)
        for e in db.session.scalars(select(AuditLog).where(AuditLog.of_subject("expert", e2.id)))
    }


def test_inbox_lists_marks_read_and_opens(app: Any, admin: Any, pool: Any, sign_in: Any) -> None:
    _assign(admin, pool)
    client = sign_in("e1")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Invitation to review: " + pool.submission.title in inbox
    note = db.session.scalar(
        select(Notification).where(Notification.expert_id == pool.members[0].id)
    )
    opened = client.post(f"/inbox/{note.id}/read", data={"open": "1"})
    assert opened.headers["Location"].endswith("/reviews/invitations")
    db.session.refresh(note)
    assert note.read_at is not None
    assert "data-unread" not in client.get("/reviews/invitations").get_data(as_text=True)
    other = db.session.scalar(
        select(Notification).where(Notification.expert_id == pool.members[1].id)
    )
    assert client.post(f"/inbox/{other.id}/read").status_code == 404  # not e1's message
    sign_in("e2").post("/inbox/read-all")
    db.session.refresh(other)
    assert other.read_at is not None


def test_message_waits_for_an_expert_without_account(
    app: Any, admin: Any, make_expert: Any, make_user: Any, pool: Any, sign_in: Any
) -> None:
    from expertpool.core.access import Role

    loner = make_expert(name="无账号", institution="清华大学")
    audit.set_actor(db.session, admin)
    ops.assign_panel(
        db.session,
        admin,
        pool.submission,
        [(loner.id, 0.7, {})],
        [],
        dt.date.today() + dt.timedelta(days=20),
    )
    db.session.commit()
    note = db.session.scalar(select(Notification).where(Notification.expert_id == loner.id))
    assert note.user_id is None and note.email_to == loner.email
    user = make_user(Role.EXPERT, username="loner", locale="en")
    loner.user_id = user.id
    db.session.commit()
    # Written before the account existed, so in the default language; shown now all the same.
    assert note.subject in sign_in("loner").get("/inbox").get_data(as_text=True)
