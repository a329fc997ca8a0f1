"""Issue 12 items 3-4: a trainee's name never becomes a formula, a control character never a 500.

Before the fix: the learner's and the administrator's transcript XLSX held `t.user.name` as a
live formula cell, and a U+000B or U+0001 in the name made both transcript exports fail with
openpyxl's IllegalCharacterError (500).
"""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from courses import operations as ops
from courses.demo import right_answers
from courses.models import Certificate
from courses.queries import questions_of
from expertpool.core.access import Role
from expertpool.db import db
from tests.support.spreadsheets import CONTROL_NAME, HOSTILE_NAME, assert_text_not_formula, formulas


def _certified(user, course):
    enrollment = ops.enrol(db.session, user, course)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    attempt = ops.start_attempt(db.session, enrollment)
    ops.submit_attempt(db.session, attempt, right_answers(questions_of(db.session, attempt)))
    db.session.commit()


def _transcripts(client, login, admin, learner):
    """Both transcript XLSX exports: the learner's own, then the administrator's copy."""
    login(learner)
    own = client.get("/me/transcript.xlsx")
    login(admin)
    theirs = client.get(f"/admin/training/learners/{learner.id}/transcript.xlsx")
    return own, theirs


def test_a_formula_name_is_text_in_both_transcript_exports(
    client, login, admin, make_user, make_course
):
    learner = make_user(Role.TRAINEE, name=HOSTILE_NAME, organisation="+86 单位")
    _certified(learner, make_course(title="=1+1 课程"))
    for response in _transcripts(client, login, admin, learner):
        assert response.status_code == 200
        assert_text_not_formula(response.data, HOSTILE_NAME)
        assert_text_not_formula(response.data, "=1+1 课程")
        assert_text_not_formula(response.data, "+86 单位")


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_control_characters_in_a_name_do_not_break_transcripts(
    client, login, admin, make_user, make_course, fmt
):
    learner = make_user(Role.TRAINEE, name=CONTROL_NAME)
    _certified(learner, make_course(title="课程\x0b一"))
    login(learner)
    own = client.get(f"/me/transcript.{fmt}")
    login(admin)
    theirs = client.get(f"/admin/training/learners/{learner.id}/transcript.{fmt}")
    for response in (own, theirs):
        assert response.status_code == 200
        if fmt == "pdf":
            text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
            assert "控制字符专家" in text and "课程一" in text


def test_certificate_pdf_with_control_characters(client, login, make_user, make_course):
    learner = make_user(Role.TRAINEE, name=CONTROL_NAME)
    _certified(learner, make_course(title="课程\x01二"))
    login(learner)
    code = db.session.scalar(select(Certificate.code).where(Certificate.user_id == learner.id))
    response = client.get(f"/certificates/{code}.pdf")
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "控制字符专家" in text


def test_training_report_has_no_formula(client, login, admin, make_user, make_course):
    _certified(make_user(Role.TRAINEE, province="江苏省"), make_course(title="@课程\x0b"))
    login(admin)
    response = client.get("/admin/training/reports.xlsx")
    assert response.status_code == 200
    assert formulas(response.data) == []
    assert_text_not_formula(response.data, "@课程")
