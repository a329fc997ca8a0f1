"""A FairSequence-style baseline for the fairness benchmark (issue 13), written for this project.

The peer is OpenReview's matcher (openreview/openreview-matcher, `FairSequence`: the Greedy
Reviewer Round-Robin of Payan & Zick, "I Will Have Order!", IJCAI 2022). The same idea here:

- papers pick reviewers one at a time; the papers with the fewest reviewers relative to their
  demand pick next, and among them the pick with the highest affinity goes first;
- a pick is refused if it would make some other paper envy the picking paper's bundle by more
  than one reviewer (weighted envy-freeness up to one item, WEF1); a paper left without any
  acceptable reviewer then takes its best available one regardless (the peer trades reviewers
  instead; on our rounds that fallback is rare, and the count is reported);
- reviewers' loads are capped; ineligible pairs (conflicts) are never picked.

To compare on the same rules as our solver, picks also respect one expert per institution and
the provincial cap per panel (the peer has no such rules); the metrology rule is not known to
it and its unmet places are reported. Pure numpy + a heap; no solver.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

_TOP = 400  # candidates per paper sorted up front; the whole row only if these run out


@dataclass(frozen=True)
class BaselineResult:
    panels: list[list[int]]  # expert indices per paper, in picking order
    floor: float  # weakest panel's mean affinity (empty seats count 0)
    total: float
    seats: int
    metrology_unmet: int
    fallbacks: int  # picks made without the WEF1 check
    seconds: float


def fair_sequence(
    affinity: np.ndarray,
    capacity: np.ndarray,
    demand: int,
    *,
    institution: np.ndarray | None = None,
    province: np.ndarray | None = None,
    max_per_province: int | None = None,
    metrology: np.ndarray | None = None,
    min_metrology: int = 0,
) -> BaselineResult:
    start = time.perf_counter()
    m, n = affinity.shape
    eligible = np.isfinite(affinity)
    value = np.where(eligible, affinity, 0.0)  # what a paper sees in a bundle it cannot have
    left = np.maximum(np.asarray(capacity, np.int64), 0).copy()
    inst = np.full(n, -1) if institution is None else np.asarray(institution)
    prov = np.full(n, -1) if province is None else np.asarray(province)
    panels: list[list[int]] = [[] for _ in range(m)]
    own = np.zeros(m)  # sum of own affinities
    lowest = np.full(m, np.inf)  # lowest affinity among own reviewers (inf: none yet)
    order = _candidates(affinity)
    pointer = np.zeros(m, np.int64)
    fallbacks = 0
    for _ in range(demand):  # equal demands: one picking round per seat
        heap = [(-_peek(affinity, order, pointer, i), i) for i in range(m)]
        heapq.heapify(heap)
        while heap:
            neg, i = heapq.heappop(heap)
            j = _next_valid(
                affinity, order, pointer, i, panels[i], left, inst, prov, max_per_province
            )
            if j < 0:
                continue  # nothing left for this paper
            pick, forced = j, False
            if not _wef1_ok(value, panels[i], j, own, lowest, demand):
                pick = _first_wef1(
                    affinity,
                    value,
                    order,
                    pointer,
                    i,
                    panels,
                    left,
                    inst,
                    prov,
                    max_per_province,
                    own,
                    lowest,
                    demand,
                )
                if pick < 0:
                    pick, forced = j, True
            if affinity[i, pick] < -neg - 1e-12:  # worth less than queued: others may go first
                heapq.heappush(heap, (-affinity[i, pick], i))
                continue
            fallbacks += forced
            panels[i].append(int(pick))
            left[pick] -= 1
            own[i] += affinity[i, pick]
            lowest[i] = min(lowest[i], affinity[i, pick])
    seats = sum(len(p) for p in panels)
    unmet = 0
    if metrology is not None and min_metrology:
        need = min(min_metrology, demand)
        unmet = sum(max(0, need - int(np.sum(metrology[p]))) for p in panels)
    total = float(sum(affinity[i, p].sum() for i, p in enumerate(panels) if p))
    floor = float(min(own[i] / demand for i in range(m))) if m else float("nan")
    return BaselineResult(
        panels, floor, total, seats, unmet, fallbacks, time.perf_counter() - start
    )


def _candidates(affinity: np.ndarray) -> list[np.ndarray]:
    m, n = affinity.shape
    top = min(_TOP, n)
    block = np.where(np.isfinite(affinity), affinity, -np.inf)
    idx = np.argpartition(-block, top - 1, axis=1)[:, :top]
    idx = np.take_along_axis(idx, np.argsort(-np.take_along_axis(block, idx, 1), axis=1), 1)
    return [row[np.isfinite(affinity[i, row])] for i, row in enumerate(idx)]


def _row(affinity: np.ndarray, order: list[np.ndarray], i: int, k: int) -> np.ndarray:
    if k >= order[i].size and order[i].size == min(_TOP, affinity.shape[1]):
        row = np.argsort(-np.where(np.isfinite(affinity[i]), affinity[i], -np.inf))
        order[i] = row[np.isfinite(affinity[i, row])]
    return order[i]


def _peek(affinity, order, pointer, i) -> float:
    row = _row(affinity, order, i, int(pointer[i]))
    return float(affinity[i, row[pointer[i]]]) if pointer[i] < row.size else -np.inf


def _fits(j, panel, left, inst, prov, max_per_province) -> bool:
    if left[j] <= 0 or j in panel:
        return False
    if inst[j] >= 0 and any(inst[k] == inst[j] for k in panel):
        return False
    if max_per_province and prov[j] >= 0:
        return sum(prov[k] == prov[j] for k in panel) < max_per_province
    return True


def _next_valid(affinity, order, pointer, i, panel, left, inst, prov, max_per_province) -> int:
    """Advance paper i's pointer past reviewers it can no longer take; its best one, or -1."""
    while True:
        row = _row(affinity, order, i, int(pointer[i]))
        if pointer[i] >= row.size:
            return -1
        j = int(row[pointer[i]])
        if _fits(j, panel, left, inst, prov, max_per_province):
            return j
        pointer[i] += 1


def _first_wef1(
    affinity,
    value,
    order,
    pointer,
    i,
    panels,
    left,
    inst,
    prov,
    max_per_province,
    own,
    lowest,
    demand,
) -> int:
    """Paper i's best reviewer after its pointer that fits and keeps WEF1, or -1."""
    row = _row(affinity, order, i, int(pointer[i]))
    for k in range(int(pointer[i]), row.size):
        j = int(row[k])
        if _fits(j, panels[i], left, inst, prov, max_per_province) and _wef1_ok(
            value, panels[i], j, own, lowest, demand
        ):
            return j
    return -1


def _wef1_ok(value, panel, j, own, lowest, demand) -> bool:
    """No other paper values `panel + [j]`, less its best reviewer, above its own bundle (equal
    demands); only papers that value one of these reviewers above their weakest own can."""
    bundle = [*panel, j]
    vals = value[:, bundle]  # (papers, reviewers)
    could = np.any(vals > lowest[:, None], axis=1)
    if not could.any():
        return True
    vals = vals[could]
    other = vals.sum(axis=1) - vals.max(axis=1)
    return bool(np.all(other <= own[could] + 1e-9))
