"""Experts of one panel answering at the same moment: every answer is kept (load-bench defect).

Accepting moved the submission's status with a versioned write of the submission, so the second
of two simultaneous acceptances failed with `StaleDataError` (a 500) and the expert's answer was
lost, though nothing conflicted from their point of view. The interleavings are made exact with
two sessions on two connections (the second reads, the first writes and commits, the second
writes) and, through the web, with threads meeting at a barrier before their first write.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.reviews import operations as ops
from expertpool.reviews.models import Assignment
from expertpool.submissions.models import Submission
from tests.racing import client_of, of_type, race, server_errors
from tests.reviews.test_review_operations import FULL

DUE = dt.date.today() + dt.timedelta(days=30)


def _panel(admin: Any, pool: Any, accepted: bool = False) -> list[Assignment]:
    members = [(e.id, 0.5, {}) for e in pool.members[:2]]
    created = ops.assign_panel(db.session, admin, pool.submission, members, [], DUE)
    if accepted:
        for assignment in created:
            ops.accept(db.session, _user_of(assignment), assignment, no_conflict=True)
    db.session.commit()
    return created


def _user_of(assignment: Assignment) -> User:
    return db.session.get(User, assignment.expert.user_id)


def _status_steps(submission_id: int) -> list[list[str]]:
    rows = db.session.scalars(
        select(AuditLog).where(
            AuditLog.entity_type == "Submission", AuditLog.entity_id == submission_id
        )
    )
    return [row.changes["status"] for row in rows if "status" in row.changes]


def test_two_acceptances_at_once_are_both_kept(app: Any, admin: Any, pool: Any) -> None:
    a1, a2 = _panel(admin, pool)
    u1, u2 = _user_of(a1), _user_of(a2)
    with Session(db.engine) as first, Session(db.engine) as second:
        mine = second.get(Assignment, a2.id)
        assert mine.submission.status == "assigned"  # the second reads before the first writes
        ops.accept(first, u1, first.get(Assignment, a1.id), no_conflict=True)
        first.commit()
        ops.accept(second, u2, mine, no_conflict=True)
        second.commit()  # was StaleDataError on the submission
        assert mine.submission.status == "in_review"
    db.session.expire_all()
    assert {db.session.get(Assignment, a.id).status for a in (a1, a2)} == {"accepted"}
    submission = db.session.get(Submission, pool.submission.id)
    assert submission.status == "in_review"
    assert ["assigned", "in_review"] in _status_steps(submission.id)
    assert _status_steps(submission.id).count(["assigned", "in_review"]) == 1


def test_an_acceptance_leaves_an_open_edit_form_of_the_submission_valid(
    app: Any, admin: Any, pool: Any
) -> None:
    """The status step is the workflow's, not an edit: an administrator's form stays current."""
    a1, _a2 = _panel(admin, pool)
    version = pool.submission.version
    ops.accept(db.session, _user_of(a1), a1, no_conflict=True)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Submission, pool.submission.id).version == version


def test_the_last_two_reviews_submitted_at_once_complete_the_submission(
    app: Any, admin: Any, pool: Any
) -> None:
    a1, a2 = _panel(admin, pool, accepted=True)
    u1, u2 = _user_of(a1), _user_of(a2)
    with Session(db.engine) as first, Session(db.engine) as second:
        mine = second.get(Assignment, a2.id)
        other = second.get(Assignment, a1.id)
        assert other.status == "accepted"  # the second has seen the first still reviewing
        ops.save_review(
            first, u1, first.get(Assignment, a1.id), FULL, submit=True, expected_version=0
        )
        first.commit()
        ops.save_review(second, u2, mine, FULL, submit=True, expected_version=0)
        second.commit()
    db.session.expire_all()
    assert db.session.get(Submission, pool.submission.id).status == "completed"


def _accept(client: Any, assignment: Assignment) -> Any:
    url, version = f"/reviews/assignments/{assignment.id}/accept", assignment.version
    return lambda: client.post(url, data={"version": version, "no_conflict": "y"})


def test_two_experts_accepting_through_the_web_at_once(app: Any, admin: Any, pool: Any) -> None:
    a1, a2 = _panel(admin, pool)
    accepts = [_accept(client_of(app, _user_of(a).username), a) for a in (a1, a2)]
    outcomes = race(app, accepts, lambda s: of_type(s, Assignment))
    assert not server_errors(outcomes), outcomes
    assert [o.status for o in outcomes] == [302, 302]
    assert all(o.location.endswith("/review") for o in outcomes)
    db.session.expire_all()
    assert {db.session.get(Assignment, a.id).status for a in (a1, a2)} == {"accepted"}
    assert db.session.get(Submission, pool.submission.id).status == "in_review"
