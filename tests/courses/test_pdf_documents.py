"""PDF documents embed their font; the certificate's QR code and link use PUBLIC_BASE_URL;
production refuses to start without it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject
from sqlalchemy import select

from courses import operations as ops
from courses import queries
from courses.content import pdf_documents as pdf
from courses.controllers.learning import verify_url
from courses.demo import right_answers
from courses.models import Certificate
from courses.queries import transcript
from expertpool import create_app
from expertpool.config import ConfigError
from expertpool.core.access import Role
from expertpool.db import db
from tests.conftest import SAFE_PRODUCTION

NAME = "欧阳·娜娜"  # a middle dot as in transliterated names
TITLE = "标准物质均匀性检验 — Homogeneity testing – ANOVA（单因素）"


def _resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _fonts(reader: PdfReader) -> list[dict]:
    """Every font dictionary used by the pages (descendant fonts of Type0 fonts included)."""
    found = []
    for page in reader.pages:
        resources = _resolve(page.get("/Resources")) or {}
        for ref in (_resolve(resources.get("/Font")) or {}).values():
            font = _resolve(ref)
            found.append(font)
            found += [_resolve(d) for d in _resolve(font.get("/DescendantFonts")) or []]
    return found


def assert_fonts_embedded(data: bytes) -> None:
    fonts = _fonts(PdfReader(io.BytesIO(data)))
    assert fonts, "the PDF uses no font"
    for font in fonts:
        if font.get("/Subtype") == "/Type0":
            continue  # its descendant font carries the descriptor
        descriptor = _resolve(font.get("/FontDescriptor"))
        assert descriptor is not None, f"font {font.get('/BaseFont')} has no descriptor"
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
            f"font {font.get('/BaseFont')} is not embedded"
        )


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_certificate_embeds_its_font_and_keeps_chinese_latin_and_dots():
    data = pdf.certificate_pdf(
        learner_name=NAME,
        course_title=TITLE,
        hours=7.5,
        issued="2026-12-04",
        code="RMT-7KQ2-M9XD-4HPA",
        verify_url="https://rm.example.gov.cn/verify/RMT-7KQ2-M9XD-4HPA",
    )
    assert_fonts_embedded(data)
    text = _text(data)
    for expected in (NAME, "Homogeneity testing", "—", "–", "（单因素）", "7.5 学时"):
        assert expected in text


def test_transcript_embeds_its_font_and_keeps_the_separator(make_user, make_course):
    user = make_user(Role.TRAINEE, username="ouyang", name=NAME, organisation="中国计量科学研究院")
    course = make_course(title=TITLE, lessons=1)
    enrollment = ops.enrol(db.session, user, course)
    ops.mark_done(db.session, enrollment, course.lessons[0])
    attempt = ops.start_attempt(db.session, enrollment)
    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt))
    )
    data = transcript.to_pdf(transcript.build(db.session, user), today=dt.date(2026, 12, 4))
    assert_fonts_embedded(data)
    text = _text(data)
    assert f"{NAME} · 中国计量科学研究院" in text  # the subtitle's " · " survives
    assert "Homogeneity" in text


def test_the_font_has_every_glyph_the_documents_need():
    from reportlab.pdfbase import pdfmetrics

    face = pdfmetrics.getFont(pdf._font()).face
    for char in "·—–“”‘’（）《》：；，。、！？ABCxyz0123456789张三丰欧阳娜堃喆":
        assert ord(char) in face.charToGlyph, f"no glyph for {char!r}"
    # Proportional Latin: an "i" is much narrower than an "M" (a CJK font's monospaced Latin
    # or a wrong width table makes Latin text look cramped or spaced out).
    width = pdfmetrics.stringWidth
    assert width("i", pdf.FONT, 10) < 0.5 * width("M", pdf.FONT, 10)


@pytest.fixture
def certificate(make_user, make_course):
    user = make_user(Role.EXPERT, username="zhang", name="张三丰")
    course = make_course(lessons=1)
    enrollment = ops.enrol(db.session, user, course)
    ops.mark_done(db.session, enrollment, course.lessons[0])
    attempt = ops.start_attempt(db.session, enrollment)
    ops.submit_attempt(
        db.session, attempt, right_answers(queries.questions_of(db.session, attempt))
    )
    db.session.commit()
    return user, db.session.scalar(select(Certificate))


def test_verification_url_uses_the_public_base_url(app, client, login, certificate):
    user, cert = certificate
    app.config["PUBLIC_BASE_URL"] = "https://rm.example.gov.cn/training/"
    expected = f"https://rm.example.gov.cn/training/verify/{cert.code}"
    with app.test_request_context("/", base_url="http://10.0.0.7:5000"):
        assert verify_url(cert.code) == expected  # not the host the request named
    login(user)
    data = client.get(f"/certificates/{cert.code}.pdf").data
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert expected in page.extract_text()
    links = [_resolve(a) for a in page.get("/Annots") or []]
    uris = {_resolve(a["/A"])["/URI"] for a in links if "/A" in a}
    assert uris == {expected}
    assert_fonts_embedded(data)


def test_without_a_public_base_url_the_request_host_is_used(app, certificate):
    _user, cert = certificate
    app.config["PUBLIC_BASE_URL"] = None
    with app.test_request_context("/"):
        assert verify_url(cert.code) == f"http://localhost/verify/{cert.code}"


def _app(tmp_path, **config):
    return create_app(
        {"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "k", **config},
        instance_path=str(tmp_path / "instance"),
    )


@pytest.mark.parametrize("base", [None, "", "rm.example.gov.cn", "ftp://rm.example.gov.cn", "/x"])
def test_production_refuses_to_start_without_a_public_base_url(tmp_path, base):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        _app(tmp_path, PRODUCTION=True, PUBLIC_BASE_URL=base)


def test_production_starts_with_a_public_base_url(tmp_path):
    settings = SAFE_PRODUCTION | {"PUBLIC_BASE_URL": "https://rm.example.gov.cn"}
    app = _app(tmp_path, **settings)
    assert app.config["PRODUCTION"] is True


def test_production_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODUCTION", "1")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="PRODUCTION"):
        _app(tmp_path)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rm.example.gov.cn")
    safe = {k: v for k, v in SAFE_PRODUCTION.items() if k not in ("PRODUCTION", "PUBLIC_BASE_URL")}
    assert _app(tmp_path, **safe).config["PUBLIC_BASE_URL"] == "https://rm.example.gov.cn"


def test_development_starts_without_a_public_base_url(tmp_path, monkeypatch):
    monkeypatch.delenv("PRODUCTION", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert _app(tmp_path).config["PRODUCTION"] is False
