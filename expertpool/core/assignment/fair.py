"""Fairness at scale: raise the weakest panel of a valid assignment by exchanges, and bound it.

The exact max-min stage (an LP with one row per panel, then a MIP) is kept for small rounds; on
big ones its MIP does not finish (2,000 x 10,000 x 3: not proven after 35 s; the max-min LP
alone did not finish in 120 s at 500 x 2,000). `raise_floor` starts from the unfair optimum
instead and repeats, while the deadline allows:

    p = the weakest panel (lowest mean affinity, empty seats counting 0)
    best exchange for p: a member e of p gives way to a candidate f with more affinity for p,
      (a) f has a review to spare, or
      (b) f reviews panel q and q takes, in f's place, its best candidate with a review to
          spare (e itself included, who just left p), or, only when no (a) or (b) is left,
      (c) q takes instead a busy expert h of a third panel r, which takes a free one;
    keep the exchange whose weakest touched panel ends highest, if that is above p's mean:
    counted no higher than the next panel's mean (raising p further buys no floor yet), and
    among equal exchanges the one that gives up least total affinity.

This is the sequential idea of OpenReview's FairSequence (the weakest paper picks next) turned
into repairs of the optimum, so the total stays close to it. Every exchange keeps each panel's
seat count, never lets a panel's metrology shortfall grow, and checks the institution and
provincial rules and the experts' capacities: the answer keeps the unfair optimum's seats and
metrology and never breaks a rule. The floor rises one panel at a time until the weakest panel
has no exchange left ("local optimum"), reaches the bound ("optimal") or time runs out ("time
limit"). `improve_total` then hands the reviews the exchanges set free to panels that gain by
them. `floor_bound` bounds the best floor from above: each panel's own best mean (its best
candidate per institution, `size` of them; others ignored), the lowest over panels.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ._graph import Graph

_EPS = 1e-9
_TIES = 32  # moves tried beyond the first to reach the capped value (least loss)
_DEEP = 8  # busy stand-ins tried per panel in a three-link exchange


def own_best(g: Graph) -> np.ndarray:
    """Per panel: the best mean it could reach alone (NaN for panels of size 0).

    One candidate per institution (a partition matroid, so its greedy is exact), the `size`
    best of them, negative affinities counted as 0 (an empty seat); the provincial cap and the
    metrology rule are left out, so the value is an upper bound on any assignment's panel."""
    usable = np.flatnonzero(g.cap[g.exp] > 0)
    order = usable[np.lexsort((-g.aff[usable], g.sub[usable]))]
    grouped = g.inst_group[order] >= 0
    first = np.zeros(order.size, bool)
    first[~grouped] = True
    _, firsts = np.unique(g.inst_group[order[grouped]], return_index=True)
    first[np.flatnonzero(grouped)[firsts]] = True
    kept = order[first]  # still sorted by (submission, -affinity)
    start = np.searchsorted(g.sub[kept], g.sub[kept])
    rank = np.arange(kept.size) - start
    top = kept[rank < g.size[g.sub[kept]]]
    sums = np.bincount(g.sub[top], weights=np.maximum(g.aff[top], 0.0), minlength=g.n_sub)
    return np.where(g.size > 0, sums / np.maximum(g.size, 1), np.nan)


def floor_bound(g: Graph) -> float:
    """Upper bound on the weakest panel's mean over all assignments (NaN without panels)."""
    own = own_best(g)
    sized = g.size > 0
    return float(own[sized].min()) if sized.any() else float("nan")


@dataclass(frozen=True)
class FloorResult:
    x: np.ndarray  # bool per arc
    status: str  # "optimal" (reached the bound) | "local optimum" | "time limit"
    moves: int
    seconds: float


def raise_floor(
    g: Graph, x: np.ndarray, deadline: float, bound: float | None = None
) -> FloorResult:
    """Raise the weakest panel of the valid assignment `x` by exchanges (module docstring)."""
    start = time.perf_counter()
    state = _Exchange(g, x)
    bound = floor_bound(g) if bound is None else bound
    status, moves = "local optimum", 0
    sized = np.flatnonzero(g.size > 0)
    while sized.size:
        means = state.sums[sized] / g.size[sized]
        p = int(sized[np.argmin(means)])
        floor = float(means.min())
        if floor >= bound - 1e-9 * max(1.0, abs(bound)):
            status = "optimal"
            break
        if time.perf_counter() >= deadline:
            status = "time limit"
            break
        above = means[means > floor + _EPS]
        cap = float(above.min()) if above.size else math.inf  # the next floor, if p gets there
        move = state.best_move(p, floor, cap=cap) or state.best_move(p, floor, True, cap)
        if move is None:
            break
        state.apply(move)
        moves += 1
    return FloorResult(state.x, status, moves, time.perf_counter() - start)


def improve_total(g: Graph, before: np.ndarray, x: np.ndarray, deadline: float) -> np.ndarray:
    """After the exchanges: give the reviews they set free to panels that gain by them.

    An expert with fewer reviews than in `before` (the unfair optimum, where no such swap paid)
    may replace a member of a panel among his candidates who has less affinity for it, if the
    panel's rules still hold; each panel's mean only rises, so the floor is kept."""
    state = _Exchange(g, x)
    freed = np.flatnonzero(state.load < np.bincount(g.exp[before], minlength=g.n_exp))
    while freed.size and time.perf_counter() < deadline:
        arcs = np.concatenate([state.by_exp[state.exp_lo[f] : state.exp_hi[f]] for f in freed])
        left = []  # experts whose place the swaps of this pass set free in turn
        for p in np.unique(g.sub[arcs]):
            move = state.best_gain(int(p))
            if move is not None:
                state.apply(move)
                left.append(int(g.exp[move.out]))
        freed = np.unique(np.asarray(left, np.int64))
    return state.x


@dataclass(frozen=True)
class _Move:
    value: float  # the lowest mean among the panels it touches, afterwards
    gain: float  # change of total affinity
    swaps: tuple[tuple[int, int], ...]  # (arc leaving, arc joining the same panel), p's first

    @property
    def out(self) -> int:
        return self.swaps[0][0]


class _Exchange:
    """The assignment with per-panel sums and metrology counts and per-expert loads."""

    def __init__(self, g: Graph, x: np.ndarray) -> None:
        self.g = g
        self.x = x.copy()
        subs = np.arange(g.n_sub)
        self.lo = np.searchsorted(g.sub, subs)
        self.hi = np.searchsorted(g.sub, subs, side="right")
        self.by_exp = np.argsort(g.exp, kind="stable")
        experts = np.arange(g.n_exp)
        self.exp_lo = np.searchsorted(g.exp[self.by_exp], experts)
        self.exp_hi = np.searchsorted(g.exp[self.by_exp], experts, side="right")
        self.load = np.bincount(g.exp[x], minlength=g.n_exp)
        self.sums = np.bincount(g.sub[x], weights=g.aff[x], minlength=g.n_sub)
        self.metc = g.metrology_count(x)

    def holders(self, expert: int) -> np.ndarray:
        arcs = self.by_exp[self.exp_lo[expert] : self.exp_hi[expert]]
        return arcs[self.x[arcs]]

    def fits(self, p: int, members: np.ndarray, out: int, cand: np.ndarray) -> np.ndarray:
        """Which arcs of `cand` may take the place of member `out` in panel p."""
        g = self.g
        others = members[members != out]
        ok = np.ones(cand.size, bool)
        taken = g.inst_group[others]
        taken = taken[taken >= 0]
        if taken.size:  # a handful of members: comparisons beat np.isin's sorting
            ok &= ~(g.inst_group[cand][:, None] == taken[None, :]).any(axis=1)
        if g.prov_limit:
            groups = g.prov_group[others]
            groups = groups[groups >= 0]
            if groups.size:
                count = (g.prov_group[cand][:, None] == groups[None, :]).sum(axis=1)
                ok &= count < g.prov_limit
        keep = min(int(g.need[p]), int(self.metc[p]))
        left = int(self.metc[p]) - int(g.met[out])
        if left < keep:
            ok &= g.met[cand]
        return ok

    def best_move(
        self, p: int, floor: float, deep: bool = False, cap: float = math.inf
    ) -> _Move | None:
        """The exchange raising panel p whose weakest touched panel ends highest above `floor`,
        counting no higher than `cap`; among equals, the one losing least total affinity.

        `deep`: the panel q that gives up its expert may also take, in his place, an expert of
        a third panel r, which takes one with a review to spare (tried when two links fail)."""
        g = self.g
        arcs = np.arange(self.lo[p], self.hi[p])
        members = arcs[self.x[arcs]]
        if not members.size:
            return None
        cand = arcs[~self.x[arcs]]
        outs, intos = [], []
        for out in members:
            ok = self.fits(p, members, out, cand) & (g.aff[cand] > g.aff[out] + _EPS)
            intos.append(cand[ok])
            outs.append(np.full(int(ok.sum()), out))
        out_arr, into_arr = np.concatenate(outs), np.concatenate(intos)
        gain = g.aff[into_arr] - g.aff[out_arr]
        new_p = (self.sums[p] + gain) / g.size[p]
        best: _Move | None = None
        tied = 0  # moves tried that could at most tie with the best on value
        for k in np.argsort(-new_p, kind="stable"):
            value = min(float(new_p[k]), cap)
            if value <= floor + _EPS or (best is not None and value < best.value - _EPS):
                break
            if best is not None and value <= best.value + _EPS:
                tied += 1
                if tied > _TIES:
                    break
            out, into = int(out_arr[k]), int(into_arr[k])
            f = int(g.exp[into])
            first = _Move(value, float(gain[k]), ((out, into),))
            if self.load[f] < g.cap[f]:
                found: _Move | None = first
                options = [found]
            else:
                options = [
                    self._link(first, int(held), int(g.exp[out]), floor, deep)
                    for held in self.holders(f)
                ]
            for found in options:
                if found is None or found.value <= floor + _EPS:
                    continue
                if best is None or (found.value, found.gain) > (best.value, best.gain):
                    best = found
        return best

    def _link(
        self, head: _Move, released: int, freed: int, floor: float, deep: bool
    ) -> _Move | None:
        """`head` followed by panel q (of arc `released`) taking a stand-in: the best one."""
        g = self.g
        q = int(g.sub[released])
        found = self._replacement(released, freed)
        best = None
        if found is not None:
            mean, arc = found
            best = _Move(
                min(head.value, mean),
                head.gain + float(g.aff[arc] - g.aff[released]),
                (*head.swaps, (released, arc)),
            )
        if not deep:
            return best
        # A busy expert h for q, whose panel r takes a free expert instead.
        arcs = np.arange(self.lo[q], self.hi[q])
        members = arcs[self.x[arcs]]
        cand = arcs[~self.x[arcs]]
        experts = g.exp[cand]
        base = self.sums[q] - g.aff[released]
        mean = (base + g.aff[cand]) / g.size[q]
        busy = (self.load[experts] >= g.cap[experts]) & (experts != freed)
        busy &= mean > max(floor, best.value if best else floor) + _EPS
        busy &= self.fits(q, members, released, cand)
        touched = {int(g.sub[o]) for o, _ in head.swaps} | {q}
        for h in cand[busy][np.argsort(-g.aff[cand[busy]], kind="stable")][:_DEEP]:
            value = min(head.value, float((base + g.aff[h]) / g.size[q]))
            if best is not None and value <= best.value:
                break
            for held in self.holders(int(g.exp[h])):
                if int(g.sub[held]) in touched:
                    continue
                found = self._replacement(int(held), freed)
                if found is None:
                    continue
                r_mean, arc = found
                move = _Move(
                    min(value, r_mean),
                    head.gain + float(g.aff[h] - g.aff[released]) + float(g.aff[arc] - g.aff[held]),
                    (*head.swaps, (released, int(h)), (int(held), arc)),
                )
                if best is None or move.value > best.value:
                    best = move
        return best

    def best_gain(self, p: int) -> _Move | None:
        """The member of p whose swap for a candidate with a review to spare gains the most."""
        g = self.g
        arcs = np.arange(self.lo[p], self.hi[p])
        members = arcs[self.x[arcs]]
        cand = arcs[~self.x[arcs]]
        experts = g.exp[cand]
        cand = cand[self.load[experts] < g.cap[experts]]
        if members.size:
            cand = cand[g.aff[cand] > g.aff[members].min() + _EPS]
        best: _Move | None = None
        for out in members:
            ok = self.fits(p, members, out, cand) & (g.aff[cand] > g.aff[out] + _EPS)
            if ok.any():
                into = int(cand[ok][np.argmax(g.aff[cand[ok]])])
                gain = float(g.aff[into] - g.aff[out])
                if best is None or gain > best.gain:
                    best = _Move(0.0, gain, ((int(out), into),))
        return best

    def _replacement(self, released: int, freed: int) -> tuple[float, int] | None:
        """Panel q's best stand-in for the arc `released`: its mean afterwards and the arc."""
        g = self.g
        q = int(g.sub[released])
        arcs = np.arange(self.lo[q], self.hi[q])
        members = arcs[self.x[arcs]]
        cand = arcs[~self.x[arcs]]
        experts = g.exp[cand]
        free = (self.load[experts] < g.cap[experts]) | (experts == freed)
        ok = free & self.fits(q, members, released, cand)
        if not ok.any():
            return None
        pick = cand[ok][np.argmax(g.aff[cand[ok]])]
        mean = (self.sums[q] - g.aff[released] + g.aff[pick]) / g.size[q]
        return float(mean), int(pick)

    def apply(self, move: _Move) -> None:
        for out, into in move.swaps:
            self._swap(out, into)

    def _swap(self, out: int, into: int) -> None:
        g = self.g
        self.x[out], self.x[into] = False, True
        self.load[g.exp[out]] -= 1
        self.load[g.exp[into]] += 1
        p = g.sub[out]
        self.sums[p] += g.aff[into] - g.aff[out]
        self.metc[p] += int(g.met[into]) - int(g.met[out])
