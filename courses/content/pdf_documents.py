"""PDF documents: the certificate (with a QR code to its verification page) and the transcript.

Every text uses one embedded TrueType font, WenQuanYi Micro Hei (courses/fonts, Apache-2.0):
Chinese, proportional Latin and the punctuation in between (" · ", "—", full-width marks) all
come from the same file, and reportlab embeds the glyphs used as a subset, so the documents look
the same on every reader, show no missing glyphs, and their text stays extractable. (Before, the
non-embedded CID font STSong-Light left readers to substitute a font of their own: glyphs went
missing and Latin text was set with the wrong widths.)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qrcode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from expertpool.core.cells import printable

FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).resolve().parents[1] / "fonts" / "WenQuanYiMicroHei.ttf"


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def format_hours(hours: float) -> str:
    return f"{hours:g}"


def qr_png(data: str) -> bytes:
    image = qrcode.make(data, box_size=8, border=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def certificate_pdf(
    *,
    learner_name: str,
    course_title: str,
    hours: float,
    issued: str,
    code: str,
    verify_url: str,
    revoked: bool = False,
    issuer: str = "国家标准物质审评专家库培训平台",
) -> bytes:
    """An A4 landscape certificate, Chinese with English subtitles."""
    learner_name, course_title, issuer = map(printable, (learner_name, course_title, issuer))
    font = _font()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buffer, pagesize=(width, height), initialFontName=font)
    pdf.setTitle(f"{course_title} - {learner_name}")
    pdf.setAuthor(issuer)
    pdf.setStrokeColor(colors.HexColor("#8a6d1d"))
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setLineWidth(0.8)
    pdf.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    pdf.setFillColor(colors.HexColor("#7a1f1f"))
    pdf.setFont(font, 34)
    pdf.drawCentredString(width / 2, height - 50 * mm, "培训合格证书")
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, height - 60 * mm, "Certificate of Completion")

    pdf.setFillColor(colors.black)
    pdf.setFont(font, 16)
    lines = [
        f"兹证明  {learner_name}  完成课程",
        f"《{course_title}》",
        f"学习并考核合格，计 {format_hours(hours)} 学时。",
    ]
    y = height - 85 * mm
    for line in lines:
        pdf.drawCentredString(width / 2, y, line)
        y -= 11 * mm
    pdf.setFont(font, 11)
    pdf.drawCentredString(
        width / 2,
        y - 2 * mm,
        f"has completed the course with {format_hours(hours)} learning hours.",
    )

    pdf.setFont(font, 12)
    pdf.drawString(30 * mm, 40 * mm, f"发证单位：{issuer}")
    pdf.drawString(30 * mm, 32 * mm, f"发证日期 Date of issue：{issued}")
    pdf.drawString(30 * mm, 24 * mm, f"证书编号 Certificate No.：{code}")
    pdf.setFont(font, 8)
    pdf.drawRightString(width - 30 * mm, 22 * mm, verify_url)
    qr_size = 34 * mm
    qr_x, qr_y = width - 30 * mm - qr_size, 26 * mm
    pdf.drawImage(ImageReader(io.BytesIO(qr_png(verify_url))), qr_x, qr_y, qr_size, qr_size)
    # The QR code and the printed address are also a link in the PDF.
    pdf.linkURL(verify_url, (qr_x, 20 * mm, width - 30 * mm, qr_y + qr_size), relative=0)
    pdf.setFont(font, 8)
    pdf.drawRightString(width - 30 * mm, 26 * mm + qr_size + 2 * mm, "扫码验证 Scan to verify")
    if revoked:
        pdf.saveState()
        pdf.setFillColor(colors.Color(0.8, 0, 0, alpha=0.35))
        pdf.setFont(font, 60)
        pdf.translate(width / 2, height / 2)
        pdf.rotate(20)
        pdf.drawCentredString(0, 0, "已撤销 REVOKED")
        pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def table_pdf(
    *,
    title: str,
    subtitle: str,
    sections: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]],
    footer: str = "",
) -> bytes:
    """A simple A4 document of titled tables (the transcript)."""
    font = _font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        initialFontName=font,  # no stray non-embedded Helvetica in the page resources
    )
    h1 = ParagraphStyle("h1", fontName=font, fontSize=18, leading=24, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    story: list[Any] = [
        Paragraph(_escape(title), h1),
        Paragraph(_escape(subtitle), body),
        Spacer(1, 4 * mm),
    ]
    for heading, columns, rows in sections:
        story.append(Paragraph(_escape(heading), h2))
        data = [[Paragraph(_escape(str(c)), body) for c in columns]]
        data += [
            [Paragraph(_escape("" if v is None else str(v)), body) for v in row] for row in rows
        ]
        table = Table(data, repeatRows=1, hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    if footer:
        story += [Spacer(1, 6 * mm), Paragraph(_escape(footer), body)]
    doc.build(story)
    return buffer.getvalue()


def _escape(text: str) -> str:
    """Paragraph markup of plain text, without the control characters a PDF cannot show."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
