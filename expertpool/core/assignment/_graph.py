"""The sparse round-assignment graph and its min-cost-flow relaxation.

Flow network (one unit = one review seat):

    source -> submission i            capacity panel_size[i]
    submission i -> (i, province p)   capacity max_per_province   (only where it could bind)
    parent -> (i, institution g)      capacity 1                  (only for 2+ candidates of g)
    parent -> expert j                capacity 1, cost -affinity  (the candidate arcs)
    expert j -> sink                  capacity = round capacity of j

"No two from one institution" and the provincial cap are exact inside the flow as long as the
groups nest (every multi-candidate institution group lies in one province); when an institution
spans provinces the province layer is dropped and the flow is only a relaxation. "At least one
metrology-competent member" crosses both families, so it is never in the flow: the caller checks
the flow's answer and moves to the LP/MIP when it falls short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

_MAX_SCALE = 1e6  # affinity resolution 1e-6 in the integer flow costs


def group_ids(keys: np.ndarray, valid: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Group id per entry (-1 if not valid or its group has fewer than `min_count` entries),
    and the key of each group."""
    out = np.full(keys.size, -1, dtype=np.int64)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return out, keys[:0]
    uniq, inverse, counts = np.unique(keys[idx], return_inverse=True, return_counts=True)
    big = counts >= min_count
    renumber = np.cumsum(big) - 1
    out[idx] = np.where(big[inverse], renumber[inverse], -1)
    return out, uniq[big]


@dataclass(frozen=True)
class Graph:
    """Candidate arcs (sorted by submission, then expert) with the derived constraint groups."""

    sub: np.ndarray  # (E,) submission index
    exp: np.ndarray  # (E,) expert index
    aff: np.ndarray  # (E,) affinity
    met: np.ndarray  # (E,) expert is metrology-competent
    inst: np.ndarray  # (E,) expert institution code, -1 unknown
    prov: np.ndarray  # (E,) expert province code, -1 unknown
    size: np.ndarray  # (M,) seats per panel
    need: np.ndarray  # (M,) metrology members wanted
    cap: np.ndarray  # (N,) reviews each expert may take this round
    inst_group: np.ndarray  # (E,) -1 or id of a (submission, institution) group with 2+ arcs
    inst_group_key: np.ndarray  # (I,) sub * n_inst + inst
    prov_group: np.ndarray  # (E,) -1 or id of a (submission, province) group that can overflow
    prov_group_key: np.ndarray
    prov_limit: int  # 0 = no provincial cap
    n_inst: int
    n_prov: int
    laminar: bool

    @property
    def n_sub(self) -> int:
        return int(self.size.size)

    @property
    def n_exp(self) -> int:
        return int(self.cap.size)

    @classmethod
    def build(
        cls,
        sub: np.ndarray,
        exp: np.ndarray,
        aff: np.ndarray,
        *,
        institution: np.ndarray,
        province: np.ndarray,
        metrology: np.ndarray,
        capacity: np.ndarray,
        size: np.ndarray,
        need: np.ndarray,
        one_per_institution: bool,
        max_per_province: int | None,
    ) -> Graph:
        order = np.lexsort((exp, sub))
        sub, exp, aff = sub[order], exp[order], aff[order]
        inst, prov = institution[exp], province[exp]
        n_inst = int(institution.max(initial=-1)) + 1
        n_prov = int(province.max(initial=-1)) + 1
        inst_group, inst_key = group_ids(
            sub * max(n_inst, 1) + inst, (inst >= 0) & one_per_institution, 2
        )
        limit = 0 if max_per_province is None else int(max_per_province)
        prov_group, prov_key = group_ids(
            sub * max(n_prov, 1) + prov, (prov >= 0) & (limit > 0), limit + 1
        )
        return cls(
            sub=sub,
            exp=exp,
            aff=aff,
            met=metrology[exp].astype(bool),
            inst=inst,
            prov=prov,
            size=size,
            need=need,
            cap=capacity,
            inst_group=inst_group,
            inst_group_key=inst_key,
            prov_group=prov_group,
            prov_group_key=prov_key,
            prov_limit=limit,
            n_inst=n_inst,
            n_prov=n_prov,
            laminar=_nested(inst_group, prov, prov_group),
        )

    def restrict(self, keep: np.ndarray) -> Graph:
        """The same round limited to the submissions where `keep` (bool per submission): their
        arcs only, every other panel of size 0. Indices stay global, so answers and duals of
        several restrictions combine by position. Groups are per submission, so each one lies
        wholly inside or outside the restriction and keeps its key."""
        on = keep[self.sub]
        inst_group, inst_key = _renumber(self.inst_group[on], self.inst_group_key)
        prov_group, prov_key = _renumber(self.prov_group[on], self.prov_group_key)
        prov = self.prov[on]
        return Graph(
            sub=self.sub[on],
            exp=self.exp[on],
            aff=self.aff[on],
            met=self.met[on],
            inst=self.inst[on],
            prov=prov,
            size=np.where(keep, self.size, 0),
            need=np.where(keep, self.need, 0),
            cap=self.cap,
            inst_group=inst_group,
            inst_group_key=inst_key,
            prov_group=prov_group,
            prov_group_key=prov_key,
            prov_limit=self.prov_limit,
            n_inst=self.n_inst,
            n_prov=self.n_prov,
            laminar=_nested(inst_group, prov, prov_group),
        )

    # --- checks on an integral choice x (bool per arc) -------------------------------------------

    def filled(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.sub[x], minlength=self.n_sub)

    def metrology_count(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.sub[x & self.met], minlength=self.n_sub)

    def shortfall(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(self.need - self.metrology_count(x), 0)

    def province_ok(self, x: np.ndarray) -> bool:
        if self.prov_limit == 0:
            return True
        on = x & (self.prov_group >= 0)
        return bool(np.all(np.bincount(self.prov_group[on]) <= self.prov_limit))

    def shortfall_floor(self) -> np.ndarray:
        """Per-panel metrology shortfall no assignment can avoid: too few distinct-institution
        metrology candidates with capacity left (a lower bound, exact when nothing competes)."""
        usable = self.met & (self.cap[self.exp] > 0)
        # Members of one institution group clash; everyone else is their own group.
        inst_key = np.where(self.inst_group >= 0, self.inst_group, -1 - np.arange(self.aff.size))
        pairs = np.unique(np.stack([self.sub[usable], inst_key[usable]]), axis=1)
        available = (
            np.bincount(pairs[0], minlength=self.n_sub) if pairs.size else np.zeros(self.n_sub, int)
        )
        return np.maximum(self.need - np.minimum(available, self.size), 0)


def _renumber(ids: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group ids (-1 = none) of a subset of arcs renumbered 0.., with the keys they keep."""
    used = np.unique(ids[ids >= 0])
    out = np.where(ids >= 0, np.searchsorted(used, ids), -1)
    return out.astype(np.int64), keys[used]


def _nested(inst_group: np.ndarray, prov: np.ndarray, prov_group: np.ndarray) -> bool:
    """True if every institution group sits inside one province group (or none)."""
    grouped = np.flatnonzero(inst_group >= 0)
    if grouped.size == 0 or not np.any(prov_group >= 0):
        return True
    g = inst_group[grouped]
    p = prov[grouped]
    lo = np.full(g.max() + 1, np.iinfo(np.int64).max)
    hi = np.full(g.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(lo, g, p)
    np.maximum.at(hi, g, p)
    return bool(np.all(lo == hi))


@dataclass(frozen=True)
class FlowSolution:
    x: np.ndarray  # bool per arc
    seats: int  # total seats filled (maximum possible under the flow's constraints)
    exact: bool  # True when the flow held every institution and province rule


def solve_flow(g: Graph) -> FlowSolution:
    """Maximum seats, then maximum total affinity, under institution (+ nested province) rules."""
    use_prov = g.laminar and g.prov_limit > 0
    n_pg = g.prov_group_key.size if use_prov else 0
    n_ig = g.inst_group_key.size
    sub_node = 1 + np.arange(g.n_sub)
    prov_node = 1 + g.n_sub + np.arange(n_pg)
    inst_node = 1 + g.n_sub + n_pg + np.arange(n_ig)
    exp_node = 1 + g.n_sub + n_pg + n_ig + np.arange(g.n_exp)
    sink = 1 + g.n_sub + n_pg + n_ig + g.n_exp

    # Parent of an arc below the submission: its province node (if any), else the submission.
    above = sub_node[g.sub]
    if use_prov:
        on = g.prov_group >= 0
        above[on] = prov_node[g.prov_group[on]]
    grouped = np.flatnonzero(g.inst_group >= 0)
    member_of_group = np.zeros(n_ig, dtype=np.int64)
    member_of_group[g.inst_group[grouped]] = grouped  # any member will do: the groups nest
    parent = above.copy()
    parent[grouped] = inst_node[g.inst_group[grouped]]

    scale = _cost_scale(g.aff, sink + 1)
    blocks = [
        (np.zeros(g.n_sub, np.int64), sub_node, g.size, 0),
        (
            sub_node[g.prov_group_key // max(g.n_prov, 1)] if use_prov else sub_node[:0],
            prov_node,
            np.full(n_pg, g.prov_limit),
            0,
        ),
        (above[member_of_group], inst_node, np.ones(n_ig, np.int64), 0),
        (parent, exp_node[g.exp], np.ones(g.aff.size, np.int64), -np.round(g.aff * scale)),
        (exp_node, np.full(g.n_exp, sink), g.cap, 0),
    ]
    tails = np.concatenate([b[0] for b in blocks]).astype(np.int32)
    heads = np.concatenate([b[1] for b in blocks]).astype(np.int32)
    caps = np.concatenate([np.asarray(b[2], np.int64) for b in blocks])
    costs = np.concatenate(
        [np.broadcast_to(np.asarray(b[3], np.int64), b[0].shape) for b in blocks]
    )
    first_arc = sum(b[0].size for b in blocks[:3])

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    total = int(g.size.sum())
    flow.set_nodes_supplies(np.array([0, sink], np.int32), np.array([total, -total], np.int64))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    arcs = np.arange(first_arc, first_arc + g.aff.size, dtype=np.int32)
    x = flow.flows(arcs) > 0
    return FlowSolution(x, int(x.sum()), exact=g.laminar)


def _cost_scale(aff: np.ndarray, n_nodes: int) -> float:
    """Integer cost scale: fine resolution, but far from int64 overflow inside cost scaling."""
    peak = float(np.abs(aff).max(initial=0.0))
    if peak == 0.0:
        return 1.0
    return min(_MAX_SCALE, 2.0**50 / (peak * (n_nodes + 1)))
