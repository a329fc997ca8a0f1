"""Certificate validity, the pure rules (no Flask, no database): expiry, state, reminders.

A course may give its certificates a validity in whole years (`Course.validity_years`); a
certificate issued on day D of such a course expires on D + years (29 February falls back to
28 February) and still counts on that day. Its state on a given day is:

- `valid`: counts, and expires later than the expiring window (or never);
- `expiring`: counts, but expires within `window_days` (renewal is open);
- `lapsed`: the expiry date has passed;
- `revoked`: withdrawn by an administrator (counts for nothing, whatever the dates).

Reminders go out at thresholds of days before expiry (default 60, 30, 7), one per threshold:
on a given day the threshold due is the smallest one the days left have reached, so a job that
missed some days sends the nearest reminder only, not every one it skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

VALID, EXPIRING, LAPSED, REVOKED = "valid", "expiring", "lapsed", "revoked"
STATES = (VALID, EXPIRING, LAPSED, REVOKED)
DEFAULT_WINDOW_DAYS = 60
DEFAULT_REMINDER_DAYS = (60, 30, 7)


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def expiry_date(issued: dt.date, validity_years: int | None) -> dt.date | None:
    """The last day a certificate issued on `issued` counts (None: it never expires)."""
    if not validity_years:
        return None
    return add_years(issued, validity_years)


def days_left(expires: dt.date | None, today: dt.date) -> int | None:
    return None if expires is None else (expires - today).days


def state(
    expires: dt.date | None, today: dt.date, window_days: int, *, revoked: bool = False
) -> str:
    """valid / expiring / lapsed / revoked on `today` (see the module docstring)."""
    if revoked:
        return REVOKED
    left = days_left(expires, today)
    if left is None:
        return VALID
    if left < 0:
        return LAPSED
    return EXPIRING if left <= window_days else VALID


def renewable(expires: dt.date | None, today: dt.date, window_days: int) -> bool:
    """May the holder take the course again? Once it lapsed, or within the expiring window."""
    return state(expires, today, window_days) in (EXPIRING, LAPSED)


def parse_days(value: object, default: Iterable[int] = DEFAULT_REMINDER_DAYS) -> tuple[int, ...]:
    """Reminder thresholds from a setting: "60,30,7", [60, 30, 7] or empty (the default).

    Largest first, duplicates and non-positive numbers dropped.
    """
    if value is None or value == "":
        items: Iterable[object] = default
    elif isinstance(value, str):
        items = [part for part in value.replace(";", ",").split(",") if part.strip()]
    elif isinstance(value, int):
        items = [value]
    else:
        items = value  # type: ignore[assignment]
    days = {int(str(item).strip()) for item in items}
    return tuple(sorted((d for d in days if d > 0), reverse=True))


def reminder_due(expires: dt.date | None, today: dt.date, thresholds: Iterable[int]) -> int | None:
    """The threshold whose reminder is due on `today`, or None (never after expiry)."""
    left = days_left(expires, today)
    if left is None or left < 0:
        return None
    reached = [t for t in thresholds if left <= t]
    return min(reached) if reached else None


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_months(today: dt.date, months: int) -> list[str]:
    """ "YYYY-MM" of this month and the `months - 1` following."""
    keys, year, month = [], today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return keys
