"""Certificates: the PDF (Chinese text, code, QR), public verification, revocation."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from courses import operations as ops
from courses import queries
from courses.content.pdf_documents import qr_png
from courses.demo import right_answers
from courses.errors import CourseError
from courses.models import Certificate
from expertpool.core.access import Role
from expertpool.db import db


@pytest.fixture
def certified(make_user, make_course):
    """A learner with a Chinese name holding a certificate of a Chinese-titled course."""
    user = make_user(Role.EXPERT, username="zhang", name="张三丰")
    course = make_course(title="标准物质均匀性检验与稳定性研究", hours=7.5)
    enrollment = ops.enrol(db.session, user, course)
    for lesson in course.lessons:
        ops.mark_done(db.session, enrollment, lesson)
    attempt = ops.start_attempt(db.session, enrollment)
    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt))
    )
    db.session.commit()
    return user, db.session.scalar(select(Certificate))


def test_code_format_and_uniqueness(certified):
    _user, cert = certified
    assert re.fullmatch(r"RMT(-[A-HJ-NP-Z2-9]{4}){3}", cert.code)
    codes = {ops.new_code(db.session) for _ in range(200)}
    assert len(codes) == 200 and cert.code not in codes


def test_pdf_has_the_chinese_name_title_and_code(client, login, certified):
    user, cert = certified
    login(user)
    response = client.get(f"/certificates/{cert.code}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(response.data)).pages[0]
    text = page.extract_text()
    for expected in (
        "张三丰",
        "标准物质均匀性检验与稳定性研究",
        "7.5 学时",
        cert.code,
        f"/verify/{cert.code}",
    ):
        assert expected in text
    assert "REVOKED" not in text


def test_pdf_qr_code_encodes_the_verification_url(client, login, certified):
    user, cert = certified
    login(user)
    page = PdfReader(io.BytesIO(client.get(f"/certificates/{cert.code}.pdf").data)).pages[0]
    url = f"http://localhost/verify/{cert.code}"
    assert url in page.extract_text()
    from PIL import Image

    embedded = page.images[0].image.convert("L")
    expected = Image.open(io.BytesIO(qr_png(url))).convert("L")
    assert embedded.size == expected.size
    assert embedded.tobytes() == expected.tobytes()  # the very QR code of that URL


def test_certificate_pdf_is_private(client, login, make_user, certified):
    _user, cert = certified
    login(make_user(Role.TRAINEE))
    assert client.get(f"/certificates/{cert.code}.pdf").status_code == 404
    login(db.session.scalar(select(type(_user)).where(type(_user).username == "admin")))
    assert client.get(f"/certificates/{cert.code}.pdf").status_code == 200


def test_verification_page_is_public_and_shows_the_essentials(client, certified, make_expert):
    user, cert = certified
    expert = make_expert(name="张三丰", id_number="110101197001011238", phone="13912345678")
    expert.user_id = user.id
    db.session.commit()
    page = client.get(f"/verify/{cert.code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in (
        "张三丰",
        "标准物质均匀性检验与稳定性研究",
        "7.5",
        cert.code,
        cert.issued_at.date().isoformat(),
    ):
        assert expected in html
    for secret in ("110101197001011238", "13912345678", user.email, "zhang"):
        assert secret not in html
    assert client.get(f"/verify/{cert.code.lower()}").status_code == 200  # typed in lower case
    assert client.get("/verify/RMT-NOPE-NOPE-NOPE").status_code == 404


def test_revocation_needs_a_reason_and_shows_on_verification(client, login, admin, certified):
    _user, cert = certified
    with pytest.raises(CourseError):
        ops.revoke_certificate(db.session, admin, cert, "  ")
    login(admin)
    response = client.post(f"/admin/training/certificates/{cert.id}/revoke", data={"reason": ""})
    assert response.status_code == 302 and db.session.get(Certificate, cert.id).revoked_at is None
    client.post(f"/admin/training/certificates/{cert.id}/revoke", data={"reason": "学时记录有误"})
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.is_revoked and cert.revoked_reason == "学时记录有误"
    assert cert.revoked_by_id == admin.id
    client.post("/logout")
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "Revoked" in html or "已撤销" in html
    assert cert.revoked_at.date().isoformat() in html
    assert "学时记录有误" not in html  # the reason is for administrators
    with pytest.raises(CourseError):
        ops.revoke_certificate(db.session, admin, cert, "again")


def test_revoked_pdf_is_marked(client, login, admin, certified):
    user, cert = certified
    ops.revoke_certificate(db.session, admin, cert, "错误")
    db.session.commit()
    login(user)
    text = (
        PdfReader(io.BytesIO(client.get(f"/certificates/{cert.code}.pdf").data))
        .pages[0]
        .extract_text()
    )
    assert "REVOKED" in text


def test_revocation_is_audited(admin, certified):
    from expertpool.core import audit
    from expertpool.core.audit import AuditLog

    _user, cert = certified
    audit.set_actor(db.session, admin)
    ops.revoke_certificate(db.session, admin, cert, "核查不符")
    db.session.commit()
    row = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "Certificate", AuditLog.action == "update")
    )
    assert row.note == "核查不符" and row.actor_id == admin.id
    assert "revoked_at" in row.changes
