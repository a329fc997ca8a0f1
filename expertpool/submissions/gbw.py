"""GBW numbers: 'GBW 08301' (first grade) and 'GBW(E) 080123' (second grade)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.assignment.records import normalize_gbw
from .constants import Grade

_FIRST = re.compile(r"GBW(\d{5})")
_SECOND = re.compile(r"GBW\(E\)(\d{6})")


@dataclass(frozen=True)
class GbwNumber:
    display: str  # canonical spelling kept in the database
    grade: Grade
    category: int  # the first two digits


def parse_gbw(text: str) -> GbwNumber | None:
    """Read a GBW number in any spacing or bracket width; None when it is not one."""
    key = normalize_gbw(text)
    if match := _FIRST.fullmatch(key):
        digits, grade, display = match.group(1), Grade.FIRST, f"GBW {match.group(1)}"
    elif match := _SECOND.fullmatch(key):
        digits, grade, display = match.group(1), Grade.SECOND, f"GBW(E) {match.group(1)}"
    else:
        return None
    category = int(digits[:2])
    if not 1 <= category <= 13:
        return None
    return GbwNumber(display=display, grade=grade, category=category)
