"""Grades, the suggested grade, consequences and the chart's counts (pure: no Flask, no database).

The grades, the thresholds of the suggestion and the consequences are settings
(`ASSESSMENT_GRADES`, `ASSESSMENT_RULES`, `ASSESSMENT_CONSEQUENCES`): the regulation names the
assessment but not its scale, so each pool office sets its own. The suggestion is only shown
beside the form: the administrator decides, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

# Consequences an assessment may propose (the experts' life-cycle steps another administrator
# approves): never applied by the assessment itself.
CONSEQUENCE_ACTIONS = frozenset({"suspend", "retire", "remove"})


@dataclass(frozen=True)
class Grade:
    code: str  # the stored value: the Chinese name (as the regulator's forms spell it)
    en: str
    rating: int  # 1-5: the annual assessment's rating in the technical file

    def label(self, locale: str | None = None) -> str:
        return self.en if (locale or "").startswith("en") else self.code


def grades_from(config: Iterable[Sequence[Any]]) -> list[Grade]:
    """The grades from the setting: (Chinese, English, rating), best first."""
    out = [Grade(str(zh), str(en), int(rating)) for zh, en, rating in config]
    if len(out) < 2 or len({g.code for g in out}) != len(out):
        raise ValueError("ASSESSMENT_GRADES needs at least two distinct grades")
    if any(not 1 <= g.rating <= 5 for g in out):
        raise ValueError("ASSESSMENT_GRADES ratings must be between 1 and 5")
    return out


@dataclass(frozen=True)
class SuggestionRules:
    """Thresholds of the suggested grade; each grade name None means the list's own position
    (excellent: the first, satisfactory: the second, basic: the one before last, unsatisfactory:
    the last)."""

    unsatisfactory_late_share: float = 0.5
    basic_late_share: float = 0.2
    unsatisfactory_rating: float = 2.0  # an average below this
    basic_rating: float = 3.0
    excellent_rating: float = 4.5  # an average at least this
    excellent_min_reviews: int = 3
    unsatisfactory_violations: int = 1  # this many violations or more
    basic_declines: int = 5
    excellent: str | None = None
    satisfactory: str | None = None
    basic: str | None = None
    unsatisfactory: str | None = None

    @classmethod
    def from_config(cls, values: Mapping[str, Any] | None) -> SuggestionRules:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    def levels(self, grades: Sequence[Grade]) -> dict[str, str]:
        codes = [g.code for g in grades]
        return {
            "excellent": self.excellent or codes[0],
            "satisfactory": self.satisfactory or codes[min(1, len(codes) - 1)],
            "basic": self.basic or codes[max(len(codes) - 2, 0)],
            "unsatisfactory": self.unsatisfactory or codes[-1],
        }


@dataclass(frozen=True)
class Suggestion:
    grade: str
    reasons: tuple[tuple[str, Any], ...]  # (code, value): why, for the page to say in words


def suggest(
    facts: Mapping[str, Any], grades: Sequence[Grade], rules: SuggestionRules
) -> Suggestion:
    """The grade the rules suggest for these facts (`Facts.as_dict()`), with the reasons."""
    level = rules.levels(grades)
    late, rating = facts.get("late_share"), facts.get("rating_average")
    violations = len(facts.get("violations") or [])
    worst = []
    if violations >= rules.unsatisfactory_violations > 0:
        worst.append(("violations", violations))
    if late is not None and late >= rules.unsatisfactory_late_share:
        worst.append(("late_share", late))
    if rating is not None and rating < rules.unsatisfactory_rating:
        worst.append(("low_rating", rating))
    if worst:
        return Suggestion(level["unsatisfactory"], tuple(worst))
    weak = []
    if late is not None and late >= rules.basic_late_share:
        weak.append(("late_share", late))
    if rating is not None and rating < rules.basic_rating:
        weak.append(("low_rating", rating))
    if not facts.get("required_complete", True):
        weak.append(("training_missing", len(facts.get("required_missing") or [])))
    if not facts.get("file_up_to_date", True):
        weak.append(("file_stale", facts.get("file_updated")))
    if facts.get("declined", 0) >= rules.basic_declines > 0:
        weak.append(("declines", facts.get("declined")))
    if weak:
        return Suggestion(level["basic"], tuple(weak))
    if (
        facts.get("reviews_done", 0) >= rules.excellent_min_reviews
        and not facts.get("late", 0)
        and not facts.get("overdue_open", 0)
        and rating is not None
        and rating >= rules.excellent_rating
    ):
        return Suggestion(level["excellent"], (("excellent", facts.get("reviews_done")),))
    return Suggestion(level["satisfactory"], ())


def consequence_of(grade: str, consequences: Mapping[str, str]) -> str | None:
    """The life-cycle step a grade proposes (ASSESSMENT_CONSEQUENCES), or None."""
    action = (consequences or {}).get(grade)
    if action is None:
        return None
    if action not in CONSEQUENCE_ACTIONS:
        raise ValueError(f"ASSESSMENT_CONSEQUENCES: unknown action {action!r} for {grade!r}")
    return action


# -- the chart -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradedRow:
    grade: str | None
    categories: tuple[int, ...]
    province: str | None


def counts_by(rows: Iterable[GradedRow], key: str) -> dict[Any, dict[str, int]]:
    """Grades counted per category (an expert counts in each of theirs) or per province.
    Ungraded rows are left out; keys in their natural order."""
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        if not row.grade:
            continue
        keys: Iterable[Any] = row.categories if key == "category" else [row.province or ""]
        for k in keys:
            per = out.setdefault(k, {})
            per[row.grade] = per.get(row.grade, 0) + 1
    return dict(sorted(out.items(), key=lambda item: (item[0] is None, str(item[0]).zfill(3))))


def stacked_bars(
    counts: Mapping[Any, Mapping[str, int]], grades: Sequence[str], width: float = 100.0
) -> list[dict[str, Any]]:
    """Horizontal stacked bars for an inline SVG: per key, each grade's segment (x, w) in
    units of `width` for the longest bar."""
    longest = max((sum(per.values()) for per in counts.values()), default=0) or 1
    bars = []
    for key, per in counts.items():
        x, segments = 0.0, []
        for grade in grades:
            n = per.get(grade, 0)
            if n:
                w = width * n / longest
                segments.append({"grade": grade, "n": n, "x": round(x, 2), "w": round(w, 2)})
                x += w
        bars.append({"key": key, "total": sum(per.values()), "segments": segments})
    return bars
