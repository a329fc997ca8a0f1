"""One submission's panel: the best valid set of experts from a ranked candidate list.

Objective, lexicographic: (1) as many members as possible, up to `rules.panel_size`; (2) as many
metrology-competent members as possible, up to `rules.min_metrology`; (3) maximum total score.
When a fully valid panel exists this is exactly "the highest-scoring valid panel"; when none
exists the hard rules (one per institution, provincial cap) still hold and `unmet` says what is
missing. Experts with no institution (or no province) never clash on that rule.

Method: greedy-first branch and bound. The first descent takes candidates in rank order (the
greedy panel); later branches are cut by an upper bound that relaxes only the pairwise clashes
among the remaining candidates, so the search is exact (tested against brute force) and usually
visits a few dozen nodes.

Before searching, candidates no optimal panel needs are dropped (`_undominated`), in rank order:
- one that shares institution, province and metrology flag with a better one (swap them);
- one behind W better candidates (metrologists, if it is one) that have pairwise different
  institutions and provinces, where W = (k - 1) + (k - 1) // cap + 1 for panel size k and
  provincial cap `cap` (W = k without a cap). In any panel holding it, the other k - 1 members
  block at most k - 1 of the W by institution and fill at most (k - 1) // cap provinces, so one
  of the W can take its place: same size, no less metrology, no lower score;
- likewise one behind k better candidates of its own province with different institutions
  (they can never be blocked by the provincial cap, since it leaves that province).
So the search only ever sees a few dozen candidates, however long the ranked list.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .constraints import is_eligible
from .records import ExpertRecord, Rules, SubmissionRecord


@dataclass(frozen=True)
class PanelMember:
    expert_id: int
    score: float
    metrology_competent: bool
    institution_id: int | None
    province: str | None


@dataclass(frozen=True)
class Alternate:
    """A non-member who could take the place of any of `replaces` without breaking a rule."""

    expert_id: int
    score: float
    replaces: tuple[int, ...]


@dataclass(frozen=True)
class Panel:
    members: tuple[PanelMember, ...]
    alternates: tuple[Alternate, ...]
    unmet: list[str] = field(default_factory=list)  # "panel_size", "min_metrology"
    total_score: float = 0.0
    optimal: bool = True  # False only if the node limit stopped the search

    @property
    def member_ids(self) -> tuple[int, ...]:
        return tuple(m.expert_id for m in self.members)


@dataclass(frozen=True)
class _Candidate:
    expert: ExpertRecord
    score: float
    inst: Hashable  # clash key for the institution rule (unique when the rule cannot apply)
    province: str | None
    metrology: bool


def build_panel(
    candidates: Sequence[tuple[int, float]],
    experts: Mapping[int, ExpertRecord],
    rules: Rules,
    *,
    submission: SubmissionRecord | None = None,
    today: date | None = None,
    max_alternates: int | None = 5,
    node_limit: int = 200_000,
) -> Panel:
    """Best panel from `(expert_id, score)` pairs; drops ineligible ones if `submission` given."""
    pool = _prepare(candidates, experts, rules, submission, today)
    search = _Search(_undominated(pool, rules), rules, node_limit)
    chosen = search.run()
    members = tuple(_member(c) for c in chosen)
    unmet = []
    if len(members) < rules.panel_size:
        unmet.append("panel_size")
    if sum(m.metrology_competent for m in members) < rules.min_metrology:
        unmet.append("min_metrology")
    alternates = _alternates(pool, chosen, rules, max_alternates)
    total = math.fsum(m.score for m in members)
    return Panel(members, alternates, unmet, total, not search.stopped)


def _prepare(
    candidates: Sequence[tuple[int, float]],
    experts: Mapping[int, ExpertRecord],
    rules: Rules,
    submission: SubmissionRecord | None,
    today: date | None,
) -> list[_Candidate]:
    if submission is not None and today is None:
        raise ValueError("today is required with a submission")
    seen: set[int] = set()
    pool = []
    for expert_id, score in candidates:
        if math.isnan(score):
            raise ValueError(f"score of expert {expert_id} is NaN")
        if expert_id in seen or score == -math.inf:
            continue
        seen.add(expert_id)
        expert = experts[expert_id]
        if submission is not None and not is_eligible(expert, submission, rules, today):
            continue
        inst: Hashable = expert.institution_id
        if inst is None or not rules.one_per_institution:
            inst = ("expert", expert_id)
        pool.append(
            _Candidate(expert, float(score), inst, expert.province, expert.metrology_competent)
        )
    pool.sort(key=lambda c: -c.score)  # stable: equal scores keep the caller's order
    return pool


def _undominated(pool: list[_Candidate], rules: Rules) -> list[_Candidate]:
    """Drop candidates no optimal panel needs (exactness argument in the module docstring)."""
    k, cap = rules.panel_size, rules.max_per_province
    enough = k if cap is None else (k - 1) + (k - 1) // cap + 1
    spread = {False: _Spread(cap is not None), True: _Spread(cap is not None)}
    local: dict[tuple[str | None, bool], _Spread] = {}  # per (province, metrologists only)
    seen: set[tuple[Hashable, str | None, bool]] = set()
    kept = []
    for c in pool:
        key = (c.inst, c.province, c.metrology)
        near = local.get((c.province, c.metrology))
        if key in seen or spread[c.metrology].size >= enough or (near and near.size >= k):
            continue
        seen.add(key)
        kept.append(c)
        for only_metrologists in {False, c.metrology}:
            spread[only_metrologists].offer(c)
            if c.province is not None:
                local.setdefault((c.province, only_metrologists), _Spread(False)).offer(c)
    return kept


class _Spread:
    """Greedy set of candidates with pairwise different institutions (and capped provinces)."""

    def __init__(self, by_province: bool) -> None:
        self.by_province = by_province
        self.insts: set[Hashable] = set()
        self.provinces: set[str] = set()
        self.size = 0

    def offer(self, c: _Candidate) -> None:
        if c.inst in self.insts:
            return
        if self.by_province and c.province is not None:
            if c.province in self.provinces:
                return
            self.provinces.add(c.province)
        self.insts.add(c.inst)
        self.size += 1


class _Search:
    """Branch and bound over the candidates in rank order (include before exclude)."""

    def __init__(self, pool: list[_Candidate], rules: Rules, node_limit: int) -> None:
        self.pool = pool
        self.size = rules.panel_size
        self.need = rules.min_metrology
        self.cap = rules.max_per_province
        self.node_limit = node_limit
        self.nodes = 0
        self.stopped = False
        self.best_key: tuple[int, int, float] = (-1, -1, -math.inf)
        self.best: tuple[_Candidate, ...] = ()

    def run(self) -> tuple[_Candidate, ...]:
        self._visit(0, [], set(), Counter(), 0, 0.0)
        return self.best

    def _fits(self, c: _Candidate, insts: set[Hashable], provinces: Counter) -> bool:
        if c.inst in insts:
            return False
        return self.cap is None or c.province is None or provinces[c.province] < self.cap

    def _visit(
        self,
        i: int,
        chosen: list[_Candidate],
        insts: set[Hashable],
        provinces: Counter,
        met: int,
        score: float,
    ) -> None:
        key = (len(chosen), min(met, self.need), score)
        if key > self.best_key:
            self.best_key, self.best = key, tuple(chosen)
        if len(chosen) == self.size or i == len(self.pool):
            return
        if self._bound(i, chosen, insts, provinces, met, score) <= self.best_key:
            return
        self.nodes += 1
        if self.nodes > self.node_limit:
            self.stopped = True
            return
        c = self.pool[i]
        if self._fits(c, insts, provinces):
            chosen.append(c)
            insts.add(c.inst)
            provinces[c.province] += 1
            self._visit(i + 1, chosen, insts, provinces, met + c.metrology, score + c.score)
            provinces[c.province] -= 1
            insts.discard(c.inst)
            chosen.pop()
        self._visit(i + 1, chosen, insts, provinces, met, score)

    def _bound(
        self,
        i: int,
        chosen: list[_Candidate],
        insts: set[Hashable],
        provinces: Counter,
        met: int,
        score: float,
    ) -> tuple[int, int, float]:
        """Best key any completion could reach, ignoring clashes among the remaining candidates."""
        rest = [c for c in self.pool[i:] if self._fits(c, insts, provinces)]
        add = min(
            self.size - len(chosen),
            len({c.inst for c in rest}),
            self._province_room(rest, provinces),
        )
        metrologists = [c for c in rest if c.metrology]
        met_room = min(
            len({c.inst for c in metrologists}), self._province_room(metrologists, provinces)
        )
        best_met = min(self.need, met + min(add, met_room))
        must = max(0, best_met - met)
        # Two relaxations of "the best `add` more members", each an upper bound on its own:
        # (a) the top `must` metrologists plus the best of the rest, ignoring provinces;
        # (b) greedy under the provincial caps only (exact for that one partition matroid).
        picked = metrologists[:must]
        taken = {id(c) for c in picked}
        others = [c for c in rest if id(c) not in taken][: add - must]
        relaxed = math.fsum(c.score for c in picked + others)
        return (
            len(chosen) + add,
            best_met,
            score + min(relaxed, self._capped_sum(rest, provinces, add)),
        )

    def _capped_sum(self, rest: list[_Candidate], provinces: Counter, add: int) -> float:
        if self.cap is None:
            return math.inf
        room = Counter({p: self.cap - provinces[p] for p in {c.province for c in rest}})
        total, count = [], 0
        for c in rest:
            if count == add:
                break
            if c.province is None or room[c.province] > 0:
                room[c.province] -= 1
                total.append(c.score)
                count += 1
        return math.fsum(total)

    def _province_room(self, rest: list[_Candidate], provinces: Counter) -> int:
        if self.cap is None:
            return len(rest)
        per_province: dict[str | None, set[Hashable]] = {}
        for c in rest:
            per_province.setdefault(c.province, set()).add(c.inst)
        room = 0
        for province, insts in per_province.items():
            room += (
                len(insts) if province is None else min(self.cap - provinces[province], len(insts))
            )
        return room


def _member(c: _Candidate) -> PanelMember:
    e = c.expert
    return PanelMember(e.id, c.score, c.metrology, e.institution_id, e.province)


def _valid(panel: Sequence[_Candidate], rules: Rules, min_met: int) -> bool:
    insts = [c.inst for c in panel]
    if len(set(insts)) < len(insts):
        return False
    counts = Counter(c.province for c in panel if c.province is not None)
    if rules.max_per_province is not None and any(
        v > rules.max_per_province for v in counts.values()
    ):
        return False
    return sum(c.metrology for c in panel) >= min_met


def _alternates(
    pool: list[_Candidate], chosen: tuple[_Candidate, ...], rules: Rules, limit: int | None
) -> tuple[Alternate, ...]:
    """Non-members, best first, that could replace a member; metrology cover may not drop."""
    members = {c.expert.id for c in chosen}
    min_met = min(rules.min_metrology, sum(c.metrology for c in chosen))
    found = []
    for c in pool:
        if limit is not None and len(found) >= limit:
            break
        if c.expert.id in members:
            continue
        replaces = tuple(
            out.expert.id
            for out in chosen
            if _valid([m for m in chosen if m is not out] + [c], rules, min_met)
        )
        if replaces:
            found.append(Alternate(c.expert.id, c.score, replaces))
    return tuple(found)
