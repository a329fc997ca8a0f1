"""Review operations at their edges: refusals, replacements, completion, the board."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts.models import ConflictOfInterest
from expertpool.matching.models import ReviewRound
from expertpool.reviews import operations as ops
from expertpool.reviews.models import Assignment, Notification, Review
from expertpool.submissions.operations import withdraw_submission

DUE = dt.date.today() + dt.timedelta(days=30)
FULL = {
    "homogeneity": "satisfactory",
    "stability": "satisfactory",
    "value_assignment": "satisfactory",
    "uncertainty": "satisfactory",
    "traceability": "satisfactory",
    "certificate_label": "satisfactory",
    "recommendation": "approve",
    "summary": "可以批准。",
}


def _user(expert: Any) -> Any:
    from expertpool.accounts.models import User

    return db.session.get(User, expert.user_id)


def _ids(experts: list[Any]) -> list[tuple[int, float, dict[str, Any]]]:
    return [(e.id, 0.5, {}) for e in experts]


def test_assign_panel_refuses_an_ineligible_member(
    app: Any, admin: Any, pool: Any, expert_user: Any
) -> None:
    colleague = expert_user("colleague", institution="广东省计量科学研究院")
    with pytest.raises(ops.ReviewError, match=r"colleague \(same_institution\)"):
        ops.assign_panel(
            db.session, admin, pool.submission, _ids([pool.members[0], colleague]), [], DUE
        )
    assert db.session.scalar(select(Assignment)) is None
    # A caller that has just checked a whole round may skip the check.
    round_ = ReviewRound(name="2026 第一轮", created_by_id=admin.id, settings={}, proposal={})
    db.session.add(round_)
    db.session.flush()
    ops.assign_panel(
        db.session,
        admin,
        pool.submission,
        _ids([colleague]),
        [],
        DUE,
        check_eligibility=False,
        round_id=round_.id,
    )
    assignment = db.session.scalar(select(Assignment))
    assert assignment.round_id == round_.id
    db.session.delete(round_)  # the database keeps the assignment, without its round
    db.session.flush()
    db.session.expire(assignment)
    assert assignment.round_id is None


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("twice", "listed twice"),
        ("nobody", "at least one"),
        ("past", "in the past"),
        ("missing", "No expert"),
    ],
)
def test_assign_panel_refusals(app: Any, admin: Any, pool: Any, case: str, fragment: str) -> None:
    e1 = pool.members[0]
    members, due = {
        "twice": (_ids([e1, e1]), DUE),
        "nobody": ([], DUE),
        "past": (_ids([e1]), dt.date.today() - dt.timedelta(days=1)),
        "missing": ([(999, 0.1, {})], DUE),
    }[case]
    with pytest.raises(ops.ReviewError, match=fragment):
        ops.assign_panel(db.session, admin, pool.submission, members, [], due)


def test_assign_panel_tops_up_and_refuses_experts_already_listed(
    app: Any, admin: Any, pool: Any
) -> None:
    first = ops.assign_panel(
        db.session, admin, pool.submission, _ids(pool.members[:2]), _ids(pool.alternates[:1]), DUE
    )
    more = ops.assign_panel(
        db.session, admin, pool.submission, _ids(pool.members[2:]), _ids(pool.alternates[1:]), DUE
    )
    assert [(a.role, a.rank) for a in first + more] == [
        ("member", 1),
        ("member", 2),
        ("alternate", 1),
        ("member", 3),
        ("alternate", 2),
    ]
    with pytest.raises(ops.ReviewError, match="already on this submission"):
        ops.assign_panel(db.session, admin, pool.submission, _ids(pool.members[:1]), [], DUE)


def test_closed_submission_gets_no_panel(app: Any, admin: Any, pool: Any) -> None:
    withdraw_submission(db.session, admin, pool.submission, "撤回")
    with pytest.raises(ops.ReviewError, match="closed"):
        ops.assign_panel(db.session, admin, pool.submission, _ids(pool.members), [], DUE)


def test_only_the_invited_expert_answers(app: Any, admin: Any, pool: Any) -> None:
    a1, _a2, _a3 = ops.assign_panel(db.session, admin, pool.submission, _ids(pool.members), [], DUE)
    stranger = _user(pool.members[1])
    with pytest.raises(ops.ReviewError, match="another expert"):
        ops.accept(db.session, stranger, a1, no_conflict=True)
    with pytest.raises(ops.StaleEdit):
        ops.accept(
            db.session,
            _user(pool.members[0]),
            a1,
            no_conflict=True,
            expected_version=a1.version - 1,
        )
    ops.accept(db.session, _user(pool.members[0]), a1, no_conflict=True)
    with pytest.raises(ops.ReviewError, match="no longer open"):
        ops.decline(db.session, _user(pool.members[0]), a1, "改主意")


def test_accept_route_of_someone_else_is_404(app: Any, admin: Any, pool: Any, sign_in: Any) -> None:
    a1, *_rest = ops.assign_panel(db.session, admin, pool.submission, _ids(pool.members), [], DUE)
    db.session.commit()
    client = sign_in("e2")
    response = client.post(f"/reviews/assignments/{a1.id}/accept", data={"no_conflict": "y"})
    assert response.status_code == 404
    db.session.refresh(a1)
    assert a1.status == "invited"


def test_declined_with_no_alternate_left_tells_the_administrators(
    app: Any, admin: Any, pool: Any
) -> None:
    e1, alt = pool.members[0], pool.alternates[0]
    a1, spare = ops.assign_panel(db.session, admin, pool.submission, _ids([e1]), _ids([alt]), DUE)
    # The alternate declares a conflict with the applicant's person before their turn.
    db.session.add(ConflictOfInterest(expert_id=alt.id, kind="person", person_name="王强"))
    db.session.flush()
    assert ops.decline(db.session, _user(e1), a1, "时间冲突") is None
    assert spare.status == "withdrawn"
    assert spare.exclusions[0]["code"] == "declared_conflict"
    note = db.session.scalar(select(Notification).where(Notification.kind == "no_alternate"))
    assert note.user_id == admin.id and note.link == f"/submissions/{pool.submission.id}"


def test_administrator_withdraws_a_member_and_the_alternate_steps_in(
    app: Any, admin: Any, pool: Any
) -> None:
    e1, alt = pool.members[0], pool.alternates[0]
    a1, spare = ops.assign_panel(db.session, admin, pool.submission, _ids([e1]), _ids([alt]), DUE)
    with pytest.raises(ops.ReviewError, match="reason"):
        ops.withdraw(db.session, admin, a1, "")
    invited = ops.withdraw(db.session, admin, a1, "利益冲突举报")
    assert invited is spare and spare.status == "invited"
    assert spare.due_date >= dt.date.today() + dt.timedelta(days=14)
    told = db.session.scalar(select(Notification).where(Notification.kind == "withdrawn"))
    assert told.expert_id == e1.id and "利益冲突举报" in told.body


def test_withdrawing_the_submission_closes_its_panel(app: Any, admin: Any, pool: Any) -> None:
    created = ops.assign_panel(
        db.session, admin, pool.submission, _ids(pool.members[:2]), _ids(pool.alternates[:1]), DUE
    )
    assert ops.open_panel_count(db.session, pool.submission) == 3
    # the reviews feature receives `submission_withdrawn`; submissions never calls it
    withdraw_submission(db.session, admin, pool.submission, "申请人撤回")
    assert {a.status for a in created} == {"withdrawn"}
    assert ops.open_panel_count(db.session, pool.submission) == 0
    assert ops.close_submission(db.session, admin, pool.submission, "again") == 0
    assert (
        db.session.scalar(
            select(Notification).where(
                Notification.kind == "withdrawn", Notification.expert_id == pool.alternates[0].id
            )
        )
        is None
    )  # an alternate never invited is not bothered


def test_submission_completes_with_its_last_review(app: Any, admin: Any, pool: Any) -> None:
    e1, e2 = pool.members[:2]
    a1, a2 = ops.assign_panel(db.session, admin, pool.submission, _ids([e1, e2]), [], DUE)
    for expert, assignment in ((e1, a1), (e2, a2)):
        ops.accept(db.session, _user(expert), assignment, no_conflict=True)
    ops.save_review(db.session, _user(e1), a1, FULL, submit=True, expected_version=0)
    assert pool.submission.status == "in_review"
    with pytest.raises(ops.ReviewError, match="no longer be changed"):
        ops.save_review(db.session, _user(e1), a1, FULL, submit=False, expected_version=None)
    ops.save_review(db.session, _user(e2), a2, FULL, submit=True, expected_version=0)
    assert pool.submission.status == "completed"
    assert (
        len(
            db.session.scalars(
                select(Notification).where(Notification.kind == "review_submitted")
            ).all()
        )
        == 2
    )


def test_rating_needs_a_submitted_review_and_a_valid_mark(app: Any, admin: Any, pool: Any) -> None:
    e1 = pool.members[0]
    (a1,) = ops.assign_panel(db.session, admin, pool.submission, _ids([e1]), [], DUE)
    ops.accept(db.session, _user(e1), a1, no_conflict=True)
    review = ops.save_review(
        db.session, _user(e1), a1, {"summary": "草稿"}, submit=False, expected_version=0
    )
    with pytest.raises(ops.ReviewError, match="submitted review"):
        ops.rate_review(db.session, admin, review, 4)
    ops.save_review(db.session, _user(e1), a1, FULL, submit=True, expected_version=review.version)
    with pytest.raises(ops.ReviewError, match="between 1 and 5"):
        ops.rate_review(db.session, admin, review, 6)
    assert review.quality_rating is None
    assessment = ops.rate_review(db.session, admin, review, 5)
    assert review.quality_assessment_id == assessment.id


def test_board_highlights_overdue_reviews(
    app: Any, admin: Any, pool: Any, sign_in: Any, make_submission: Any
) -> None:
    e1, e2 = pool.members[:2]
    late, _on_time = ops.assign_panel(db.session, admin, pool.submission, _ids([e1, e2]), [], DUE)
    ops.accept(db.session, _user(e1), late, no_conflict=True)
    late.due_date = dt.date.today() - dt.timedelta(days=3)
    quiet = make_submission(title="另一项申请")
    ops.assign_panel(db.session, admin, quiet, _ids(pool.alternates[:1]), [], DUE)
    db.session.commit()
    client = sign_in("admin")
    page = client.get("/reviews/board").get_data(as_text=True)
    assert 'data-count="overdue">1<' in page and 'data-count="invited">2<' in page
    assert "e1 · Accepted · overdue" in page and "另一项申请" in page
    only_late = client.get("/reviews/board?overdue=1").get_data(as_text=True)
    assert pool.submission.title in only_late and "另一项申请" not in only_late
    assert '<script type="application/json" id="board-data">' in page
    detail = client.get(f"/submissions/{pool.submission.id}").get_data(as_text=True)
    assert 'class="table-danger"' in detail


def test_the_review_model_lists_its_criteria(app: Any) -> None:
    review = Review(homogeneity="minor", homogeneity_comment="x")
    assert review.criteria()[0] == ("homogeneity", "minor", "x")
    assert [name for name, _v, _c in review.criteria()][-1] == "certificate_label"


def test_expert_pages_need_an_expert_record(app: Any, make_user: Any, sign_in: Any) -> None:
    make_user(Role.EXPERT, username="bare")
    client = sign_in("bare")
    assert client.get("/reviews/invitations").status_code == 404
    assert client.get("/inbox").status_code == 200


def test_the_dossier_is_for_the_invited_or_accepted_reviewer_only(
    app: Any, admin: Any, pool: Any, sign_in: Any
) -> None:
    from expertpool.submissions.operations import add_attachment

    e1, e2, e3 = pool.members[:3]
    a1, _a2, a3 = ops.assign_panel(db.session, admin, pool.submission, _ids([e1, e2, e3]), [], DUE)
    doc = add_attachment(
        db.session,
        admin,
        pool.submission,
        "定值报告.txt",
        "定值数据".encode(),
        app.config["UPLOAD_FOLDER"],
    )
    db.session.commit()
    url = f"/reviews/assignments/{a1.id}/attachments/{doc.id}"
    client = sign_in("e1")
    # Invited: the files are there to judge a conflict of interest before answering.
    response = client.get(url)
    assert response.status_code == 200
    response.close()
    ops.accept(db.session, _user(e1), a1, no_conflict=True)
    db.session.commit()
    assert "定值报告.txt" in client.get(f"/reviews/assignments/{a1.id}/review").get_data(True)
    response = client.get(url)
    assert response.status_code == 200 and response.data == "定值数据".encode()
    response.close()
    assert sign_in("e2").get(url).status_code == 404  # someone else's assignment
    ops.decline(db.session, _user(e3), a3, "不便参加")
    db.session.commit()
    declined = f"/reviews/assignments/{a3.id}/attachments/{doc.id}"
    assert sign_in("e3").get(declined).status_code == 404  # declined: no longer theirs to read
