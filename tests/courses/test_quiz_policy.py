"""Quiz review policy, new questions first, lessons before the final quiz, keyboard-ready sheet."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from courses import grading, queries
from courses import operations as ops
from courses.constants import DEFAULT_REVIEW_POLICY
from courses.demo import right_answers
from courses.errors import CourseError, LessonsPending
from courses.models import Quiz, QuizAttempt
from courses.operations import importer
from expertpool.db import db
from tests.courses.conftest import T0


def _bank(n):
    return [
        {"kind": "truefalse", "text": f"陈述 {i}", "answer": True, "explanation": f"EXPLAIN-{i}"}
        for i in range(n)
    ]


def _fail(attempt):
    return ops.submit_attempt(db.session, attempt, {}, now=T0)[0]


def _pass(attempt):
    form = right_answers(queries.questions_of(db.session, attempt))
    return ops.submit_attempt(db.session, attempt, form, now=T0)[0]


# --- new questions first ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_second_attempt_draws_only_new_questions_when_the_bank_allows(enrollment, seed):
    e = enrollment(questions=_bank(10), quiz={"draw_size": 5, "attempt_limit": None})
    first = ops.start_attempt(db.session, e, now=T0, seed=seed)
    _fail(first)
    second = ops.start_attempt(db.session, e, now=T0, seed=seed)  # even with the same seed
    assert len(second.question_ids) == 5
    assert set(second.question_ids).isdisjoint(first.question_ids)


@pytest.mark.parametrize("seed", range(6))
def test_a_small_bank_gives_the_unseen_questions_plus_seen_ones(enrollment, seed):
    e = enrollment(questions=_bank(7), quiz={"draw_size": 5, "attempt_limit": None})
    bank = {q.id for q in e.course.active_questions}
    first = ops.start_attempt(db.session, e, now=T0, seed=seed)
    _fail(first)
    second = ops.start_attempt(db.session, e, now=T0, seed=seed + 100)
    unseen = bank - set(first.question_ids)
    assert len(unseen) == 2 and unseen <= set(second.question_ids)
    assert len(set(second.question_ids) & set(first.question_ids)) == 3
    _fail(second)
    # Third: the two questions seen longest ago (only in the first attempt) come first.
    only_first = set(first.question_ids) - set(second.question_ids)
    third = ops.start_attempt(db.session, e, now=T0, seed=seed + 200)
    assert len(only_first) == 2 and only_first <= set(third.question_ids)


def test_the_draw_is_reproducible_from_the_stored_seed_and_earlier_draws(enrollment):
    e = enrollment(questions=_bank(9), quiz={"draw_size": 4, "attempt_limit": None})
    bank = [q.id for q in e.course.active_questions]
    attempts = []
    for seed in (5, 6, 7):
        seen = queries.last_seen(db.session, e)
        attempt = ops.start_attempt(db.session, e, now=T0, seed=seed)
        assert attempt.question_ids == grading.draw(bank, 4, seed, seen)
        attempts.append(attempt)
        _fail(attempt)
    # Rebuilt only from the stored attempts, the third draw comes out the same.
    first, second, third = attempts
    seen = {i: 1 for i in first.question_ids} | {i: 2 for i in second.question_ids}
    assert grading.draw(bank, 4, third.seed, seen) == third.question_ids


def test_draw_prefers_unseen_then_least_recently_seen():
    bank = list(range(1, 11))
    seen = {1: 2, 2: 2, 3: 1, 4: 1, 5: 3}  # 6-10 unseen
    for seed in range(20):
        picked = grading.draw(bank, 7, seed, seen)
        assert len(set(picked)) == 7 and {6, 7, 8, 9, 10, 3, 4} == set(picked)
        picked = grading.draw(bank, 8, seed, seen)
        assert {6, 7, 8, 9, 10, 3, 4} < set(picked) and len(set(picked) & {1, 2}) == 1
    # The order is mixed: the unseen questions do not always come first.
    orders = {tuple(grading.draw(bank, 7, seed, seen)[:5]) for seed in range(20)}
    assert any(set(order) != {6, 7, 8, 9, 10} for order in orders)
    # Without history the draw is the plain seeded sample (earlier attempts keep their draw).
    assert grading.draw(bank, 4, 3, {}) == grading.draw(bank, 4, 3)


# --- review policy ----------------------------------------------------------------------------


def _revealed(attempt):
    review = queries.attempt_review(db.session, attempt)
    shown = [r["answer"] is not None and r["explanation"] is not None for r in review]
    assert all(shown) or not any(shown)
    assert all("correct" in r for r in review)  # right/wrong is always there
    return all(shown)


def test_default_policy_is_after_pass_or_last(enrollment):
    e = enrollment(questions=_bank(3), quiz={"attempt_limit": 3})
    assert e.course.quiz.review_policy == DEFAULT_REVIEW_POLICY == "after_pass_or_last"
    first = _fail(ops.start_attempt(db.session, e, now=T0))
    assert not _revealed(first)  # failed, attempts left: no answers
    second = ops.start_attempt(db.session, e, now=T0)
    assert not _revealed(first)  # nor while the next attempt is open
    _pass(second)
    assert _revealed(first) and _revealed(second)  # passed: the quiz is over


def test_default_policy_reveals_after_the_last_attempt(enrollment):
    e = enrollment(questions=_bank(3), quiz={"attempt_limit": 2})
    first = _fail(ops.start_attempt(db.session, e, now=T0))
    assert not _revealed(first)
    last = _fail(ops.start_attempt(db.session, e, now=T0))
    assert _revealed(last) and _revealed(first)


def test_never_policy(enrollment):
    e = enrollment(questions=_bank(3), quiz={"attempt_limit": 1, "review_policy": "never"})
    attempt = _pass(ops.start_attempt(db.session, e, now=T0))
    assert attempt.passed and not _revealed(attempt)


def test_after_pass_policy(enrollment):
    e = enrollment(questions=_bank(3), quiz={"attempt_limit": 1, "review_policy": "after_pass"})
    assert not _revealed(_fail(ops.start_attempt(db.session, e, now=T0)))  # last, failed
    e2 = enrollment(questions=_bank(3), quiz={"attempt_limit": 3, "review_policy": "after_pass"})
    assert _revealed(_pass(ops.start_attempt(db.session, e2, now=T0)))


def test_after_last_attempt_policy(enrollment):
    settings = {"attempt_limit": 2, "review_policy": "after_last_attempt"}
    e = enrollment(questions=_bank(3), quiz=settings)
    assert not _revealed(_pass(ops.start_attempt(db.session, e, now=T0)))  # passed early
    e2 = enrollment(questions=_bank(3), quiz=settings)
    _fail(ops.start_attempt(db.session, e2, now=T0))
    assert _revealed(_fail(ops.start_attempt(db.session, e2, now=T0)))
    unlimited = {"attempt_limit": None, "review_policy": "after_last_attempt"}
    e3 = enrollment(questions=_bank(3), quiz=unlimited)
    assert not _revealed(_fail(ops.start_attempt(db.session, e3, now=T0)))


def test_an_unknown_policy_is_refused(make_course):
    course = make_course()
    with pytest.raises(CourseError, match="review_policy"):
        ops.set_quiz(
            db.session,
            course,
            pass_mark=60,
            time_limit=None,
            attempt_limit=None,
            draw_size=None,
            review_policy="sometimes",
        )


def _start_via_pages(client, course):
    client.post(f"/courses/{course.slug}/enrol")
    for lesson in course.lessons:
        client.post(f"/courses/{course.slug}/lessons/{lesson.id}/done")
    assert client.post(f"/courses/{course.slug}/quiz/start").status_code == 302
    return db.session.scalar(select(QuizAttempt).order_by(QuizAttempt.id.desc()))


def without_tokens(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value="|name="csrf-token" content=")[^"]*"', r"\1", html)


def test_a_failed_attempts_review_page_shows_no_answers(client, login, trainee, admin, make_course):
    course = make_course(quiz={"attempt_limit": 2, "time_limit": None})  # the 4 marked questions
    login(trainee)
    attempt = _start_via_pages(client, course)
    url = f"/courses/{course.slug}/quiz/attempts/{attempt.id}"
    client.post(f"{url}/submit", data={}, follow_redirects=True)
    html = client.get(url).get_data(as_text=True)
    assert "EXPLAIN-" not in html and "GBW-XQZ" not in html and "Right answer" not in html
    assert html.count(">wrong<") == 4  # each question still says it was wrong
    assert "used your last attempt" in html  # says when the answers will be shown
    # Change every answer and explanation: the withheld review must not change at all.
    saved = {q.id: (q.answer, q.explanation) for q in course.questions}
    for q in course.questions:
        q.answer = {"single": [0], "multiple": [3], "truefalse": True, "fill": ["OTHER"]}[q.kind]
        q.explanation = "CHANGED"
    db.session.commit()
    # (CSRF tokens carry a timestamp: two renders differ in them when a second boundary passes)
    assert without_tokens(client.get(url).get_data(as_text=True)) == without_tokens(html)
    for q in course.questions:
        q.answer, q.explanation = saved[q.id]
    db.session.commit()
    login(admin)  # administrators keep the bank: they see the answers
    assert "EXPLAIN-SINGLE" in client.get(url).get_data(as_text=True)
    login(trainee)
    second = _start_via_pages(client, course)
    client.post(f"/courses/{course.slug}/quiz/attempts/{second.id}/submit", data={})
    html = client.get(url).get_data(as_text=True)  # the last attempt is used: now shown
    assert "EXPLAIN-SINGLE" in html and "GBW-XQZ" in html and "Right answer" in html


# --- lessons before the final quiz ------------------------------------------------------------


def test_the_quiz_opens_when_every_lesson_is_done(trainee, make_course):
    course = make_course(lessons=3)
    e = ops.enrol(db.session, trainee, course)
    ops.mark_done(db.session, e, course.lessons[1])
    with pytest.raises(LessonsPending) as refused:
        ops.start_attempt(db.session, e, now=T0)
    assert refused.value.lesson_ids == [course.lessons[0].id, course.lessons[2].id]
    assert "2" in str(refused.value)
    for lesson in course.lessons:
        ops.mark_done(db.session, e, lesson)
    assert ops.start_attempt(db.session, e, now=T0).number == 1


def test_a_quiz_may_open_before_the_lessons(trainee, make_course):
    course = make_course(lessons=2, quiz={"lessons_first": False})
    e = ops.enrol(db.session, trainee, course)
    assert queries.lessons_pending(e) == []
    assert ops.start_attempt(db.session, e, now=T0).number == 1


def test_quiz_page_lists_the_lessons_left_with_links(client, login, trainee, make_course):
    course = make_course(lessons=2)
    login(trainee)
    client.post(f"/courses/{course.slug}/enrol")
    done, left = course.lessons
    client.post(f"/courses/{course.slug}/lessons/{done.id}/done")
    html = client.get(f"/courses/{course.slug}/quiz").get_data(as_text=True)
    assert f'href="/courses/{course.slug}/lessons/{left.id}"' in html
    assert f'href="/courses/{course.slug}/lessons/{done.id}"' not in html
    assert "Start an attempt" not in html and "opens when every lesson is done" in html
    response = client.post(f"/courses/{course.slug}/quiz/start", follow_redirects=True)
    assert "1 still to do" in response.get_data(as_text=True)
    assert db.session.scalar(select(QuizAttempt)) is None


# --- authoring and import ---------------------------------------------------------------------


def test_authoring_form_saves_the_policy_and_gating(client, login, admin, make_course):
    course = make_course()
    login(admin)
    page = client.get(f"/admin/courses/{course.id}/quiz").get_data(as_text=True)
    assert 'name="review_policy"' in page and 'name="lessons_first"' in page
    response = client.post(
        f"/admin/courses/{course.id}/quiz",
        data={"pass_mark": "70", "review_policy": "never"},  # checkbox left unticked
    )
    assert response.status_code == 302
    db.session.expire_all()
    quiz = db.session.scalar(select(Quiz).where(Quiz.course_id == course.id))
    assert quiz.review_policy == "never" and quiz.lessons_first is False and quiz.pass_mark == 70


def _folder(tmp_path, quiz_table):
    folder = tmp_path / "policy-course"
    folder.mkdir(parents=True)
    (folder / "course.toml").write_text(
        'slug = "policy-course"\ntitle = "审评规则"\ntopic = "review_rules"\nhours = 2\n'
        'audience = ["reviewer"]\nlevel = "beginner"\nlanguage = "zh"\ninstructor = "王"\n'
        '[[chapters]]\ntitle = "一"\n[[chapters.lessons]]\ntitle = "1.1"\nfile = "a.md"\n'
        "minutes = 10\n"
        f"[quiz]\n{quiz_table}\n",
        "utf-8",
    )
    (folder / "a.md").write_text("# 一\n\n正文。\n", "utf-8")
    (folder / "quiz.toml").write_text(
        '[[questions]]\nkind = "truefalse"\ntext = "对吗？"\nanswer = true\n', "utf-8"
    )
    return folder


def test_import_reads_the_policy_keys(app, admin, tmp_path):
    keys = 'review_policy = "after_pass"\nlessons_first = false'
    [default] = importer.parse_folder(db.session, _folder(tmp_path / "d", "pass_mark = 60"))
    assert default.quiz["review_policy"] == "after_pass_or_last"
    assert default.quiz["lessons_first"] is True
    [spec] = importer.parse_folder(db.session, _folder(tmp_path, keys))
    assert spec.quiz["review_policy"] == "after_pass" and spec.quiz["lessons_first"] is False
    importer.apply(db.session, admin, [spec], upload_root=str(tmp_path / "up"))
    quiz = db.session.scalar(select(Quiz))
    assert quiz.review_policy == "after_pass" and quiz.lessons_first is False


def test_import_reports_a_bad_policy(app, tmp_path):
    keys = 'review_policy = "sometimes"\nlessons_first = 1'
    with pytest.raises(importer.ImportFailed) as failed:
        importer.parse_folder(db.session, _folder(tmp_path, keys))
    fields = {p.field for p in failed.value.problems}
    assert {"quiz.review_policy", "quiz.lessons_first"} <= fields


# --- keyboard use of the answer sheet ---------------------------------------------------------


class _Sheet(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs, self.labels, self.fieldsets, self.legends = [], set(), 0, 0
        self.timer, self.live, self.tabindex, self.autofocus = None, [], [], []
        self.clickables = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") != "hidden":
            self.inputs.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        self.fieldsets += tag == "fieldset"
        self.legends += tag == "legend"
        if a.get("id") == "quiz-timer":
            self.timer = a
        if a.get("aria-live"):
            self.live.append(a)
        if "tabindex" in a:
            self.tabindex.append(a)
        if "autofocus" in a:
            self.autofocus.append(a)
        if "onclick" in a or (tag in ("div", "span") and a.get("role") == "button"):
            self.clickables.append(a)


def test_the_answer_sheet_is_keyboard_ready(client, login, trainee, make_course):
    course = make_course()  # single, multiple, true/false, fill; 20-minute limit
    login(trainee)
    attempt = _start_via_pages(client, course)
    html = client.get(f"/courses/{course.slug}/quiz/attempts/{attempt.id}").get_data(as_text=True)
    sheet = _Sheet()
    sheet.feed(html)
    assert sheet.fieldsets == sheet.legends == 4  # a fieldset with a legend per question
    quiz_inputs = [i for i in sheet.inputs if re.fullmatch(r"q\d+", i.get("name", ""))]
    assert {i["type"] for i in quiz_inputs} == {"radio", "checkbox", "text"}
    assert all(i.get("id") in sheet.labels for i in quiz_inputs)  # every input has a label
    assert not sheet.tabindex and not sheet.autofocus and not sheet.clickables
    assert sheet.timer is not None and sheet.timer.get("role") == "timer"
    assert sheet.timer.get("aria-live") == "off"  # the ticking clock is not read out
    assert any(a.get("aria-live") == "polite" for a in sheet.live)
    assert not any(a.get("aria-live") == "assertive" for a in sheet.live)
    assert '<button type="submit"' in html
