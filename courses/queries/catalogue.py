"""The catalogue: courses by address, browsing with facets (topic, audience, level, hours),
sorting and pagination, and the course lists of the authoring pages.

The catalogue holds at most a few hundred published courses, so it is filtered in Python over
one query; facet counts are computed against the other active filters, as shops do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..constants import AUDIENCES, HOUR_RANGES, LEVEL_ORDER, LEVELS, PUBLISHED, TOPICS
from ..models import Course, Enrollment


def course_by_slug(session: Session, slug: str) -> Course | None:
    return session.scalar(select(Course).where(Course.slug == slug))


def published_courses(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).where(Course.status == PUBLISHED)))


def courses_by_title(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).order_by(Course.title)))


def courses_by_status(session: Session) -> list[Course]:
    """Every course, drafts first, then by title (the authoring list)."""
    return list(session.scalars(select(Course).order_by(Course.status, Course.title)))


def enrolment_counts(session: Session) -> dict[int, int]:
    """Course id -> enrolments in it, every cycle counted (the catalogue's popularity)."""
    return dict(
        session.execute(
            select(Enrollment.course_id, func.count()).group_by(Enrollment.course_id)
        ).all()
    )


SORTS: dict[str, Callable[[Course, Mapping[int, int]], Any]] = {
    "title": lambda c, _p: c.title,
    "hours": lambda c, _p: c.hours,
    "level": lambda c, _p: LEVEL_ORDER.get(c.level, 99),
    "newest": lambda c, _p: -(c.published_at or c.created_at).timestamp(),
    "popular": lambda c, p: -p.get(c.id, 0),
}


@dataclass(frozen=True)
class CatalogueFilter:
    q: str = ""
    topic: str = ""
    audience: str = ""
    level: str = ""
    hours: str = ""
    language: str = ""
    sort: str = "title"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CatalogueFilter:
        """Build from request args, ignoring values that are not known."""

        def pick(name: str, allowed: Mapping[str, Any]) -> str:
            value = args.get(name, "")
            return value if value in allowed else ""

        return cls(
            q=args.get("q", "").strip()[:100],
            topic=pick("topic", TOPICS),
            audience=pick("audience", AUDIENCES),
            level=pick("level", LEVELS),
            hours=pick("hours", HOUR_RANGES),
            language=pick("language", {"zh": 1, "en": 1}),
            sort=pick("sort", SORTS) or "title",
        )

    def as_args(self, **changes: str) -> dict[str, str]:
        values = asdict(replace(self, **changes))
        return {k: v for k, v in values.items() if v and not (k == "sort" and v == "title")}

    def matches(self, course: Course, skip: str = "") -> bool:
        checks = {
            "topic": lambda: course.topic == self.topic,
            "audience": lambda: self.audience in (course.audience or []),
            "level": lambda: course.level == self.level,
            "hours": lambda: _in_range(course.hours, self.hours),
            "language": lambda: course.language == self.language,
            "q": lambda: _text_match(course, self.q),
        }
        return all(
            check() for name, check in checks.items() if name != skip and getattr(self, name)
        )

    def apply(self, courses: list[Course], popularity: Mapping[int, int]) -> list[Course]:
        key = SORTS[self.sort]
        return sorted(
            (c for c in courses if self.matches(c)), key=lambda c: (key(c, popularity), c.title)
        )

    def facets(self, courses: list[Course]) -> dict[str, Counter[str]]:
        """For each facet: value -> courses matching it and every *other* active filter."""
        out: dict[str, Counter[str]] = {}
        for name in ("topic", "audience", "level", "hours"):
            counter: Counter[str] = Counter()
            for course in courses:
                if self.matches(course, skip=name):
                    counter.update(_facet_values(course, name))
            out[name] = counter
        return out


def _in_range(hours: float, key: str) -> bool:
    low, high, _label = HOUR_RANGES[key]
    return low <= hours < high


def _text_match(course: Course, q: str) -> bool:
    needle = q.casefold()
    haystack = " ".join(
        [course.title, course.summary or "", course.instructor or "", " ".join(course.tags or [])]
    ).casefold()
    return all(word in haystack for word in needle.split())


def _facet_values(course: Course, name: str) -> list[str]:
    if name == "audience":
        return list(course.audience or [])
    if name == "hours":
        return [k for k in HOUR_RANGES if _in_range(course.hours, k)]
    return [getattr(course, name)]
