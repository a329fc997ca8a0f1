"""The pool snapshot: the same ranking as loading the pool in every request, and current after
every change, whichever path made it and whichever process asks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from expertpool import create_app
from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.core.assignment.constraints import CODES, ExpertTable
from expertpool.core.assignment.names import certain_keys
from expertpool.db import db, utcnow
from expertpool.experts import institutions
from expertpool.experts import operations as ops
from expertpool.experts.models import (
    ConflictOfInterest,
    DevelopedRM,
    Employment,
    Expert,
    UnavailablePeriod,
)
from expertpool.matching import service
from expertpool.matching.service import rank
from expertpool.matching.snapshot import PARTS, Pool, bump
from expertpool.reviews.eligibility import expert_record, file_records, rules_from_config
from expertpool.reviews.models import Assignment
from expertpool.reviews.operations import assign_panel
from expertpool.submissions.models import Submission
from tests.support.legacy_ranking import legacy_rank

from .conftest import TERM

TODAY = dt.date.today()
APPLICANT = "广东省计量科学研究院"
SOIL = {"analyte": ["铅", "镉"], "matrix": ["土壤"], "technique": ["ICP-MS"]}


@pytest.fixture
def recusal(app: Any, admin: Any, pool: dict, make_expert: Callable, make_submission: Callable):
    """The matching pool plus an expert for each recusal rule, a tie and several reasons at once.

    The submission to rank is a reproduction of GBW 08301 by 广东省计量科学研究院 (also known
    as 广东计量院), naming 王强; a yearly load cap of 2.
    """
    app.config["MATCH_LOAD_CAP_PER_YEAR"] = 2
    applicant = institutions.get_or_create(db.session, APPLICANT)
    institutions.add_alias(db.session, applicant, "广东计量院")
    db.session.commit()

    def expert(name: str, institution: str = "华南理工大学", **extra: Any) -> Expert:
        values = {"province": "广东省", "categories": [8], "specialties": SOIL, **TERM}
        values.update(summary="土壤中重金属铅镉的测定与标准物质研制", **extra)
        return make_expert(name=name, institution=institution, **values)

    experts = dict(pool)
    experts.update(
        alias=expert("别名同单位", institution="广东计量院"),
        conflict_institution=expert("声明单位冲突"),
        conflict_person=expert("声明个人冲突"),
        developer=expert("研制者"),
        recent=expert("近期雇员"),
        current=expert("现雇员"),
        former=expert("早年雇员"),
        away=expert("外出"),
        retired=expert("任期已满", term_end=TODAY - dt.timedelta(days=1)),
        future=expert("尚未开始", term_start=TODAY + dt.timedelta(days=400)),
        busy=expert("满负荷"),
        twin_a=expert("孪生甲"),
        twin_b=expert("孪生乙"),
        several=expert("多重", institution=APPLICANT, status="suspended"),
        other_field=expert("别的类别", categories=[10], specialties={"analyte": ["三聚氰胺"]}),
        # Specialties that contain a submission's term (铅同位素 ⊃ 铅) or lie inside one (ICP in
        # ICP-MS), in another spelling (ｉｃｐ-ms): the overlap rule reads both directions.
        partial=expert("部分覆盖", specialties={"analyte": ["铅同位素"], "technique": ["ｉｃｐ"]}),
    )
    db.session.add_all(
        [
            ConflictOfInterest(
                expert_id=experts["conflict_institution"].id,
                kind="institution",
                institution_id=applicant.id,
            ),
            ConflictOfInterest(
                expert_id=experts["conflict_person"].id, kind="person", person_name="王 强"
            ),
            ConflictOfInterest(expert_id=experts["several"].id, kind="person", person_name="王强"),
            DevelopedRM(expert_id=experts["developer"].id, gbw_number="gbw08301"),
            Employment(
                expert_id=experts["recent"].id,
                institution_id=applicant.id,
                start=TODAY - dt.timedelta(days=3000),
                end=TODAY - dt.timedelta(days=400),
            ),
            Employment(expert_id=experts["current"].id, institution_id=applicant.id),
            Employment(
                expert_id=experts["former"].id,
                institution_id=applicant.id,
                end=TODAY - dt.timedelta(days=3650),
            ),
            UnavailablePeriod(
                expert_id=experts["away"].id,
                start=TODAY + dt.timedelta(days=20),
                end=TODAY + dt.timedelta(days=30),
            ),
        ]
    )
    for n in range(2):
        other = make_submission(title=f"别的申请 {n}", applicant_institution="北京大学")
        db.session.add(
            Assignment(
                submission_id=other.id,
                expert_id=experts["busy"].id,
                status="invited",
                invited_at=utcnow(),
                role="member",
                rank=1,
            )
        )
    db.session.commit()
    return experts


@pytest.fixture
def stamped(app: Any, recusal: dict) -> None:
    """Every part has its stamp row, as in a database the migrations built (a part that has
    none is never cached, so these tests would pass without any stamp moving)."""
    for part in PARTS:
        bump(db.session, part)
    db.session.commit()


def _submission(make_submission: Callable) -> Any:
    return make_submission(
        review_type="reproduction", gbw_number="GBW 08301", applicant_people=["王强"]
    )


def _required_course(admin: User) -> Any:
    from courses import operations as courses

    course = courses.create_course(
        db.session,
        admin,
        {
            "slug": "review-rules",
            "title": "审评规则",
            "language": "zh",
            "topic": "homogeneity_stability",
            "audience": ["reviewer"],
            "level": "intermediate",
            "hours": 2,
            "instructor": "王建平",
            "required_for_experts": True,
        },
    )
    chapter = courses.add_chapter(db.session, course, "第一章")
    courses.save_lesson(
        db.session, chapter, None, title="1.1", kind="text", minutes=10, markdown="审评规则"
    )
    courses.set_status(db.session, admin, course, True)
    db.session.commit()
    return course


def _certify(admin: User, make_user: Callable, expert: Expert, course: Any) -> None:
    from courses import operations as courses

    user = make_user(Role.EXPERT)
    expert.user_id = user.id
    enrollment = courses.enrol(db.session, admin, course, learner=user)
    courses.issue_certificate(db.session, enrollment)
    db.session.commit()


def _reasons(ranking: Any) -> dict[int, list[str]]:
    return {c.expert.id: [e.code for e in c.exclusions] for c in ranking.excluded}


def test_file_records_equal_the_records_of_each_loaded_expert(app, recusal):
    records = file_records(db.session)
    experts = db.session.scalars(select(Expert).order_by(Expert.id)).all()
    assert [r.id for r in records] == [e.id for e in experts] and len(records) > 20
    for record, expert in zip(records, experts, strict=True):
        assert record == expert_record(db.session, expert, TODAY, load=0)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"MATCH_REQUIRE_CATEGORY": True},
        {"MATCH_REQUIRE_TRAINING": True},
        {"MATCH_SEMANTIC_MINMAX": False, "MATCH_KEYWORD_PAIRS": 0},
    ],
)
def test_ranking_equals_loading_the_pool_in_every_request(
    app, admin, make_user, recusal, make_submission, settings
):
    app.config.update(settings)
    if settings.get("MATCH_REQUIRE_TRAINING"):
        _certify(admin, make_user, recusal["soil2"], _required_course(admin))
    submission = _submission(make_submission)
    rules = rules_from_config(app.config)
    for k, skip in ((50, ()), (3, (recusal["soil1"].id, recusal["busy"].id))):
        new = rank(
            db.session, submission, rules, today=TODAY, k=k, skip_ids=skip, excluded_per_page=999
        )
        old = legacy_rank(db.session, submission, rules, TODAY, k=k, skip_ids=skip)
        assert [(c.expert.id, c.score) for c in new.candidates] == old["candidates"]
        assert [
            (c.expert.id, c.score, [e.code for e in c.exclusions]) for c in new.excluded
        ] == old["excluded"]
        assert new.excluded_total == len(old["excluded"])
        counts = Counter(code for _id, _score, codes in old["excluded"] for code in codes)
        assert list(new.excluded_counts.items()) == [(c, counts[c]) for c in CODES if counts[c]]
        assert new.panel == old["panel"]
        explanations = {c.expert.id: c.explanation.as_dict() for c in new.candidates}
        assert explanations == old["explanations"]

    # The constructed cases do what they are there for.
    reasons = _reasons(rank(db.session, submission, rules, today=TODAY, excluded_per_page=999))
    expected = {
        "alias": ["same_institution"],
        "conflict_institution": ["declared_conflict"],
        "conflict_person": ["declared_conflict"],
        "developer": ["developed_rm"],
        "recent": ["recent_employment"],
        "current": ["recent_employment"],
        "away": ["unavailable"],
        "retired": ["term_ended"],
        "future": ["term_not_started"],
        "busy": ["load_cap"],
        "several": ["not_active", "same_institution", "declared_conflict"],
    }
    for name, codes in expected.items():
        extra = []
        if settings.get("MATCH_REQUIRE_TRAINING"):
            extra = ["training_missing"]
        assert reasons[recusal[name].id] == codes + extra, name
    assert recusal["former"].id not in reasons or settings.get("MATCH_REQUIRE_TRAINING")
    if settings.get("MATCH_REQUIRE_CATEGORY"):
        assert reasons[recusal["other_field"].id] == ["category_mismatch"]
    if settings.get("MATCH_REQUIRE_TRAINING"):
        assert recusal["soil2"].id not in reasons


def test_twins_tie_and_keep_the_pool_order(app, recusal, make_submission):
    ranking = rank(db.session, _submission(make_submission), rules_from_config(app.config))
    scores = {c.expert.id: (i, c.score) for i, c in enumerate(ranking.candidates)}
    a, b = scores[recusal["twin_a"].id], scores[recusal["twin_b"].id]
    assert a[1] == b[1] and a[0] < b[0]


def _pool(app) -> Pool:
    return Pool.load(db.session, TODAY, rules_from_config(app.config))


def test_every_kind_of_change_is_seen_by_the_next_ranking(
    app, admin, recusal, stamped, make_submission
):
    submission = _submission(make_submission)
    rules = rules_from_config(app.config)

    def reasons(name: str) -> list[str] | None:
        ranking = rank(db.session, submission, rules, excluded_per_page=999)
        found = _reasons(ranking).get(recusal[name].id)
        eligible = {c.expert.id for c in ranking.candidates}
        assert (found is None) == (recusal[name].id in eligible)
        return found

    first, again = _pool(app), _pool(app)
    # Nothing changed: the snapshot's parts are kept.
    assert again.experts is first.experts and again.loads is first.loads
    assert again.specialty_data is first.specialty_data
    assert reasons("soil1") is None and reasons("soil3") is None and reasons("stats") is None

    # An edit of the file: a declared conflict.
    ops.add_part(
        db.session, admin, recusal["soil1"], "conflict", {"kind": "person", "person_name": "王强"}
    )
    db.session.commit()
    assert reasons("soil1") == ["declared_conflict"]

    # A status change.
    ops.change_status(db.session, admin, recusal["soil3"], "suspend", reason="调查中")
    db.session.commit()
    assert reasons("soil3") == ["not_active"]

    # A new invitation raises the load to the cap (2): one already held, one more now.
    busy_before = make_submission(title="第三份申请", applicant_institution="北京大学")
    assign_panel(db.session, admin, busy_before, [(recusal["stats"].id, 0.5, {})], [], None)
    db.session.commit()
    assert reasons("stats") is None
    again = make_submission(title="第四份申请", applicant_institution="北京大学")
    assign_panel(db.session, admin, again, [(recusal["stats"].id, 0.5, {})], [], None)
    db.session.commit()
    assert reasons("stats") == ["load_cap"]

    # New review fields: the specialty score follows.
    food = recusal["food"]
    before = rank(db.session, submission, rules).candidate(food.id)
    ops.apply_review_fields(
        food, ops.ReviewFields(categories=[8, 10], specialties=SOIL, metrology_competent=False)
    )
    db.session.commit()
    after = rank(db.session, submission, rules).candidate(food.id)
    assert after.score > before.score
    assert {"铅", "镉", "土壤"} <= set(after.explanation.specialties)


def test_edits_that_no_ranking_rule_reads_keep_the_snapshot(app, admin, recusal, stamped):
    kept = _pool(app)
    expert = recusal["soil1"]
    ops.update_ordinary(db.session, admin, expert, {"summary": "新的简介", "phone": "123"}, None)
    db.session.commit()
    unchanged = _pool(app)
    assert unchanged.experts is kept.experts and unchanged.loads is kept.loads
    # A publication's authors decide co-authorship recusal: it moves the papers part only,
    # so no process re-reads every expert's file for it.
    ops.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "新论文", "language": "zh", "year": 2024, "authors": "欧阳建国"},
    )
    db.session.commit()
    papers = _pool(app)
    assert papers.experts is kept.experts and papers.papers is not kept.papers
    assert papers.record(papers.index[expert.id]).coauthors == (("欧阳建国", "新论文", 2024),)
    row = papers.index[expert.id]
    for key in certain_keys("欧阳建国"):
        assert row in papers.table.coauthor_keys[key][0].tolist()
    kept = papers
    ops.update_ordinary(db.session, admin, expert, {"province": "江苏"}, None)
    db.session.commit()
    changed = _pool(app)
    assert changed.experts is not kept.experts
    assert changed.record(changed.index[expert.id]).province == "江苏省"


def test_the_papers_part_equals_the_records_read_whole(app, admin, recusal, stamped):
    """The snapshot keeps the co-authors apart from the rest of the file; put together they
    are the records and the table that `file_records` gives in one piece."""
    expert = recusal["soil2"]
    for title, authors in (("甲", "欧阳建国, 李四"), ("乙", "Zhang Weimin; 欧阳建国"), ("丙", "")):
        ops.add_part(
            db.session,
            admin,
            expert,
            "publication",
            {"title": title, "language": "zh", "year": 2023, "authors": authors},
        )
    db.session.commit()
    pool = _pool(app)
    whole = file_records(db.session)
    # (file_records leaves the load at 0, the pool adds this year's)
    assert [
        dataclasses.replace(pool.record(i), load_this_year=0) for i in range(len(pool))
    ] == whole
    assert any(r.coauthors for r in whole)
    table = ExpertTable.from_records(whole)
    assert pool.table.coauthor_keys.keys() == table.coauthor_keys.keys()
    for key, (rows, years) in table.coauthor_keys.items():
        assert pool.table.coauthor_keys[key][0].tolist() == rows.tolist()
        assert pool.table.coauthor_keys[key][1].tolist() == years.tolist()


def test_a_renamed_expert_is_compared_with_the_authors_again(app, admin, recusal, stamped):
    """The name decides which author is the expert: a rename moves the papers part."""
    expert = recusal["soil2"]
    ops.add_part(
        db.session,
        admin,
        expert,
        "publication",
        {"title": "合著", "language": "zh", "year": 2024, "authors": "欧阳建国"},
    )
    db.session.commit()
    before = _pool(app)
    assert before.record(before.index[expert.id]).coauthors == (("欧阳建国", "合著", 2024),)
    expert.name = "欧阳建国"
    db.session.commit()
    after = _pool(app)
    assert after.experts is before.experts and after.papers is not before.papers
    assert after.record(after.index[expert.id]).coauthors == ()


def test_a_transaction_sees_its_own_change_and_a_rollback_leaves_no_trace(
    app, admin, recusal, stamped, make_submission
):
    submission = _submission(make_submission)
    rules = rules_from_config(app.config)
    kept = _pool(app)
    ops.add_part(
        db.session,
        admin,
        recusal["soil1"],
        "conflict",
        {"kind": "institution", "institution": APPLICANT},
    )  # flushed, not committed
    inside = rank(db.session, submission, rules, excluded_per_page=999)
    assert _reasons(inside)[recusal["soil1"].id] == ["declared_conflict"]
    db.session.rollback()
    assert _pool(app).experts is kept.experts  # the uncommitted pool was never cached
    after = rank(db.session, submission, rules, excluded_per_page=999)
    assert recusal["soil1"].id not in _reasons(after)


def test_a_certificate_counts_at_the_next_ranking(
    app, admin, make_user, recusal, stamped, make_submission
):
    app.config["MATCH_REQUIRE_TRAINING"] = True
    course = _required_course(admin)
    submission = _submission(make_submission)
    rules = rules_from_config(app.config)
    ranking = rank(db.session, submission, rules, excluded_per_page=999)
    assert _reasons(ranking)[recusal["soil1"].id] == ["training_missing"]
    _certify(admin, make_user, recusal["soil1"], course)
    ranking = rank(db.session, submission, rules, excluded_per_page=999)
    assert recusal["soil1"].id not in _reasons(ranking)


def test_a_lapsed_certificate_is_its_own_reason_and_may_be_tolerated(
    app, client, auth, admin, make_user, recusal, stamped, make_submission
):
    from courses.models import Certificate

    app.config["MATCH_REQUIRE_TRAINING"] = True
    course = _required_course(admin)
    course.validity_years = 1
    _certify(admin, make_user, recusal["soil1"], course)
    cert = db.session.scalar(select(Certificate).where(Certificate.course_id == course.id))
    cert.issued_at = utcnow() - dt.timedelta(days=800)
    db.session.commit()
    submission = _submission(make_submission)
    ranking = rank(db.session, submission, rules_from_config(app.config), excluded_per_page=999)
    assert _reasons(ranking)[recusal["soil1"].id] == ["training_lapsed"]
    assert ranking.excluded_counts["training_lapsed"] == 1
    auth.login()
    page = client.get(f"/submissions/{submission.id}/candidates").get_data(as_text=True)
    assert "必修培训已过期" in page or "Required training lapsed" in page
    app.config["MATCH_TRAINING_LAPSED_BLOCKS"] = False
    ranking = rank(db.session, submission, rules_from_config(app.config), excluded_per_page=999)
    assert recusal["soil1"].id not in _reasons(ranking)


def test_two_app_processes_on_one_database_agree(app, admin, recusal, stamped, make_submission):
    """Each app keeps its own snapshot (as each server process does); a change committed
    through one is seen by the other's next ranking."""
    submission_id = _submission(make_submission).id
    other = create_app(
        {k: app.config[k] for k in ("TESTING", "DATABASE_URL", "SECRET_KEY", "EMBEDDING_MODEL")}
        | {"MATCH_LOAD_CAP_PER_YEAR": 2},
        instance_path=app.instance_path,
    )
    expert_id = recusal["soil1"].id

    def reasons_on_other() -> list[str] | None:
        with other.app_context():
            submission = db.session.get(Submission, submission_id)
            ranking = rank(db.session, submission, rules_from_config(other.config))
            found = _reasons(ranking).get(expert_id)
            db.session.remove()
            return found

    assert reasons_on_other() is None  # warm: the other app has its snapshot now
    ops.change_status(db.session, admin, recusal["soil1"], "suspend", reason="调查中")
    db.session.commit()
    assert reasons_on_other() == ["not_active"]


def test_the_page_pages_the_excluded_experts_and_counts_each_reason(
    client, auth, recusal, make_submission, monkeypatch
):
    monkeypatch.setattr(service, "EXCLUDED_SHOWN", 4)
    submission = _submission(make_submission)
    auth.login()

    def page(n: int) -> str:
        url = f"/submissions/{submission.id}/candidates?page={n}"
        return client.get(url).get_data(as_text=True)

    first, second = page(1), page(2)
    total = int(re.search(r"(\d+) experts excluded</a>", first).group(1))
    assert total == 13  # the suspended expert of the pool, same institution and the 11 above

    def listed(html: str) -> list[str]:
        body = html[html.index('id="excluded"') :].split("<tbody>")[1].split("</tbody>")[0]
        return re.findall(r'/experts/(\d+)"', body)

    assert len(listed(first)) == 4 and len(listed(second)) == 4
    assert not set(listed(first)) & set(listed(second))
    assert f'href="/submissions/{submission.id}/candidates?page=2#excluded"' in first
    counts = dict(re.findall(r'data-code="(\w+)">[^<]*: (\d+)<', first))
    assert counts["declared_conflict"] == "3" and counts["same_institution"] == "3"
    assert counts["load_cap"] == "1" and "category_mismatch" not in counts
