"""Operations of the expert pool: life cycle, approvals, optimistic locking, institutions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts import institutions
from expertpool.experts import operations as ops
from expertpool.experts.constants import Status
from expertpool.experts.models import PendingChange


def test_institution_aliases_resolve_to_one_row(app):
    nim = institutions.get_or_create(db.session, "中国计量科学研究院", "北京市", "北京市")
    institutions.add_alias(db.session, nim, "中国计量院")
    institutions.add_alias(db.session, nim, "NIM")
    assert institutions.resolve(db.session, "中国计量院") is nim
    assert institutions.resolve(db.session, " nim ") is nim  # case and spaces folded
    assert institutions.resolve(db.session, "中国计量院（北京）") is None
    assert institutions.get_or_create(db.session, "中国计量院") is nim


def test_application_vetting_approval_sets_term(app, admin, make_expert):
    expert = make_expert(status=Status.APPLICANT)
    ops.change_status(db.session, admin, expert, "start_vetting")
    ops.change_status(
        db.session, admin, expert, "approve", term_start=dt.date(2026, 1, 1), term_years=5
    )
    assert expert.status == Status.ACTIVE
    assert expert.term_end == dt.date(2030, 12, 31)
    assert [e.to_status for e in expert.status_events] == ["applicant", "vetting", "active"]


def test_reject_needs_reason_and_removes(app, admin, make_expert):
    expert = make_expert(status=Status.VETTING)
    with pytest.raises(ops.ExpertError):
        ops.change_status(db.session, admin, expert, "reject", reason="  ")
    ops.change_status(db.session, admin, expert, "reject", reason="职称不符合要求")
    assert expert.status == Status.REMOVED and expert.status_reason == "职称不符合要求"


def test_renewal_continues_the_term_without_gap(app, admin, make_expert):
    expert = make_expert(term_start=dt.date(2021, 12, 1), term_end=dt.date(2026, 11, 30))
    ops.change_status(db.session, admin, expert, "renew")
    assert expert.term_start == dt.date(2026, 12, 1)
    assert expert.term_end == dt.date(2031, 11, 30)


@pytest.mark.parametrize(
    "status,action",
    [
        (Status.REMOVED, "reinstate"),
        (Status.ACTIVE, "approve"),
        (Status.RETIRED, "suspend"),
        (Status.APPLICANT, "suspend"),
        (Status.SUSPENDED, "renew"),
    ],
)
def test_impossible_transitions_are_refused(app, admin, make_expert, status, action):
    expert = make_expert(status=status)
    with pytest.raises(ops.InvalidTransition):
        ops.change_status(db.session, admin, expert, action, reason="x")
    assert expert.status == status


def test_suspend_and_reinstate(app, admin, make_expert):
    expert = make_expert()
    ops.change_status(db.session, admin, expert, "suspend", reason="审评意见严重失实")
    assert expert.status == Status.SUSPENDED
    ops.change_status(db.session, admin, expert, "reinstate", reason="整改完成")
    assert expert.status == Status.ACTIVE


def test_stale_version_is_refused(app, admin, make_expert):
    expert = make_expert()
    old_version = expert.version
    ops.update_ordinary(db.session, admin, expert, {"department": "化学所"}, old_version)
    db.session.commit()
    assert expert.version == old_version + 1
    with pytest.raises(ops.StaleEdit):
        ops.update_ordinary(db.session, admin, expert, {"department": "物理所"}, old_version)
    assert expert.department == "化学所"


def test_expert_review_field_change_waits_for_approval(app, admin, make_user, make_expert):
    user = make_user(Role.EXPERT)
    expert = make_expert(categories=[8], specialties={"analyte": ["铅"]}, user_id=user.id)
    wanted = ops.ReviewFields(
        categories=[8, 10], specialties={"analyte": ["铅", "三聚氰胺"]}, metrology_competent=True
    )
    change = ops.request_review_fields(db.session, user, expert, wanted, expert.version)
    assert change is not None and change.status == "pending"
    assert expert.category_codes == [8]  # nothing applied yet
    assert change.before["categories"] == [8] and change.after["categories"] == [8, 10]
    ops.decide_change(db.session, admin, change, approve=True)
    assert expert.category_codes == [8, 10]
    assert expert.specialties_of("analyte") == ["铅", "三聚氰胺"]
    assert expert.metrology_competent


def test_rejected_change_leaves_record_and_needs_reason(app, admin, make_user, make_expert):
    user = make_user(Role.EXPERT)
    expert = make_expert(user_id=user.id)
    change = ops.request_institution(
        db.session, user, expert, "广东省计量科学研究院", expert.version
    )
    with pytest.raises(ops.ExpertError):
        ops.decide_change(db.session, admin, change, approve=False, reason="")
    ops.decide_change(db.session, admin, change, approve=False, reason="未提供证明材料")
    assert expert.institution.name == "中国计量科学研究院"
    with pytest.raises(ops.ExpertError):
        ops.decide_change(db.session, admin, change, approve=True)


def test_institution_change_keeps_former_employer(app, admin, make_user, make_expert):
    user = make_user(Role.EXPERT)
    expert = make_expert(user_id=user.id)
    change = ops.request_institution(
        db.session, user, expert, "广东省计量科学研究院", expert.version
    )
    ops.decide_change(db.session, admin, change, approve=True)
    assert expert.institution.name == "广东省计量科学研究院"
    assert [e.institution.name for e in expert.employments] == ["中国计量科学研究院"]


def test_new_request_supersedes_older_pending(app, make_user, make_expert):
    user = make_user(Role.EXPERT)
    expert = make_expert(user_id=user.id)
    first = ops.request_institution(db.session, user, expert, "甲单位", expert.version)
    second = ops.request_institution(db.session, user, expert, "乙单位", expert.version)
    assert first.status == "superseded" and second.status == "pending"
    pending = db.session.scalars(
        select(PendingChange).where(PendingChange.status == "pending")
    ).all()
    assert pending == [second]


def test_admin_applies_review_fields_directly(app, admin, make_expert):
    expert = make_expert(categories=[1])
    change = ops.request_review_fields(
        db.session,
        admin,
        expert,
        ops.ReviewFields(categories=[2], specialties={}, metrology_competent=False),
        expert.version,
    )
    assert change is None and expert.category_codes == [2]


def test_unknown_category_refused(app, admin, make_expert):
    expert = make_expert()
    with pytest.raises(ops.ExpertError):
        ops.request_review_fields(
            db.session,
            admin,
            expert,
            ops.ReviewFields(categories=[14], specialties={}, metrology_competent=False),
            expert.version,
        )


def test_rating_bounds(app, admin, make_expert):
    expert = make_expert()
    with pytest.raises(ops.ExpertError):
        ops.record_assessment(db.session, admin, expert, "review_quality", 2026, 6)
    ops.record_assessment(db.session, admin, expert, "review_quality", 2026, 4, "意见详实")
    assert [a.rating for a in expert.assessments] == [4]


def test_unavailable_period_must_be_ordered(app, admin, make_expert):
    expert = make_expert()
    with pytest.raises(ops.ExpertError):
        ops.add_part(
            db.session,
            admin,
            expert,
            "unavailable",
            {"start": dt.date(2026, 5, 1), "end": dt.date(2026, 4, 1), "reason": "出国"},
        )


def test_over_long_specialty_refused(app, admin, make_expert):
    expert = make_expert()
    fields = ops.ReviewFields(
        categories=[8], specialties={"analyte": ["长" * 65]}, metrology_competent=False
    )
    with pytest.raises(ops.ExpertError):
        ops.request_review_fields(db.session, admin, expert, fields, expert.version)
    assert expert.specialties_of("analyte") == []
