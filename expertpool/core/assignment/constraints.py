"""Recusal and availability rules: who may review a submission, and why not.

Two forms that must agree exactly (a hypothesis test checks it code by code):
- `eligibility()` explains one (expert, submission) pair with every reason that excludes it;
- `exclusion_masks()` / `eligible_mask()` answer the same for a whole pool at once, over an
  `ExpertTable` of numpy columns and inverted indexes built once from many records.

Date rules (all bounds inclusive): the review window is `submission.window(today)`; the expert's
term must cover it; an unavailable period touching it excludes; employment with an applicant
institution counts as recent if it ended on or after the window start minus
`years_since_employment` years (or has not ended); a paper counts as recent co-authorship if its
year is at least the window start's year minus `coauthor_years` (a paper without a year counts:
the safe side).

People are compared by `names.match`: only a CERTAIN match excludes; a POSSIBLE one (a common
name, initials, a Chinese name and its pinyin: never certain) is a warning for the
administrator (`possible_conflicts`), not an exclusion.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from .affinity import top_k
from .names import CERTAIN, POSSIBLE, certain_keys, match, why_possible
from .records import (
    ACTIVE,
    Exclusion,
    ExpertRecord,
    Rules,
    SubmissionRecord,
    is_free_mail,
    org_domains,
)

CODES = (
    "not_active",
    "term_not_started",
    "term_ended",
    "unavailable",
    "same_institution",
    "declared_conflict",
    "developed_rm",
    "recent_employment",
    "coauthor",
    "shared_email_domain",
    "advisor_student",
    "load_cap",
    "training_missing",
    "training_lapsed",
    "category_mismatch",
    "under_investigation",
)

_FAR_PAST = 0  # ordinals: date.min is 1, so 0 is before any date
_FAR_FUTURE = date.max.toordinal() + 1
_EMPTY_ROWS = np.zeros(0, dtype=np.int64)
_NO_YEAR = 10_000  # a paper without a year: after any cutoff, so it always counts


def employment_cutoff(window_start: date, years: int) -> date:
    """First day that still counts as 'recent' employment (29 Feb falls back to 28 Feb)."""
    try:
        return window_start.replace(year=window_start.year - years)
    except ValueError:
        return window_start.replace(year=window_start.year - years, day=28)


# --- scalar form -------------------------------------------------------------------------------


def eligibility(
    expert: ExpertRecord, submission: SubmissionRecord, rules: Rules, today: date
) -> list[Exclusion]:
    """Every reason `expert` may not review `submission`, in `CODES` order; [] means eligible."""
    start, end = submission.window(today)
    applicants = submission.applicant_institutions
    checks = (
        _status(expert),
        _term(expert, start, end),
        _unavailable(expert, start, end),
        _same_institution(expert, applicants),
        _declared_conflict(expert, submission, applicants),
        _developed(expert, submission),
        _recent_employment(
            expert, applicants, employment_cutoff(start, rules.years_since_employment)
        ),
        _coauthor(expert, submission, rules, start),
        _shared_domain(expert, submission, rules),
        _advisor_student(expert, submission),
        _load(expert, rules),
        _training(expert, rules),
        _category(expert, submission, rules),
        _investigation(expert, rules),
    )
    return [exclusion for found in checks for exclusion in found]


def coauthor_cutoff(window_start: date, years: int) -> int:
    """First publication year that still counts as recent co-authorship."""
    return window_start.year - years


def _recent_papers(expert: ExpertRecord, rules: Rules, start: date):
    if rules.coauthor_years is None:
        return []
    cutoff = coauthor_cutoff(start, rules.coauthor_years)
    return [p for p in expert.coauthors if p[2] is None or p[2] >= cutoff]


def _paper_hits(expert, submission, rules, start, strength):
    """(person of the applicant, author as written, title, year) for each name match."""
    return [
        (person, author, title, year)
        for author, title, year in _recent_papers(expert, rules, start)
        for person in submission.named_people
        if match(author, person) == strength
    ]


def _latest(hits):
    # The latest paper first (no year = most recent), then by title: stable evidence.
    return min(hits, key=lambda h: (-(h[3] if h[3] is not None else _NO_YEAR), h[2], h[0]))


def _coauthor(
    expert: ExpertRecord, submission: SubmissionRecord, rules: Rules, start: date
) -> list[Exclusion]:
    hits = _paper_hits(expert, submission, rules, start, CERTAIN)
    if not hits:
        return []
    person, author, title, year = _latest(hits)
    params = {"person": person, "author": author, "title": title, "year": year}
    return [Exclusion("coauthor", {**params, "papers": len({h[2] for h in hits})})]


def _free_filtered(domains, rules: Rules) -> list[str]:
    return sorted(d for d in domains if not is_free_mail(d, rules.free_mail_domains))


def _shared_domain(
    expert: ExpertRecord, submission: SubmissionRecord, rules: Rules
) -> list[Exclusion]:
    if not rules.email_domain_recusal:
        return []
    shared = {
        domain
        for mine in _free_filtered(expert.email_domains, rules)
        for theirs in _free_filtered(submission.contact_domains, rules)
        for domain in org_domains(mine) & org_domains(theirs)
    }
    if not shared:
        return []
    # The most specific domain both sides are under ("nim.ac.cn", not a bare "ac.cn").
    domain = max(sorted(shared), key=len)
    return [Exclusion("shared_email_domain", {"domain": domain})]


def _relation_hits(expert, submission, strength):
    return [
        (person, name, relation)
        for name, relation in expert.relations
        for person in submission.named_people
        if match(name, person) == strength
    ]


def _advisor_student(expert: ExpertRecord, submission: SubmissionRecord) -> list[Exclusion]:
    hits = sorted(_relation_hits(expert, submission, CERTAIN))
    if not hits:
        return []
    person, name, relation = hits[0]
    return [
        Exclusion("advisor_student", {"person": person, "declared": name, "relation": relation})
    ]


def possible_conflicts(
    expert: ExpertRecord, submission: SubmissionRecord, rules: Rules, today: date
) -> list[Exclusion]:
    """Name matches too weak to exclude (a common name, initials, a Chinese name and its
    pinyin), to show as warnings.

    Codes "possible_coauthor" and "possible_relation"; `params["why"]` is "common_name",
    "initials", "pinyin" or "pinyin_initials" (`names.why_possible`). Never part of
    `eligibility`: the administrator decides. A match across scripts is left out when the
    same author of the same paper (the same declared person) already matches for certain:
    the applicant who names 欧阳建国 and Jianguo Ouyang gets one exclusion, not a warning too.
    """
    start, _end = submission.window(today)
    found = []
    certain_papers = {(h[1], h[2]) for h in _paper_hits(expert, submission, rules, start, CERTAIN)}
    papers = _paper_hits(expert, submission, rules, start, POSSIBLE)
    for person, author, title, year in sorted(papers, key=lambda h: (h[0], h[2], h[1])):
        why = why_possible(author, person)
        if why in _ACROSS_SCRIPTS and (author, title) in certain_papers:
            continue
        params = {"person": person, "author": author, "title": title, "year": year, "why": why}
        found.append(Exclusion("possible_coauthor", params))
    certain_names = {h[1] for h in _relation_hits(expert, submission, CERTAIN)}
    for person, name, relation in sorted(_relation_hits(expert, submission, POSSIBLE)):
        why = why_possible(name, person)
        if why in _ACROSS_SCRIPTS and name in certain_names:
            continue
        params = {"person": person, "declared": name, "relation": relation, "why": why}
        found.append(Exclusion("possible_relation", params))
    return found


_ACROSS_SCRIPTS = frozenset({"pinyin", "pinyin_initials"})


def is_eligible(
    expert: ExpertRecord, submission: SubmissionRecord, rules: Rules, today: date
) -> bool:
    return not eligibility(expert, submission, rules, today)


def _status(expert: ExpertRecord) -> list[Exclusion]:
    return (
        [] if expert.status == ACTIVE else [Exclusion("not_active", {"status": str(expert.status)})]
    )


def _term(expert: ExpertRecord, start: date, end: date) -> list[Exclusion]:
    found = []
    if expert.term_start is not None and expert.term_start > start:
        found.append(Exclusion("term_not_started", {"term_start": expert.term_start.isoformat()}))
    if expert.term_end is not None and expert.term_end < end:
        found.append(Exclusion("term_ended", {"term_end": expert.term_end.isoformat()}))
    return found


def _unavailable(expert: ExpertRecord, start: date, end: date) -> list[Exclusion]:
    hits = sorted(p for p in expert.unavailable if p[0] <= end and p[1] >= start)
    if not hits:
        return []
    first_start, first_end = hits[0]
    params = {"start": first_start.isoformat(), "end": first_end.isoformat(), "periods": len(hits)}
    return [Exclusion("unavailable", params)]


def _same_institution(expert: ExpertRecord, applicants: frozenset[int]) -> list[Exclusion]:
    if expert.institution_id is None or expert.institution_id not in applicants:
        return []
    return [Exclusion("same_institution", {"institution_id": expert.institution_id})]


def _declared_conflict(
    expert: ExpertRecord, submission: SubmissionRecord, applicants: frozenset[int]
) -> list[Exclusion]:
    institutions = tuple(sorted(expert.conflict_institution_ids & applicants))
    persons = tuple(sorted(expert.conflict_persons & submission.related_people))
    if not institutions and not persons:
        return []
    return [Exclusion("declared_conflict", {"institution_ids": institutions, "persons": persons})]


def _developed(expert: ExpertRecord, submission: SubmissionRecord) -> list[Exclusion]:
    numbers = tuple(sorted(expert.developed_rms & submission.rm_numbers))
    listed = expert.id in submission.developer_expert_ids
    if not numbers and not listed:
        return []
    return [Exclusion("developed_rm", {"rm_numbers": numbers, "listed_as_developer": listed})]


def _recent_employment(
    expert: ExpertRecord, applicants: frozenset[int], cutoff: date
) -> list[Exclusion]:
    recent = [
        (institution, ended)
        for institution, ended in expert.past_employers
        if institution in applicants and (ended is None or ended >= cutoff)
    ]
    if not recent:
        return []
    # Report the latest spell: "until present" beats any end date.
    institution, ended = max(recent, key=lambda r: (r[1] is None, r[1] or date.min, -r[0]))
    until = "present" if ended is None else ended.isoformat()
    return [Exclusion("recent_employment", {"institution_id": institution, "until": until})]


def _load(expert: ExpertRecord, rules: Rules) -> list[Exclusion]:
    if expert.load_this_year < rules.load_cap_per_year:
        return []
    return [Exclusion("load_cap", {"load": expert.load_this_year, "cap": rules.load_cap_per_year})]


def _training(expert: ExpertRecord, rules: Rules) -> list[Exclusion]:
    if not rules.require_training or expert.training_ok is True:
        return []
    if expert.training_ok is False and expert.training_lapsed:
        if not rules.training_lapsed_blocks:
            return []
        return [Exclusion("training_lapsed", {"training": "lapsed"})]
    state = "unknown" if expert.training_ok is None else "missing"
    return [Exclusion("training_missing", {"training": state})]


def _category(expert: ExpertRecord, submission: SubmissionRecord, rules: Rules) -> list[Exclusion]:
    if not rules.require_category or submission.category is None:
        return []
    if submission.category in expert.categories:
        return []
    return [Exclusion("category_mismatch", {"category": submission.category})]


def _investigation(expert: ExpertRecord, rules: Rules) -> list[Exclusion]:
    if not rules.exclude_under_investigation or not expert.under_investigation:
        return []
    return [Exclusion("under_investigation")]


# --- columnar form -----------------------------------------------------------------------------


def _index(pairs: dict[Hashable, list[int]]) -> dict[Hashable, np.ndarray]:
    return {key: np.asarray(rows, dtype=np.int64) for key, rows in pairs.items()}


def _ordinal(day: date | None, missing: int) -> int:
    return missing if day is None else day.toordinal()


def _category_bits(categories: Iterable[int]) -> int:
    bits = 0
    for code in categories:
        if not 0 <= code < 64:
            raise ValueError(f"category code {code} outside 0..63")
        bits |= 1 << code
    return bits


@dataclass(frozen=True, eq=False)
class ExpertTable:
    """Columnar copy of many ExpertRecords, built once, queried per submission.

    Row i is `records[i]`. Per-expert sets (conflicts, developed RMs, past employers) are kept as
    inverted indexes key -> rows, because a submission touches only a handful of keys.
    """

    ids: np.ndarray  # int64
    institution: np.ndarray  # int64, -1 = unknown
    province: np.ndarray  # int32 code into `provinces`, -1 = unknown
    provinces: tuple[str, ...]
    active: np.ndarray  # bool
    term_start: np.ndarray  # int64 ordinal (0 = open)
    term_end: np.ndarray  # int64 ordinal (far future = open)
    load: np.ndarray  # int64 reviews this year
    metrology: np.ndarray  # bool
    training: np.ndarray  # int8: 1 done, 0 missing, 2 lapsed, -1 unknown
    category_bits: np.ndarray  # uint64 bitmask of categories
    investigated: np.ndarray  # bool: a violation case under investigation
    unavailable_rows: np.ndarray  # int64, one entry per unavailable period
    unavailable_start: np.ndarray
    unavailable_end: np.ndarray
    row_by_id: Mapping[int, int]
    rows_by_institution: Mapping[int, np.ndarray]
    rows_by_conflict_institution: Mapping[int, np.ndarray]
    rows_by_conflict_person: Mapping[str, np.ndarray]
    rows_by_developed_rm: Mapping[str, np.ndarray]
    past_employment: Mapping[int, tuple[np.ndarray, np.ndarray]]  # inst -> (rows, end ordinals)
    # `names.certain_keys` of each co-author -> (rows, paper years; no year = _NO_YEAR)
    coauthor_keys: Mapping[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(
        default_factory=dict
    )
    # organisation domain -> (rows, the expert's own domain under it), for the free-mail test
    email_domains: Mapping[str, tuple[tuple[int, str], ...]] = dataclasses.field(
        default_factory=dict
    )
    rows_by_relation_key: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ids.size)

    @classmethod
    def from_records(cls, experts: Sequence[ExpertRecord]) -> ExpertTable:
        return _TableBuilder(experts).build()

    def round_capacity(self, rules: Rules) -> np.ndarray:
        """Per-expert reviews still allowed this round (vectorised `Rules.round_capacity`)."""
        left = rules.load_cap_per_year - self.load
        if rules.load_cap_per_round is not None:
            left = np.minimum(left, rules.load_cap_per_round)
        return np.maximum(left, 0)


class _TableBuilder:
    """Collects the columns and indexes of an ExpertTable in one pass over the records."""

    def __init__(self, experts: Sequence[ExpertRecord]) -> None:
        self.experts = experts
        self.province_codes: dict[str, int] = {}
        self.by_institution: dict[Hashable, list[int]] = defaultdict(list)
        self.by_conflict_institution: dict[Hashable, list[int]] = defaultdict(list)
        self.by_conflict_person: dict[Hashable, list[int]] = defaultdict(list)
        self.by_developed: dict[Hashable, list[int]] = defaultdict(list)
        self.past: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        self.domains: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self.by_relation: dict[Hashable, list[int]] = defaultdict(list)
        self.unavailable: tuple[list[int], list[int], list[int]] = ([], [], [])

    def build(self) -> ExpertTable:
        experts = self.experts
        row_by_id = {e.id: row for row, e in enumerate(experts)}
        if len(row_by_id) != len(experts):
            raise ValueError("duplicate expert ids")
        for row, expert in enumerate(experts):
            self._index_sets(row, expert)
        unavailable = [np.asarray(col, dtype=np.int64) for col in self.unavailable]
        return ExpertTable(
            ids=np.fromiter((e.id for e in experts), np.int64, len(experts)),
            institution=self._column(
                lambda e: -1 if e.institution_id is None else e.institution_id
            ),
            province=self._column(self._province_code, np.int32),
            provinces=tuple(self.province_codes),
            active=self._column(lambda e: e.status == ACTIVE, bool),
            term_start=self._column(lambda e: _ordinal(e.term_start, _FAR_PAST)),
            term_end=self._column(lambda e: _ordinal(e.term_end, _FAR_FUTURE)),
            load=self._column(lambda e: e.load_this_year),
            metrology=self._column(lambda e: e.metrology_competent, bool),
            training=self._column(_training_code, np.int8),
            category_bits=self._column(lambda e: _category_bits(e.categories), np.uint64),
            investigated=self._column(lambda e: e.under_investigation, bool),
            unavailable_rows=unavailable[0],
            unavailable_start=unavailable[1],
            unavailable_end=unavailable[2],
            row_by_id=row_by_id,
            rows_by_institution=_index(self.by_institution),
            rows_by_conflict_institution=_index(self.by_conflict_institution),
            rows_by_conflict_person=_index(self.by_conflict_person),
            rows_by_developed_rm=_index(self.by_developed),
            past_employment={
                inst: (np.asarray(rows, np.int64), np.asarray(ends, np.int64))
                for inst, (rows, ends) in self.past.items()
            },
            coauthor_keys=coauthor_index([e.coauthors for e in experts]),
            email_domains={key: tuple(pairs) for key, pairs in self.domains.items()},
            rows_by_relation_key=_index(self.by_relation),
        )

    def _column(self, value, dtype: type = np.int64) -> np.ndarray:
        return np.fromiter((value(e) for e in self.experts), dtype, len(self.experts))

    def _province_code(self, expert: ExpertRecord) -> int:
        if expert.province is None:
            return -1
        return self.province_codes.setdefault(expert.province, len(self.province_codes))

    def _index_sets(self, row: int, expert: ExpertRecord) -> None:
        if expert.institution_id is not None:
            self.by_institution[expert.institution_id].append(row)
        for inst in expert.conflict_institution_ids:
            self.by_conflict_institution[inst].append(row)
        for person in expert.conflict_persons:
            self.by_conflict_person[person].append(row)
        for number in expert.developed_rms:
            self.by_developed[number].append(row)
        for inst, ended in expert.past_employers:
            rows, ends = self.past[inst]
            rows.append(row)
            ends.append(_ordinal(ended, _FAR_FUTURE))
        for domain in expert.email_domains:
            for key in org_domains(domain):
                self.domains[key].append((row, domain))
        for name, _relation in expert.relations:
            for key in certain_keys(name):
                self.by_relation[key].append(row)
        for start, end in expert.unavailable:
            self.unavailable[0].append(row)
            self.unavailable[1].append(start.toordinal())
            self.unavailable[2].append(end.toordinal())


def coauthor_index(
    coauthors: Sequence[Iterable[tuple[str, str, int | None]]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """`ExpertTable.coauthor_keys` of the experts whose `ExpertRecord.coauthors` are given, one
    entry per table row: each co-author's certain keys -> (rows, paper years)."""
    found: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for row, papers in enumerate(coauthors):
        for author, _title, year in papers:
            for key in certain_keys(author):
                rows, years = found[key]
                rows.append(row)
                years.append(_NO_YEAR if year is None else year)
    return {
        key: (np.asarray(rows, np.int64), np.asarray(years, np.int64))
        for key, (rows, years) in found.items()
    }


TRAINING_UNKNOWN, TRAINING_MISSING, TRAINING_DONE, TRAINING_LAPSED = -1, 0, 1, 2


def _training_code(expert: ExpertRecord) -> int:
    if expert.training_ok is None:
        return TRAINING_UNKNOWN
    if expert.training_ok:
        return TRAINING_DONE
    return TRAINING_LAPSED if expert.training_lapsed else TRAINING_MISSING


def _rows(index: Mapping[Hashable, np.ndarray], keys: Iterable[Hashable]) -> np.ndarray:
    found = [index[key] for key in keys if key in index]
    if not found:
        return _EMPTY_ROWS
    return found[0] if len(found) == 1 else np.concatenate(found)


def _mask_of(rows: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def exclusion_masks(
    table: ExpertTable, submission: SubmissionRecord, rules: Rules, today: date
) -> dict[str, np.ndarray]:
    """For each code in `CODES`, which rows of `table` that reason excludes."""
    n = len(table)
    start_day, end_day = submission.window(today)
    start, end = start_day.toordinal(), end_day.toordinal()
    applicants = submission.applicant_institutions
    hit = (table.unavailable_start <= end) & (table.unavailable_end >= start)
    developers = [
        table.row_by_id[i] for i in submission.developer_expert_ids if i in table.row_by_id
    ]
    developed = np.concatenate(
        [_rows(table.rows_by_developed_rm, submission.rm_numbers), np.asarray(developers, np.int64)]
    )
    conflicts = np.concatenate(
        [
            _rows(table.rows_by_conflict_institution, applicants),
            _rows(table.rows_by_conflict_person, submission.related_people),
        ]
    )
    return {
        "not_active": ~table.active,
        "term_not_started": table.term_start > start,
        "term_ended": table.term_end < end,
        "unavailable": _mask_of(table.unavailable_rows[hit], n),
        "same_institution": _mask_of(_rows(table.rows_by_institution, applicants), n),
        "declared_conflict": _mask_of(conflicts, n),
        "developed_rm": _mask_of(developed, n),
        "recent_employment": _recent_mask(table, applicants, start_day, rules),
        "coauthor": _coauthor_mask(table, submission, start_day, rules),
        "shared_email_domain": _domain_mask(table, submission, rules),
        "advisor_student": _mask_of(_rows(table.rows_by_relation_key, _people_keys(submission)), n),
        "load_cap": table.load >= rules.load_cap_per_year,
        "training_missing": _training_mask(table, rules),
        "training_lapsed": _lapsed_mask(table, rules),
        "category_mismatch": _category_mask(table, submission, rules),
        "under_investigation": table.investigated
        if rules.exclude_under_investigation
        else np.zeros(n, dtype=bool),
    }


def _recent_mask(
    table: ExpertTable, applicants: frozenset[int], start: date, rules: Rules
) -> np.ndarray:
    cutoff = employment_cutoff(start, rules.years_since_employment).toordinal()
    mask = np.zeros(len(table), dtype=bool)
    for inst in applicants:
        if inst in table.past_employment:
            rows, ends = table.past_employment[inst]
            mask[rows[ends >= cutoff]] = True
    return mask


def _people_keys(submission: SubmissionRecord) -> set[str]:
    return {key for person in submission.named_people for key in certain_keys(person)}


def _coauthor_mask(
    table: ExpertTable, submission: SubmissionRecord, start: date, rules: Rules
) -> np.ndarray:
    mask = np.zeros(len(table), dtype=bool)
    if rules.coauthor_years is None:
        return mask
    cutoff = coauthor_cutoff(start, rules.coauthor_years)
    for key in _people_keys(submission):
        if key in table.coauthor_keys:
            rows, years = table.coauthor_keys[key]
            mask[rows[years >= cutoff]] = True
    return mask


def _domain_mask(table: ExpertTable, submission: SubmissionRecord, rules: Rules) -> np.ndarray:
    mask = np.zeros(len(table), dtype=bool)
    if not rules.email_domain_recusal:
        return mask
    keys = {k for d in _free_filtered(submission.contact_domains, rules) for k in org_domains(d)}
    for key in keys:
        for row, domain in table.email_domains.get(key, ()):
            if not is_free_mail(domain, rules.free_mail_domains):
                mask[row] = True
    return mask


def _training_mask(table: ExpertTable, rules: Rules) -> np.ndarray:
    if not rules.require_training:
        return np.zeros(len(table), dtype=bool)
    return (table.training != TRAINING_DONE) & (table.training != TRAINING_LAPSED)


def _lapsed_mask(table: ExpertTable, rules: Rules) -> np.ndarray:
    if not (rules.require_training and rules.training_lapsed_blocks):
        return np.zeros(len(table), dtype=bool)
    return table.training == TRAINING_LAPSED


def _category_mask(table: ExpertTable, submission: SubmissionRecord, rules: Rules) -> np.ndarray:
    if not rules.require_category or submission.category is None:
        return np.zeros(len(table), dtype=bool)
    bit = np.uint64(_category_bits([submission.category]))
    return (table.category_bits & bit) == 0


def eligible_mask(
    table: ExpertTable, submission: SubmissionRecord, rules: Rules, today: date
) -> np.ndarray:
    """Rows of `table` that may review `submission` (no exclusion at all)."""
    excluded = np.zeros(len(table), dtype=bool)
    for mask in exclusion_masks(table, submission, rules, today).values():
        excluded |= mask
    return ~excluded


def top_eligible(
    table: ExpertTable,
    scores: np.ndarray,
    submission: SubmissionRecord,
    rules: Rules,
    today: date,
    k: int = 50,
) -> np.ndarray:
    """Rows of the `k` best-scoring eligible experts, best first (ties: lower row first)."""
    return top_k(scores, k, eligible_mask(table, submission, rules, today))
