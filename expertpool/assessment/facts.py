"""The facts of an expert's year, gathered from plain records (pure: no Flask, no database).

`gather` is what the assessment job runs for each active expert: the loader (`queries.py`) reads
the rows into the records below, and this module counts. Kept apart so the counting is tested
on a constructed data set with known answers, and so the rules say exactly what a fact means:

- a review is *done in the year* when it was submitted in the year; it is *late* when it was
  submitted after its due date;
- an accepted assignment whose due date fell in the year (before `as_of`) and that has no
  submitted review is *overdue* and counts with the late ones in the late share;
- an invitation is *declined in the year* when the expert answered "no" in the year;
- quality ratings are the administrators' review-quality ratings of the year;
- training hours are the hours of the certificates (not revoked) issued in the year; the required
  courses are complete when each has a certificate that counts on `as_of` (the loader asks the
  training feature's own rule, `courses.queries.training.counts`);
- the file is *up to date* when it changed within `fresh_months` before `as_of`;
- other features add facts through the `assessment_facts` signal (violations, ...): they arrive
  here as `contributed`, a mapping kept as it is under its keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AssignmentRecord:
    """One invitation of the expert, with its review's submission time if any."""

    status: str  # invited | accepted | declined | withdrawn | completed | proposed
    due_date: dt.date | None = None
    responded_at: dt.datetime | None = None
    decline_reason: str | None = None
    submitted_at: dt.datetime | None = None  # of the review, when submitted


@dataclass(frozen=True)
class CertificateRecord:
    course_id: int
    issued: dt.date
    hours: float
    revoked: bool = False
    counts: bool = False  # satisfies the course's requirement on `as_of` (training rule)


@dataclass(frozen=True)
class RequiredCourse:
    id: int
    title: str


@dataclass
class Facts:
    """What the administrator reads before grading (stored as JSON on the draft)."""

    year: int
    as_of: str
    reviews_done: int = 0
    on_time: int = 0
    late: int = 0
    overdue_open: int = 0
    late_share: float | None = None
    declined: int = 0
    decline_reasons: list[str] = field(default_factory=list)
    ratings_count: int = 0
    rating_average: float | None = None
    training_hours: float = 0.0
    required_total: int = 0
    required_done: int = 0
    required_missing: list[str] = field(default_factory=list)
    file_updated: str | None = None
    file_up_to_date: bool = False
    violations: list[dict[str, Any]] = field(default_factory=list)
    contributed: dict[str, Any] = field(default_factory=dict)

    @property
    def required_complete(self) -> bool:
        return self.required_done >= self.required_total

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "required_complete": self.required_complete}


def year_end(year: int) -> dt.date:
    return dt.date(year, 12, 31)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (the month's last day when it has fewer days)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def gather(
    year: int,
    *,
    assignments: Iterable[AssignmentRecord] = (),
    ratings: Iterable[int] = (),
    certificates: Iterable[CertificateRecord] = (),
    required: Sequence[RequiredCourse] = (),
    file_updated: dt.date | None = None,
    as_of: dt.date | None = None,
    fresh_months: int = 12,
    contributed: Mapping[str, Any] | None = None,
) -> Facts:
    """The facts of `year` for one expert; `as_of` (default: the year's last day) is the day
    the overdue reviews, the required training and the file's freshness are judged on."""
    as_of = as_of or year_end(year)
    facts = Facts(year=year, as_of=as_of.isoformat())
    _reviews(facts, list(assignments), year, as_of)
    scores = [int(r) for r in ratings]
    facts.ratings_count = len(scores)
    facts.rating_average = round(sum(scores) / len(scores), 2) if scores else None
    _training(facts, list(certificates), required, year)
    facts.file_updated = file_updated.isoformat() if file_updated else None
    facts.file_up_to_date = file_updated is not None and file_updated > months_before(
        as_of, fresh_months
    )
    extra = dict(contributed or {})
    facts.violations = list(extra.pop("violations", []) or [])
    facts.contributed = extra
    return facts


def _reviews(facts: Facts, rows: list[AssignmentRecord], year: int, as_of: dt.date) -> None:
    for row in rows:
        submitted = row.submitted_at.date() if row.submitted_at else None
        if submitted is not None and submitted.year == year:
            facts.reviews_done += 1
            if row.due_date is not None and submitted > row.due_date:
                facts.late += 1
            else:
                facts.on_time += 1
        elif (
            submitted is None
            and row.status == "accepted"
            and row.due_date is not None
            and row.due_date.year == year
            and row.due_date < as_of
        ):
            facts.overdue_open += 1
        if row.status == "declined" and row.responded_at and row.responded_at.year == year:
            facts.declined += 1
            if row.decline_reason:
                facts.decline_reasons.append(row.decline_reason)
    counted = facts.reviews_done + facts.overdue_open
    if counted:
        facts.late_share = round((facts.late + facts.overdue_open) / counted, 3)


def _training(
    facts: Facts, certs: list[CertificateRecord], required: Sequence[RequiredCourse], year: int
) -> None:
    facts.training_hours = round(
        sum(c.hours for c in certs if not c.revoked and c.issued.year == year), 2
    )
    held = {c.course_id for c in certs if c.counts and not c.revoked}
    facts.required_total = len(required)
    facts.required_done = sum(1 for course in required if course.id in held)
    facts.required_missing = [course.title for course in required if course.id not in held]
