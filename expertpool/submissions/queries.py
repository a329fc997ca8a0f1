"""Read-side queries of submissions: the filtered, paginated administrator list."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, or_, select

from ..core import provinces
from ..core.pagination import count_rows
from ..core.requests import whole_number
from ..experts import institutions
from ..experts.constants import CATEGORIES
from .constants import Kind, SubmissionStatus
from .models import Submission

# Submissions that still wait for a panel (the administrator's home page counts them).
WITHOUT_PANEL = (SubmissionStatus.REGISTERED, SubmissionStatus.MATCHING)

SORTS = {
    "created": Submission.created_at,
    "title": Submission.title,
    "status": Submission.status,
    "window": Submission.window_start,
    "province": Submission.applicant_province,
}


@dataclass
class SubmissionFilter:
    q: str = ""  # title, RM name, GBW number, matrix, reference or applicant
    kind: str = ""
    status: str = ""
    category: int | None = None
    province: str = ""
    panel: str = ""  # "none": still waiting for a panel (registered or matching)
    sort: str = "created"
    desc: bool = True

    @classmethod
    def from_args(cls, args: Any) -> SubmissionFilter:
        """Build from request args, ignoring values that don't parse."""
        category = args.get("category", "")
        return cls(
            q=args.get("q", "").strip(),
            kind=args.get("kind", "") if args.get("kind", "") in set(Kind) else "",
            status=args.get("status", "")
            if args.get("status", "") in set(SubmissionStatus)
            else "",
            category=number if (number := whole_number(category)) in CATEGORIES else None,
            province=provinces.filter_value(args.get("province", "")),
            panel="none" if args.get("panel") == "none" else "",
            sort=args.get("sort") if args.get("sort") in SORTS else "created",
            desc=args.get("desc", "1") in ("1", "true"),
        )

    def as_args(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["desc"] = "1" if self.desc else "0"
        return {k: v for k, v in out.items() if v not in ("", None)}

    def statement(self) -> Select[tuple[Submission]]:
        stmt = select(Submission)
        if self.q:
            like = f"%{self.q}%"
            stmt = stmt.where(
                or_(
                    Submission.title.like(like),
                    Submission.rm_name.like(like),
                    Submission.gbw_number.like(like),
                    Submission.matrix.like(like),
                    Submission.reference.like(like),
                    Submission.applicant_institution_id.in_(institutions.matching_ids(self.q)),
                )
            )
        if self.kind:
            stmt = stmt.where(Submission.kind == self.kind)
        if self.status:
            stmt = stmt.where(Submission.status == self.status)
        if self.category:
            stmt = stmt.where(Submission.category == self.category)
        if self.province:
            stmt = stmt.where(Submission.applicant_province == self.province)
        if self.panel == "none":
            stmt = stmt.where(Submission.status.in_(WITHOUT_PANEL))
        column = SORTS[self.sort]
        order = column.desc() if self.desc else column.asc()
        return stmt.order_by(order.nulls_last(), Submission.id.desc())


def without_panel_count(session: Any) -> int:
    """How many submissions `?panel=none` lists."""
    return count_rows(session, SubmissionFilter(panel="none").statement())
