"""Read-side queries of the pool: filtered lists, warnings and coverage figures.

The same `ExpertFilter` drives the administrator list, its XLSX/CSV export and the JSON API.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..core import provinces
from ..core.names import tidy_name
from ..core.pagination import count_rows
from ..core.requests import whole_number
from ..db import utcnow
from . import institutions
from .constants import CATEGORIES, Status
from .models import (
    Expert,
    ExpertCategory,
    PendingChange,
    Specialty,
)

SORTS = {
    "name": Expert.name,
    "province": Expert.province,
    "status": Expert.status,
    "term_end": Expert.term_end,
    "updated": Expert.file_updated_at,
    "experience": Expert.years_experience,
    "id": Expert.id,
}


@dataclass
class ExpertFilter:
    q: str = ""  # name, specialty or summary keyword
    category: int | None = None
    specialty: str = ""
    province: str = ""
    status: str = ""
    title: str = ""
    institution: str = ""
    sort: str = "name"
    desc: bool = False

    @classmethod
    def from_args(cls, args: Any) -> ExpertFilter:
        """Build from request args, ignoring values that don't parse."""
        return cls(
            q=args.get("q", "").strip(),
            category=category
            if (category := whole_number(args.get("category"))) in CATEGORIES
            else None,
            specialty=args.get("specialty", "").strip(),
            province=provinces.filter_value(args.get("province", "")),
            status=args.get("status", "") if args.get("status", "") in set(Status) else "",
            title=args.get("title", "").strip(),
            institution=tidy_name(args.get("institution", "")),
            sort=args.get("sort", "name") if args.get("sort") in SORTS else "name",
            desc=args.get("desc", "") in ("1", "true"),
        )

    def as_args(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["desc"] = "1" if self.desc else ""
        return {k: v for k, v in out.items() if v not in ("", None)}

    def statement(self) -> Select[tuple[Expert]]:
        stmt = select(Expert)
        if self.category:
            stmt = stmt.where(
                Expert.id.in_(
                    select(ExpertCategory.expert_id).where(ExpertCategory.code == self.category)
                )
            )
        if self.specialty:
            stmt = stmt.where(
                Expert.id.in_(
                    select(Specialty.expert_id).where(Specialty.name.icontains(self.specialty))
                )
            )
        if self.q:
            like = f"%{self.q}%"
            stmt = stmt.where(
                or_(
                    Expert.name.ilike(like),
                    Expert.summary.ilike(like),
                    Expert.department.ilike(like),
                    Expert.id.in_(select(Specialty.expert_id).where(Specialty.name.ilike(like))),
                )
            )
        if self.province:
            stmt = stmt.where(Expert.province == self.province)
        if self.status:
            stmt = stmt.where(Expert.status == self.status)
        if self.title:
            stmt = stmt.where(or_(Expert.title == self.title, Expert.title_grade == self.title))
        if self.institution:
            stmt = stmt.where(
                Expert.institution_id.in_(institutions.matching_ids(self.institution))
            )
        column = SORTS[self.sort]
        order = column.desc() if self.desc else column.asc()
        return stmt.order_by(order.nulls_last(), Expert.id)


# --- warnings ---------------------------------------------------------------------------------


def terms_ending(session: Session, within_days: int, today: dt.date | None = None) -> list[Expert]:
    """Active experts whose term ends within `within_days` (or has already ended)."""
    return list(session.scalars(terms_ending_statement(within_days, today)))


def terms_ending_statement(within_days: int, today: dt.date | None = None) -> Select[tuple[Expert]]:
    today = today or dt.date.today()
    return (
        select(Expert)
        .where(
            Expert.status == Status.ACTIVE,
            Expert.term_end <= today + dt.timedelta(days=within_days),
        )
        .order_by(Expert.term_end)
    )


def stale_files(session: Session, years: int, now: dt.datetime | None = None) -> list[Expert]:
    """Experts in the pool whose technical file has not changed for `years` years."""
    return list(session.scalars(stale_files_statement(years, now)))


def stale_files_statement(years: int, now: dt.datetime | None = None) -> Select[tuple[Expert]]:
    limit = (now or utcnow()) - dt.timedelta(days=365 * years)
    return (
        select(Expert)
        .where(Expert.status.in_([Status.ACTIVE, Status.SUSPENDED]), Expert.file_updated_at < limit)
        .order_by(Expert.file_updated_at)
    )


# --- coverage ---------------------------------------------------------------------------------


@dataclass
class Coverage:
    provinces: list[str]
    matrix: dict[tuple[int, str], int]  # (category, province) -> active experts
    per_category: dict[int, int]
    below_minimum: list[tuple[int, int]]
    status_counts: dict[str, int]
    title_counts: dict[str, int]
    age_buckets: dict[str, int]


def coverage(session: Session, minimum: int, today: dt.date | None = None) -> Coverage:
    """Active experts per category × province and the pool's make-up."""
    today = today or dt.date.today()
    rows = session.execute(
        select(ExpertCategory.code, Expert.province, func.count(Expert.id))
        .join(Expert, Expert.id == ExpertCategory.expert_id)
        .where(Expert.status == Status.ACTIVE)
        .group_by(ExpertCategory.code, Expert.province)
    ).all()
    matrix = {(code, prov or "?"): n for code, prov, n in rows}
    per_category = {code: 0 for code in CATEGORIES}
    for (code, _prov), n in matrix.items():
        per_category[code] += n
    provinces = sorted({prov for (_c, prov) in matrix})
    status_counts = dict(
        session.execute(select(Expert.status, func.count()).group_by(Expert.status)).all()
    )
    active = select(Expert).where(Expert.status == Status.ACTIVE)
    titles: Counter[str] = Counter()
    ages: Counter[str] = Counter()
    for expert in session.scalars(active):
        titles[expert.title_grade or "?"] += 1
        ages[_age_bucket(expert.birth_date, today)] += 1
    return Coverage(
        provinces=provinces,
        matrix=matrix,
        per_category=per_category,
        below_minimum=[(c, n) for c, n in per_category.items() if n < minimum],
        status_counts={s: status_counts.get(s, 0) for s in Status},
        title_counts=dict(titles),
        age_buckets={k: ages.get(k, 0) for k in AGE_BUCKETS},
    )


AGE_BUCKETS = ("<40", "40-49", "50-59", "60-69", "70+", "?")


def _age_bucket(birth: dt.date | None, today: dt.date) -> str:
    if birth is None:
        return "?"
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    if age < 40:
        return "<40"
    if age >= 70:
        return "70+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


# --- home pages -------------------------------------------------------------------------------

VETTING_STATUSES = (Status.APPLICANT, Status.VETTING)


def vetting_statement() -> Select[tuple[Expert]]:
    """Applications waiting for a decision (the vetting page lists exactly these)."""
    return select(Expert).where(Expert.status.in_(VETTING_STATUSES)).order_by(Expert.created_at)


def changes_statement(pending_only: bool = False) -> Select[tuple[PendingChange]]:
    stmt = select(PendingChange)
    if pending_only:
        stmt = stmt.where(PendingChange.status == "pending")
    return stmt.order_by(PendingChange.status != "pending", PendingChange.requested_at.desc())


def admin_queue_counts(
    session: Session, config: Any, today: dt.date | None = None
) -> dict[str, int]:
    """Work waiting in the pool: each count is the length of the list its link opens."""
    return {
        "vetting": count_rows(session, vetting_statement()),
        "changes": count_rows(session, changes_statement(pending_only=True)),
        # Counted in the database: loading the experts (with their eager collections) to count
        # them was most of an administrator's home page.
        "terms_ending": count_rows(
            session, terms_ending_statement(config["TERM_WARNING_DAYS"], today)
        ),
        "stale_files": count_rows(session, stale_files_statement(config["STALE_FILE_YEARS"])),
        "below_minimum": len(
            categories_below_minimum(session, config["COVERAGE_MIN_PER_CATEGORY"])
        ),
    }


def categories_below_minimum(session: Session, minimum: int) -> list[tuple[int, int]]:
    """(category, active experts) for every category with fewer than `minimum` (as coverage)."""
    rows = session.execute(
        select(ExpertCategory.code, func.count(func.distinct(Expert.id)))
        .join(Expert, Expert.id == ExpertCategory.expert_id)
        .where(Expert.status == Status.ACTIVE)
        .group_by(ExpertCategory.code)
    ).all()
    per_category = {code: 0 for code in CATEGORIES}
    per_category.update({code: n for code, n in rows if code in per_category})
    return [(c, n) for c, n in per_category.items() if n < minimum]


@dataclass
class FileState:
    """The state of an expert's own technical file, for their home page."""

    expert: Expert
    pending: list[PendingChange]
    term_end: dt.date | None
    term_ending: bool  # ends within the warning window (or has ended)
    stale: bool  # not updated for the configured number of years


def file_state(
    session: Session,
    expert: Expert,
    config: Any,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> FileState:
    today = today or dt.date.today()
    limit = (now or utcnow()) - dt.timedelta(days=365 * config["STALE_FILE_YEARS"])
    pending = list(
        session.scalars(
            select(PendingChange)
            .where(PendingChange.expert_id == expert.id, PendingChange.status == "pending")
            # an administrators' proposal (suspension, removal) is not the expert's request
            .where(PendingChange.kind != "status")
            .order_by(PendingChange.requested_at)
        )
    )
    term_ending = (
        expert.status == Status.ACTIVE
        and expert.term_end is not None
        and expert.term_end <= today + dt.timedelta(days=config["TERM_WARNING_DAYS"])
    )
    stale = expert.file_updated_at is not None and expert.file_updated_at < limit
    return FileState(expert, pending, expert.term_end, term_ending, stale)
