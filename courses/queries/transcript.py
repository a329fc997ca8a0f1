"""A learner's transcript: courses taken, hours per year, certificates; XLSX and PDF exports.

Hours count in the year of the completion they were earned by (`credit_year`): a course taken
again after its certificate lapsed counts again, in its own year, and the earlier completion
keeps its hours in its year. A revoked certificate counts for nothing.
A transcript of more than EXPORT_JOB_THRESHOLD courses is written by the job
`courses.transcript_export` (`export_job`, see `expertpool.core.exports`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core import exports
from expertpool.core.cells import append_row
from expertpool.core.jobs import JobContext, JobFailed

from ..content import pdf_documents
from ..models import Certificate, Enrollment


@dataclass(frozen=True)
class TranscriptRow:
    course_title: str
    course_slug: str
    cycle: int
    status: str  # enrolled | completed
    enrolled_on: dt.date
    completed_on: dt.date | None
    hours: float  # credited hours (0 unless a valid certificate)
    certificate_code: str | None
    revoked: bool
    due_date: dt.date | None
    valid_until: dt.date | None = None
    validity_state: str | None = None  # courses.validity state, "superseded" after a renewal


@dataclass
class Transcript:
    user: User
    rows: list[TranscriptRow]
    hours_by_year: dict[int, float] = field(default_factory=dict)

    @property
    def total_hours(self) -> float:
        return sum(self.hours_by_year.values())

    @property
    def certificates(self) -> list[TranscriptRow]:
        return [r for r in self.rows if r.certificate_code]


EXPORT_TASK = "courses.transcript_export"
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def count(session: Session, user: User) -> int:
    """The transcript's rows: the learner's enrolments."""
    stmt = select(func.count()).select_from(Enrollment).where(Enrollment.user_id == user.id)
    return session.scalar(stmt) or 0


def build(session: Session, user: User) -> Transcript:
    enrollments = list(
        session.scalars(
            select(Enrollment).where(Enrollment.user_id == user.id).order_by(Enrollment.enrolled_at)
        )
    )
    certs = {
        c.enrollment_id: c
        for c in session.scalars(select(Certificate).where(Certificate.user_id == user.id))
    }
    rows, by_year = [], defaultdict(float)
    for e in enrollments:
        cert = certs.get(e.id)
        credited = cert.hours if cert is not None and not cert.is_revoked else 0.0
        if credited:
            by_year[credit_year(e, cert)] += credited
        rows.append(
            TranscriptRow(
                course_title=cert.course_title if cert else e.course.title,
                course_slug=e.course.slug,
                cycle=e.cycle,
                status=e.status,
                enrolled_on=e.enrolled_at.date(),
                completed_on=e.completed_at.date() if e.completed_at else None,
                hours=credited,
                certificate_code=cert.code if cert else None,
                revoked=bool(cert and cert.is_revoked),
                due_date=e.due_date,
                valid_until=cert.valid_until() if cert else None,
                validity_state=_validity_state(cert),
            )
        )
    return Transcript(user=user, rows=rows, hours_by_year=dict(sorted(by_year.items())))


def credit_year(enrollment: Enrollment, certificate: Certificate) -> int:
    """The year a completion's hours count in: the completion's own (else the issue's)."""
    return (enrollment.completed_at or certificate.issued_at).year


def _validity_state(cert: Certificate | None) -> str | None:
    if cert is None:
        return None
    return "superseded" if cert.is_superseded and not cert.is_revoked else cert.state()


LABELS = {
    "title": "Training transcript",
    "learner": "Learner",
    "course": "Course",
    "status": "Status",
    "enrolled": "Enrolled",
    "completed": "Completed",
    "hours": "Hours",
    "certificate": "Certificate",
    "revoked": "revoked",
    "year": "Year",
    "total": "Total",
    "courses": "Courses",
    "hours_by_year": "Hours per year",
    "generated": "Generated",
    "status_enrolled": "in progress",
    "status_completed": "completed",
    "valid_until": "Valid until",
    "lapsed": "lapsed",
    "superseded": "superseded by a renewal",
}


def _course_columns(labels: Mapping[str, str]) -> list[str]:
    """The headings of the courses table, in the order of `_row_values` (XLSX and PDF)."""
    return [
        labels["course"],
        labels["status"],
        labels["enrolled"],
        labels["completed"],
        labels["hours"],
        labels["certificate"],
        labels["valid_until"],
    ]


def _row_values(row: TranscriptRow, labels: Mapping[str, str]) -> list[object]:
    code = row.certificate_code or ""
    if row.revoked:
        code = f"{code} ({labels['revoked']})"
    return [
        row.course_title,
        labels.get(f"status_{row.status}", row.status),
        row.enrolled_on,
        row.completed_on,
        pdf_documents.format_hours(row.hours),
        code,
        _validity_cell(row, labels),
    ]


def _validity_cell(row: TranscriptRow, labels: Mapping[str, str]) -> str:
    """ "2029-03-01", with "(lapsed)" or "(superseded by a renewal)" when it no longer stands."""
    if row.valid_until is None or row.revoked:
        return ""
    note = (
        labels.get(row.validity_state or "")
        if row.validity_state in ("lapsed", "superseded")
        else None
    )
    return f"{row.valid_until.isoformat()} ({note})" if note else row.valid_until.isoformat()


def to_xlsx(t: Transcript, labels: Mapping[str, str] | None = None) -> bytes:
    lb = {**LABELS, **(labels or {})}
    book = Workbook()
    sheet = book.active
    sheet.title = lb["courses"][:31]
    # Names, organisations and course titles are typed by people: every cell goes through the
    # export rule (never a formula, no control characters).
    append_row(sheet, [lb["learner"], t.user.name, t.user.organisation or ""])
    sheet.append([])
    append_row(sheet, _course_columns(lb))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in t.rows:
        values = _row_values(row, lb)
        values[4] = row.hours
        append_row(sheet, values)
    years = book.create_sheet(lb["hours_by_year"][:31])
    append_row(years, [lb["year"], lb["hours"]])
    for year, hours in t.hours_by_year.items():
        append_row(years, [year, hours])
    append_row(years, [lb["total"], t.total_hours])
    for column, width in zip("ABCDEFG", (48, 14, 12, 12, 8, 24, 24), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(
    t: Transcript, labels: Mapping[str, str] | None = None, today: dt.date | None = None
) -> bytes:
    lb = {**LABELS, **(labels or {})}
    rows = [_row_values(r, lb) for r in t.rows]
    years = [[year, pdf_documents.format_hours(h)] for year, h in t.hours_by_year.items()]
    years.append([lb["total"], pdf_documents.format_hours(t.total_hours)])
    subtitle = f"{lb['learner']}: {t.user.name}" + (
        f" · {t.user.organisation}" if t.user.organisation else ""
    )
    return pdf_documents.table_pdf(
        title=lb["title"],
        subtitle=subtitle,
        sections=[
            (lb["courses"], _course_columns(lb), rows),
            (lb["hours_by_year"], [lb["year"], lb["hours"]], years),
        ],
        footer=f"{lb['generated']}: {(today or dt.date.today()).isoformat()}",
    )


def labels() -> dict[str, str]:
    """LABELS in the reader's language."""
    return {
        "title": _("Training transcript"),
        "learner": _("Learner"),
        "course": _("Course"),
        "status": _("Status"),
        "enrolled": _("Enrolled"),
        "completed": _("Completed"),
        "hours": _("Hours"),
        "certificate": _("Certificate"),
        "revoked": _("revoked"),
        "year": _("Year"),
        "total": _("Total"),
        "courses": _("Courses"),
        "hours_by_year": _("Hours per year"),
        "generated": _("Generated"),
        "status_enrolled": _("in progress"),
        "status_completed": _("completed"),
        "valid_until": _("Valid until"),
        "lapsed": _("lapsed"),
        "superseded": _("superseded by a renewal"),
    }


def render(t: Transcript, fmt: str) -> bytes:
    """The transcript as an XLSX or PDF file, in the reader's language."""
    return to_xlsx(t, labels()) if fmt == "xlsx" else to_pdf(t, labels())


def filename(user: User, fmt: str, today: dt.date | None = None) -> str:
    return f"transcript-{user.username}-{(today or dt.date.today()).isoformat()}.{fmt}"


def export_job(ctx: JobContext, user_id: int, fmt: str, locale: str) -> dict[str, Any]:
    """The task: the learner's transcript written as the file to download."""
    with force_locale(locale):
        user = ctx.session.get(User, user_id)
        if user is None:
            raise JobFailed(_("The learner no longer exists."))
        t = build(ctx.session, user)
        ctx.progress(len(t.rows), len(t.rows), stage=_("Writing rows"))
        data = render(t, fmt)
        result = exports.save(ctx, data, filename(user, fmt), FORMATS[fmt], rows=len(t.rows))
        return {**result, "subject_user": user.id}
