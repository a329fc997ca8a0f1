"""Training figures for administrators: enrolments, completion, hours, quiz pass rates."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User
from expertpool.core.cells import append_row

from ..constants import COMPLETED, EXPIRED, SUBMITTED
from ..models import Certificate, Course, Enrollment, QuizAttempt

UNKNOWN = "?"


@dataclass(frozen=True)
class CourseFigures:
    course_id: int
    title: str
    slug: str
    enrolled: int
    completed: int
    attempts: int  # submitted or expired
    passed_attempts: int

    @property
    def completion_rate(self) -> float:
        return round(100.0 * self.completed / self.enrolled, 1) if self.enrolled else 0.0

    @property
    def pass_rate(self) -> float:
        return round(100.0 * self.passed_attempts / self.attempts, 1) if self.attempts else 0.0


@dataclass(frozen=True)
class Report:
    months: list[str]  # "2026-01" ...
    enrolments_by_month: list[int]
    completions_by_month: list[int]
    courses: list[CourseFigures]
    hours_by_audience: dict[str, float]
    hours_by_province: dict[str, float]

    @property
    def total_enrolled(self) -> int:
        return sum(c.enrolled for c in self.courses)

    @property
    def total_completed(self) -> int:
        return sum(c.completed for c in self.courses)


def _month_keys(today: dt.date, months: int) -> list[str]:
    keys, year, month = [], today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def build(session: Session, *, months: int = 12, today: dt.date | None = None) -> Report:
    today = today or dt.date.today()
    keys = _month_keys(today, months)
    enrolled_at = Counter(
        d.strftime("%Y-%m") for d in session.scalars(select(Enrollment.enrolled_at))
    )
    completed_at = Counter(
        d.strftime("%Y-%m")
        for d in session.scalars(
            select(Enrollment.completed_at).where(Enrollment.completed_at.is_not(None))
        )
    )
    return Report(
        months=keys,
        enrolments_by_month=[enrolled_at.get(k, 0) for k in keys],
        completions_by_month=[completed_at.get(k, 0) for k in keys],
        courses=_course_figures(session),
        hours_by_audience=_hours_by(session, User.audience),
        hours_by_province=_hours_by(session, User.province),
    )


def _course_figures(session: Session) -> list[CourseFigures]:
    counts = {
        (cid, status): n
        for cid, status, n in session.execute(
            select(Enrollment.course_id, Enrollment.status, func.count()).group_by(
                Enrollment.course_id, Enrollment.status
            )
        )
    }
    attempts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for cid, passed, n in session.execute(
        select(Enrollment.course_id, QuizAttempt.passed, func.count())
        .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
        .where(QuizAttempt.status.in_([SUBMITTED, EXPIRED]))
        .group_by(Enrollment.course_id, QuizAttempt.passed)
    ):
        attempts[cid][0] += n
        if passed:
            attempts[cid][1] += n
    out = []
    for course in session.scalars(select(Course).order_by(Course.title)):
        total = sum(n for (cid, _s), n in counts.items() if cid == course.id)
        out.append(
            CourseFigures(
                course.id,
                course.title,
                course.slug,
                total,
                counts.get((course.id, COMPLETED), 0),
                attempts[course.id][0],
                attempts[course.id][1],
            )
        )
    return out


def _hours_by(session: Session, column: object) -> dict[str, float]:
    """Certified hours (certificates not revoked) grouped by a User column."""
    rows = session.execute(
        select(column, func.sum(Certificate.hours))
        .join(User, User.id == Certificate.user_id)
        .where(Certificate.revoked_at.is_(None))
        .group_by(column)
    )
    out: dict[str, float] = defaultdict(float)
    for key, hours in rows:
        out[key or UNKNOWN] += float(hours or 0)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


LABELS = {
    "courses": "Courses",
    "course": "Course",
    "enrolled": "Enrolled",
    "completed": "Completed",
    "completion_rate": "Completion rate (%)",
    "attempts": "Quiz attempts",
    "passed": "Passed attempts",
    "pass_rate": "Pass rate (%)",
    "month": "Month",
    "enrolments": "Enrolments",
    "completions": "Completions",
    "by_month": "By month",
    "audience": "Audience",
    "province": "Province",
    "hours": "Certified hours",
    "by_audience": "Hours by audience",
    "by_province": "Hours by province",
}


def to_xlsx(
    report: Report,
    labels: Mapping[str, str] | None = None,
    audience_names: Mapping[str, str] | None = None,
) -> bytes:
    lb = {**LABELS, **(labels or {})}
    names = audience_names or {}
    book = Workbook()
    sheet = book.active
    sheet.title = lb["courses"][:31]
    _table(
        sheet,
        [
            lb["course"],
            "slug",
            lb["enrolled"],
            lb["completed"],
            lb["completion_rate"],
            lb["attempts"],
            lb["passed"],
            lb["pass_rate"],
        ],
        [
            [
                c.title,
                c.slug,
                c.enrolled,
                c.completed,
                c.completion_rate,
                c.attempts,
                c.passed_attempts,
                c.pass_rate,
            ]
            for c in report.courses
        ],
    )
    _table(
        book.create_sheet(lb["by_month"][:31]),
        [lb["month"], lb["enrolments"], lb["completions"]],
        [
            list(t)
            for t in zip(
                report.months, report.enrolments_by_month, report.completions_by_month, strict=True
            )
        ],
    )
    _table(
        book.create_sheet(lb["by_audience"][:31]),
        [lb["audience"], lb["hours"]],
        [[str(names.get(k, k)), v] for k, v in report.hours_by_audience.items()],
    )
    _table(
        book.create_sheet(lb["by_province"][:31]),
        [lb["province"], lb["hours"]],
        [[k, v] for k, v in report.hours_by_province.items()],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table(sheet: object, header: list[str], rows: list[list[object]]) -> None:
    append_row(sheet, header)
    for cell in sheet[1]:  # type: ignore[index]
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, row)  # course titles and provinces are typed by people
