"""Pagination: one rule for every list (pages of the interface and of the JSON API).

The page number comes from the request with `page_arg` (anything that is not a whole number
from 1 up is page 1; a huge number is capped, then `paginate_*` clamps it to the last page, so
"?page=10000000000000000000", "?page=abc" and "?page=-3" never reach the database as an
offset). `paginate_query` pages a SELECT, `paginate_list` a list already in memory; both give a
`Page`. The pager macro (`_macros.html: pagination`) shows `page_window`'s links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

MAX_PAGE = 1_000_000  # far past any list's last page; keeps the number a plain small int
_MAX_DIGITS = len(str(MAX_PAGE))
WINDOW = 3  # pages shown on each side of the current one


def _whole_number(value: Any) -> int | None:
    """A whole number from 0 up, capped at MAX_PAGE (None when `value` is not one)."""
    text = str(value if value is not None else "").strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    return MAX_PAGE if len(text) > _MAX_DIGITS else min(int(text), MAX_PAGE)


def page_arg(args: Mapping[str, Any], name: str = "page") -> int:
    """The page number asked for in `args` (1 when missing or not a whole number from 1 up)."""
    number = _whole_number(args.get(name))
    return max(1, number or 1)


def per_page_arg(
    args: Mapping[str, Any], default: int, maximum: int, name: str = "per_page"
) -> int:
    """The page size asked for in `args`, from 1 to `maximum` (`default` when not given)."""
    number = _whole_number(args.get(name))
    return min(max(1, number or default), maximum)


def page_count(total: int, per_page: int) -> int:
    """Pages needed for `total` rows (at least 1: an empty list still has its first page)."""
    return max(1, -(-total // per_page))


def page_window(page: int, pages: int, width: int = WINDOW) -> list[int | None]:
    """Page numbers to link: the first, the last and `width` each side of `page`; None a gap."""
    shown = [p for p in range(1, pages + 1) if p in (1, pages) or abs(p - page) <= width]
    out: list[int | None] = []
    for p in shown:
        if out and p - (out[-1] or 0) > 1:
            out.append(None)
        out.append(p)
    return out


@dataclass
class Page(Generic[T]):
    """One page of a list: its items, which page it is, the page size and the list's length."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


def _clamp(page: int, total: int, per_page: int) -> int:
    return min(max(1, page), page_count(total, per_page))


def count_rows(session: Session, stmt: Select[Any]) -> int:
    """How many rows `stmt` selects (its ordering dropped)."""
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    return session.scalar(counted) or 0


def paginate_query(session: Session, stmt: Select[tuple[T]], page: int, per_page: int) -> Page[T]:
    """Page `page` of the rows `stmt` selects (clamped to the last page)."""
    total = count_rows(session, stmt)
    page = _clamp(page, total, per_page)
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total)


def paginate_list(items: Sequence[T], page: int, per_page: int) -> Page[T]:
    """Page `page` of a list already in memory (clamped to the last page)."""
    page = _clamp(page, len(items), per_page)
    start = (page - 1) * per_page
    return Page(
        items=list(items[start : start + per_page]), page=page, per_page=per_page, total=len(items)
    )
