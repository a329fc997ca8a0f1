"""Home pages: each role's part shows the right items, built from constructed data."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from courses import operations as ops
from courses.queries import recommended_courses
from expertpool.accounts.models import User
from expertpool.core.access import Role
from expertpool.db import db
from expertpool.experts import operations as expert_ops
from expertpool.reviews import operations as review_ops

TODAY = dt.date.today()


def _page(client: Any, url: str = "/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _continue_href(page: str, slug: str) -> str:
    block = page.split(f'data-course="{slug}"', 1)[1]
    return re.search(r'data-continue href="([^"]+)"', block).group(1)


def _queue_card(page: str, key: str) -> str:
    return page.split(f'data-queue="{key}"', 1)[1].split("</div></div></div>", 1)[0]


# --- the learner ------------------------------------------------------------------------------


def test_continue_opens_the_next_unfinished_lesson_with_a_progress_bar(
    client: Any, login: Any, trainee: Any, make_course: Any
) -> None:
    course = make_course(lessons=3)
    enrollment = ops.enrol(db.session, trainee, course)
    first, second, _third = course.lessons
    ops.mark_done(db.session, enrollment, first)
    db.session.commit()
    login(trainee)
    page = _page(client)
    assert _continue_href(page, course.slug) == f"/courses/{course.slug}/lessons/{second.id}"
    block = page.split(f'data-course="{course.slug}"', 1)[1]
    assert 'aria-valuenow="33"' in block and "1 of 3 lessons" in block


def test_continue_opens_the_quiz_once_every_lesson_is_done(
    client: Any, login: Any, trainee: Any, make_course: Any
) -> None:
    course = make_course(lessons=2)
    enrollment = ops.enrol(db.session, trainee, course)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    db.session.commit()
    login(trainee)
    assert _continue_href(_page(client), course.slug) == f"/courses/{course.slug}/quiz"


def test_recommendations_follow_audience_and_what_was_taken(
    app: Any, trainee: Any, make_course: Any
) -> None:
    taken = make_course(title="已学", audience=["regulator"], topic="statistics", tags=["统计"])
    for_me = make_course(title="B 技术员课程", audience=["technician"], topic="traceability")
    also_for_me = make_course(title="A 技术员课程", audience=["technician"], topic="uncertainty")
    related = make_course(title="相关", audience=["regulator"], topic="statistics", tags=[])
    unrelated = make_course(title="无关", audience=["regulator"], topic="certificates", tags=[])
    draft = make_course(title="草稿", audience=["technician"], publish=False)
    ops.enrol(db.session, trainee, taken)
    db.session.commit()
    found = recommended_courses(db.session, trainee)
    # audience matches first (title order), then the course related by topic
    assert [c.id for c in found] == [also_for_me.id, for_me.id, related.id]
    assert unrelated not in found and draft not in found and taken not in found


def test_a_new_learner_is_pointed_at_courses_they_can_start_in_their_language(
    app: Any, trainee: Any, make_course: Any
) -> None:
    entry = make_course(title="Z 入门", audience=["technician"], language="zh", questions=[])
    advanced = make_course(title="A 进阶", audience=["technician"], prerequisites=(entry,))
    english = make_course(title="B English", audience=["technician"], language="en")
    db.session.commit()
    found = recommended_courses(db.session, trainee, language="zh")
    # startable first (the Chinese one before the English one), the advanced course last
    assert [c.id for c in found] == [entry.id, english.id, advanced.id]
    enrollment = ops.enrol(db.session, trainee, entry)
    for lesson in entry.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    db.session.commit()
    assert enrollment.is_completed
    assert recommended_courses(db.session, trainee, language="en")[0].id == english.id


def test_an_expert_is_recommended_reviewer_courses(
    app: Any, make_user: Any, make_course: Any
) -> None:
    reviewer_course = make_course(audience=["reviewer"], topic="review_rules", tags=[])
    make_course(audience=["manager"], topic="iso17034", tags=[])
    user = make_user(Role.EXPERT, audience=None)
    assert [c.id for c in recommended_courses(db.session, user)] == [reviewer_course.id]


def test_certificates_and_hours_this_year(
    client: Any, login: Any, trainee: Any, make_course: Any
) -> None:
    course = make_course(lessons=1, questions=[], hours=4.5)
    enrollment = ops.enrol(db.session, trainee, course)
    certificate = ops.mark_done(db.session, enrollment, course.lessons[0])
    db.session.commit()
    login(trainee)
    page = _page(client)
    certs = page.split('data-list="certificates"', 1)[1].split("</ul>", 1)[0]
    assert certificate.code in certs and f"/certificates/{certificate.code}.pdf" in certs
    assert "4.5 hours this year" in page


def test_assigned_training_lists_its_due_date(
    client: Any, login: Any, admin: Any, trainee: Any, make_course: Any
) -> None:
    course = make_course()
    due = TODAY + dt.timedelta(days=20)
    ops.enrol(db.session, admin, course, learner=trainee, due_date=due)
    db.session.commit()
    login(trainee)
    assigned = _page(client).split('data-list="assigned"', 1)[1].split("</ul>", 1)[0]
    assert course.title in assigned and f"due {due.isoformat()}" in assigned


# --- the expert -------------------------------------------------------------------------------


def _accepted(admin: Any, make_submission: Any, expert: Any, user: Any, due: dt.date) -> Any:
    submission = make_submission(title=f"待审 {due.isoformat()}")
    (assignment,) = review_ops.assign_panel(
        db.session, admin, submission, [(expert.id, 0.9, {})], [], TODAY + dt.timedelta(days=30)
    )
    review_ops.accept(db.session, user, assignment, no_conflict=True)
    assignment.due_date = due
    db.session.commit()
    return assignment


def test_expert_sees_overdue_reviews_first_and_waiting_invitations(
    client: Any,
    sign_in: Any,
    admin: Any,
    make_submission: Any,
    expert_user: Any,
    make_course: Any,
) -> None:
    expert = expert_user("reviewer1")
    user = db.session.get(User, expert.user_id)
    later = _accepted(admin, make_submission, expert, user, TODAY + dt.timedelta(days=9))
    overdue = _accepted(admin, make_submission, expert, user, TODAY - dt.timedelta(days=3))
    invited_to = make_submission(title="邀请中的申请")
    review_ops.assign_panel(
        db.session, admin, invited_to, [(expert.id, 0.9, {})], [], TODAY + dt.timedelta(days=30)
    )
    required = make_course(required=True)
    db.session.commit()
    page = _page(sign_in("reviewer1"))
    due = page.split('data-list="reviews-due"', 1)[1].split("</ul>", 1)[0]
    ids = [int(x) for x in re.findall(r'data-assignment="(\d+)"', due)]
    assert ids == [overdue.id, later.id]
    assert "overdue since" in due.split(f'data-assignment="{later.id}"')[0]
    assert "邀请中的申请" in page.split('data-list="invitations"', 1)[1].split("</ul>", 1)[0]
    training = page.split('data-list="required-training"', 1)[1].split("</ul>", 1)[0]
    assert f'href="/courses/{required.slug}"' in training and "to do" in training


def test_expert_file_state_shows_pending_changes_and_warnings(
    client: Any, sign_in: Any, expert_user: Any, app: Any
) -> None:
    expert = expert_user("filer")
    user = db.session.get(User, expert.user_id)
    change = expert_ops.request_review_fields(
        db.session, user, expert, expert_ops.ReviewFields([8, 10], {}, False), expert.version
    )
    expert.term_end = TODAY + dt.timedelta(days=10)
    expert.file_updated_at = dt.datetime(2000, 1, 1)
    db.session.commit()
    page = _page(sign_in("filer"))
    assert f'data-pending="{change.id}"' in page
    assert 'data-warning="term"' in page and 'data-warning="stale"' in page


def test_required_training_rows_in_my_file_link_to_the_courses(
    client: Any, sign_in: Any, expert_user: Any, make_course: Any
) -> None:
    expert_user("learner2")
    course = make_course(required=True)
    page = _page(sign_in("learner2"), "/me/file")
    assert f'<a href="/courses/{course.slug}">{course.title}</a>' in page


# --- the administrator ------------------------------------------------------------------------


def test_admin_queue_counts_link_to_lists_of_exactly_those_items(
    client: Any,
    login: Any,
    admin: Any,
    make_expert: Any,
    make_submission: Any,
    expert_user: Any,
) -> None:
    for _ in range(2):
        make_expert(status="applicant")
    waiting = [make_submission(title=f"无专家组 {n}") for n in range(3)]
    # one submission with an overdue review, one whose declined invitation found no alternate
    reviewer = expert_user("rev", institution="北京化工大学")
    reviewer_user = db.session.get(User, reviewer.user_id)
    late = _accepted(admin, make_submission, reviewer, reviewer_user, TODAY - dt.timedelta(days=2))
    decliner = expert_user("dec", institution="中国地质科学院")
    short = make_submission(title="缺人")
    (declined,) = review_ops.assign_panel(
        db.session, admin, short, [(decliner.id, 0.9, {})], [], TODAY + dt.timedelta(days=30)
    )
    review_ops.decline(db.session, db.session.get(User, decliner.user_id), declined, "太忙")
    db.session.commit()

    login(admin)
    page = _page(client)
    expected = {"vetting": 2, "without_panel": 3, "overdue": 1, "short_panels": 1, "changes": 0}
    for key, n in expected.items():
        assert f'data-count="{n}"' in _queue_card(page, key), key
    assert "Done" in _queue_card(page, "changes") and "href" not in _queue_card(page, "changes")

    def linked(key: str) -> str:
        return re.search(r'href="([^"]+)"', _queue_card(page, key)).group(1).replace("&amp;", "&")

    listed = _page(client, linked("without_panel"))
    assert all(s.title in listed for s in waiting) and "(3)" in listed
    assert late.submission.title not in listed and "缺人" not in listed
    board = _page(client, linked("overdue"))
    assert late.submission.title in board and "缺人" not in board
    board = _page(client, linked("short_panels"))
    assert "缺人" in board and late.submission.title not in board
    vetting = _page(client, linked("vetting"))
    assert vetting.count("/experts/") >= 2


def test_a_person_with_several_roles_sees_every_part(
    client: Any, login: Any, make_user: Any, make_expert: Any
) -> None:
    user = make_user(Role.ADMIN, Role.EXPERT, Role.TRAINEE, username="all")
    make_expert(user_id=user.id)
    login(user)
    page = _page(client)
    for part in ('id="admin-queue"', 'id="expert-todo"', 'id="learning"'):
        assert part in page
    for menu in ("pool", "reviews", "training", "expert", "learning"):
        assert f'data-menu="{menu}"' in page


# --- navigation -------------------------------------------------------------------------------


def _nav(page: str) -> str:
    return page.split("<nav", 1)[1].split("</nav>", 1)[0]


def test_admin_navigation_reaches_rounds_and_course_administration(
    client: Any, login: Any, admin: Any
) -> None:
    login(admin)
    nav = _nav(_page(client, "/rounds/"))
    for href in ('href="/rounds/"', 'href="/admin/courses/"', 'href="/experts/vetting"'):
        assert href in nav
    assert 'aria-current="page" href="/rounds/"' in nav
    assert re.search(
        r'<button class="nav-link dropdown-toggle active"[^>]*aria-expanded="false"', nav
    )


def test_trainee_navigation_reaches_catalogue_courses_and_transcript(
    client: Any, login: Any, trainee: Any
) -> None:
    login(trainee)
    nav = _nav(_page(client))
    for href in ('href="/courses/"', 'href="/me/learning"', 'href="/me/transcript"'):
        assert href in nav
    assert 'href="/rounds/"' not in nav and 'href="/admin/courses/"' not in nav
    assert "navbar-expand-lg" in _page(client)


def test_reviews_waiting_for_a_rating_are_queued_until_rated(
    client: Any, login: Any, admin: Any, make_submission: Any, expert_user: Any
) -> None:
    from expertpool.reviews.constants import CRITERIA

    complete = {
        **{name: "satisfactory" for name in CRITERIA},
        "recommendation": "approve",
        "summary": "可以批准。",
    }
    done = []
    for n, place in enumerate(("北京化工大学", "中国地质科学院")):
        expert = expert_user(f"rater{n}", institution=place)
        user = db.session.get(User, expert.user_id)
        due = TODAY + dt.timedelta(days=9 + n)  # _accepted titles the submission by its due date
        assignment = _accepted(admin, make_submission, expert, user, due)
        review_ops.save_review(
            db.session, user, assignment, complete, submit=True, expected_version=None
        )
        done.append(assignment)
    db.session.commit()
    assert done[0].submission.status == "completed"  # a completed submission still waits

    login(admin)
    assert 'data-count="2"' in _queue_card(_page(client), "unrated")
    review_ops.rate_review(db.session, admin, done[0].review, 4)
    db.session.commit()
    page = _page(client)
    assert 'data-count="1"' in _queue_card(page, "unrated")
    link = re.search(r'href="([^"]+)"', _queue_card(page, "unrated")).group(1)
    board = _page(client, link.replace("&amp;", "&"))
    assert done[1].submission.title in board and done[0].submission.title not in board
