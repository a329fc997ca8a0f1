"""Review-quality supervision (审评质量监督): the figures, pure (no Flask, no database).

Input: one `ReviewRecord` per assignment that was answered (accepted, declined or completed),
plain values. Output: per expert and per category, timeliness (days to answer an invitation,
days after the due date), the quality ratings their reviews received, how often their
recommendation went against their panel's majority, how long their reviews are next to their
peers' on the same submission, and the experts who stand out, each with the reason.

Definitions (the supervision page explains the same):
- days to answer: invitation date to answer date, in calendar days;
- lateness: submission date minus due date (negative = early); a review is late when > 0;
  "mean days late" is the mean over the late reviews only;
- majority: the recommendation held by more than half of the submission's submitted reviews;
  where no recommendation has that (a tie), the review counts in no share;
- relative length: the review's text (comments and summary, in characters) divided by the
  median length of the *other* submitted reviews of the same submission; an expert's figure is
  the median of their reviews' ratios;
- outliers: among experts with at least `min_reviews` submitted reviews, a figure is flagged when
  it passes its absolute limit (`Thresholds`), or when its robust z-score
  (x - median) / (1.4826 * MAD) across those experts is at least `z` in the bad direction. When
  the MAD is 0 (most experts identical), the mean absolute deviation stands in, scaled by
  1.2533 (both make the scale equal to the standard deviation for normal data).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

RATINGS = (1, 2, 3, 4, 5)
# Bins of the lateness histogram: (label, lowest day, highest day), None = open end.
LATENESS_BINS: tuple[tuple[str, int | None, int | None], ...] = (
    ("early_15", None, -15),
    ("early_1_14", -14, -1),
    ("on_day", 0, 0),
    ("late_1_7", 1, 7),
    ("late_8_30", 8, 30),
    ("late_31", 31, None),
)
MAD_SCALE = 1.4826
MEANAD_SCALE = 1.2533


@dataclass(frozen=True)
class ReviewRecord:
    """One answered assignment and, once submitted, its review (dates as dates)."""

    assignment_id: int
    expert_id: int
    submission_id: int
    category: int | None
    round_id: int | None = None
    invited_on: dt.date | None = None
    answered_on: dt.date | None = None
    due_on: dt.date | None = None
    review_id: int | None = None
    submitted_on: dt.date | None = None  # None: not (yet) submitted
    recommendation: str | None = None
    rating: int | None = None
    length: int = 0  # characters of the review's text

    @property
    def submitted(self) -> bool:
        return self.submitted_on is not None


@dataclass(frozen=True)
class Filters:
    date_from: dt.date | None = None  # on the invitation date
    date_to: dt.date | None = None
    category: int | None = None
    round_id: int | None = None
    min_reviews: int = 1  # experts with fewer submitted reviews are left out of the table

    def keeps(self, r: ReviewRecord) -> bool:
        if self.category is not None and r.category != self.category:
            return False
        if self.round_id is not None and r.round_id != self.round_id:
            return False
        day = r.invited_on
        if self.date_from and (day is None or day < self.date_from):
            return False
        return not (self.date_to and (day is None or day > self.date_to))


@dataclass(frozen=True)
class Thresholds:
    """Absolute limits of the outlier rules, and the robust z-score limit."""

    late_share: float = 0.5  # share of reviews submitted after the due date
    low_rating: float = 2.5  # mean quality rating at or below
    short_ratio: float = 0.5  # median length relative to peers at or below
    against_share: float = 0.5  # share of recommendations against the panel's majority
    z: float = 3.5  # robust z-score (Iglewicz & Hoaglin's usual limit)


@dataclass(frozen=True)
class ReviewFacts:
    """A record with what its panel says about it."""

    record: ReviewRecord
    answer_days: int | None
    lateness: int | None
    majority: str | None  # the panel's majority recommendation, if any
    against: bool | None  # None: not comparable (no majority, or no recommendation)
    length_ratio: float | None

    @property
    def late(self) -> bool:
        return self.lateness is not None and self.lateness > 0


@dataclass
class Flag:
    code: str  # late | slow_answer | low_rating | short | against
    value: float
    rule: str  # "limit": the absolute limit; "robust": the robust z-score
    limit: float | None = None
    z: float | None = None
    median: float | None = None


@dataclass
class Figures:
    """The figures of one group of reviews (an expert, a category, everything)."""

    invitations: int = 0  # answered invitations
    reviews: int = 0  # submitted reviews
    answer_days_mean: float | None = None
    answer_days_median: float | None = None
    with_due: int = 0
    late: int = 0
    late_share: float | None = None
    mean_days_late: float | None = None
    ratings: dict[int, int] = field(default_factory=dict)
    rated: int = 0
    mean_rating: float | None = None
    comparable: int = 0
    against: int = 0
    against_share: float | None = None
    length_ratio: float | None = None  # median of the reviews' ratios


@dataclass
class ExpertRow:
    expert_id: int
    figures: Figures
    flags: list[Flag] = field(default_factory=list)


@dataclass
class Report:
    overall: Figures
    experts: list[ExpertRow]  # with at least min_reviews, flagged first, then most reviews
    categories: dict[int | None, Figures]
    lateness_histogram: list[tuple[str, int]]
    facts: list[ReviewFacts]  # of the kept records


# --- per review ---------------------------------------------------------------------------------


def _days(a: dt.date | None, b: dt.date | None) -> int | None:
    return (b - a).days if a is not None and b is not None else None


def majority(recommendations: Iterable[str | None]) -> str | None:
    """The recommendation held by more than half of these (None values count in the total)."""
    values = list(recommendations)
    if not values:
        return None
    top, count = Counter(values).most_common(1)[0]
    return top if top is not None and count * 2 > len(values) else None


def review_facts(records: Iterable[ReviewRecord]) -> list[ReviewFacts]:
    """Facts of every record; panels are read from all `records` (give whole submissions)."""
    records = list(records)
    panels: dict[int, list[ReviewRecord]] = defaultdict(list)
    for r in records:
        if r.submitted:
            panels[r.submission_id].append(r)
    return [_facts(r, panels.get(r.submission_id, [])) for r in records]


def _facts(r: ReviewRecord, panel: list[ReviewRecord]) -> ReviewFacts:
    lateness = _days(r.due_on, r.submitted_on) if r.submitted else None
    if not r.submitted:
        return ReviewFacts(r, _days(r.invited_on, r.answered_on), None, None, None, None)
    top = majority(p.recommendation for p in panel)
    against = None if top is None or r.recommendation is None else r.recommendation != top
    peers = [p.length for p in panel if p.assignment_id != r.assignment_id]
    peer_median = statistics.median(peers) if peers else 0
    ratio = r.length / peer_median if peer_median > 0 else None
    return ReviewFacts(r, _days(r.invited_on, r.answered_on), lateness, top, against, ratio)


# --- per group ----------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def figures(facts: Iterable[ReviewFacts]) -> Figures:
    facts = list(facts)
    answers = [f.answer_days for f in facts if f.answer_days is not None]
    done = [f for f in facts if f.record.submitted]
    dues = [f.lateness for f in done if f.lateness is not None]
    late = [d for d in dues if d > 0]
    ratings = [f.record.rating for f in done if f.record.rating is not None]
    comparable = [f for f in done if f.against is not None]
    against = sum(1 for f in comparable if f.against)
    ratios = [f.length_ratio for f in done if f.length_ratio is not None]
    return Figures(
        invitations=len(answers),
        reviews=len(done),
        answer_days_mean=_mean(answers),
        answer_days_median=statistics.median(answers) if answers else None,
        with_due=len(dues),
        late=len(late),
        late_share=len(late) / len(dues) if dues else None,
        mean_days_late=_mean(late),
        ratings={n: ratings.count(n) for n in RATINGS},
        rated=len(ratings),
        mean_rating=_mean(ratings),
        comparable=len(comparable),
        against=against,
        against_share=against / len(comparable) if comparable else None,
        length_ratio=statistics.median(ratios) if ratios else None,
    )


def lateness_histogram(facts: Iterable[ReviewFacts]) -> list[tuple[str, int]]:
    counts = dict.fromkeys((name for name, _lo, _hi in LATENESS_BINS), 0)
    for f in facts:
        if f.lateness is None:
            continue
        for name, lo, hi in LATENESS_BINS:
            if (lo is None or f.lateness >= lo) and (hi is None or f.lateness <= hi):
                counts[name] += 1
                break
    return list(counts.items())


# --- robust outliers ----------------------------------------------------------------------------


def robust_z(values: Sequence[float]) -> tuple[float, Callable[[float], float]]:
    """(median, z) where z(x) is x's robust z-score among `values` (0 when they do not vary)."""
    med = statistics.median(values)
    deviations = [abs(v - med) for v in values]
    mad = statistics.median(deviations)
    scale = MAD_SCALE * mad if mad > 0 else MEANAD_SCALE * statistics.fmean(deviations)
    if scale == 0:
        return med, lambda x: 0.0
    return med, lambda x: (x - med) / scale


# (flag code, figure, True when high is bad, absolute limit's name in Thresholds or None)
RULES: tuple[tuple[str, str, bool, str | None], ...] = (
    ("late", "late_share", True, "late_share"),
    ("slow_answer", "answer_days_median", True, None),
    ("low_rating", "mean_rating", False, "low_rating"),
    ("short", "length_ratio", False, "short_ratio"),
    ("against", "against_share", True, "against_share"),
)


def flag_outliers(rows: list[ExpertRow], thresholds: Thresholds) -> None:
    """Add to each row the rules it breaks, comparing the rows among themselves."""
    for code, name, high_bad, limit_name in RULES:
        present = [(row, getattr(row.figures, name)) for row in rows]
        present = [(row, v) for row, v in present if v is not None]
        if not present:
            continue
        med, z_of = robust_z([v for _row, v in present])
        limit = getattr(thresholds, limit_name) if limit_name else None
        for row, value in present:
            z = z_of(value)
            sign = 1 if high_bad else -1
            if limit is not None and (value >= limit if high_bad else value <= limit):
                row.flags.append(Flag(code, value, "limit", limit=limit, z=z, median=med))
            elif z * sign >= thresholds.z:
                row.flags.append(Flag(code, value, "robust", z=z, median=med))


# --- the report ---------------------------------------------------------------------------------


def report(
    records: Iterable[ReviewRecord], filters: Filters, thresholds: Thresholds | None = None
) -> Report:
    """Everything the supervision page shows, for the records the filters keep."""
    thresholds = thresholds or Thresholds()
    kept = [f for f in review_facts(records) if filters.keeps(f.record)]
    by_expert: dict[int, list[ReviewFacts]] = defaultdict(list)
    by_category: dict[int | None, list[ReviewFacts]] = defaultdict(list)
    for f in kept:
        by_expert[f.record.expert_id].append(f)
        by_category[f.record.category].append(f)
    rows = [ExpertRow(eid, figures(fs)) for eid, fs in by_expert.items()]
    rows = [row for row in rows if row.figures.reviews >= max(filters.min_reviews, 1)]
    flag_outliers(rows, thresholds)
    rows.sort(key=lambda row: (not row.flags, -row.figures.reviews, row.expert_id))
    return Report(
        overall=figures(kept),
        experts=rows,
        categories={
            c: figures(fs)
            for c, fs in sorted(by_category.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        },
        lateness_histogram=lateness_histogram(kept),
        facts=kept,
    )


# --- spot checks --------------------------------------------------------------------------------

# A rating's verdict: the band it falls in. Two ratings in different bands disagree even when
# they are close (3 "acceptable" against 2 "poor").
VERDICT_BANDS = (("poor", 1, 2), ("acceptable", 3, 3), ("good", 4, 5))


def verdict(rating: int) -> str:
    return next(name for name, lo, hi in VERDICT_BANDS if lo <= rating <= hi)


def disagree(first: int | None, second: int | None, gap: int) -> bool:
    """Whether a second rating disagrees with the first: apart by `gap` or more, or in
    another verdict band. False while either is missing."""
    if first is None or second is None:
        return False
    return abs(first - second) >= gap or verdict(first) != verdict(second)


def sample(candidates: Iterable[int], n: int, seed: int) -> list[int]:
    """`n` of `candidates` (or all, if fewer), the same for the same candidates and seed."""
    pool = sorted(set(candidates))
    return sorted(random.Random(seed).sample(pool, min(max(n, 0), len(pool))))
