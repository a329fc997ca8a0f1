"""Shrink a round to each submission's best candidates, and bound what that may cost.

`assign_round` is exact over the graph it is given. Keeping only each submission's top-K experts
(plus its best metrology-competent ones, so the metrology rule is not lost by truncation) makes
big rounds fast, but an optimal full-graph answer might use an expert below some top-K when
better experts are saturated. That is the rule, not the exception, when affinities are
correlated (every submission of a GBW category ranks the same experts first, while each expert
may take only two reviews a round): the top-80 of 154 same-category submissions then reach too
few experts to fill their seats at all. `sparsify_for_round` therefore grows K, by doubling,
for exactly the submissions whose candidates cannot serve `cover` times their seats (and
metrology places) — the source side of a minimum cut in a capacity flow.

`sparsification_gap` settles the rest after the fact with LP duality:
the duals of the sparse LP, extended by zero to the rows the full graph adds, are dual-feasible
for the full LP except at omitted pairs with positive reduced cost. So

    full-graph optimum <= sparse LP value + sum over omitted pairs of max(0, reduced cost),

and when that sum is 0 and the sparse answer reaches its LP value, the sparse answer is globally
optimal. When the sparse LP is fractional (value z above the sparse optimum z*), the same bound
says a full-graph answer using an omitted pair of reduced cost r is worth at most z + r: if no
omitted pair has r > -(z - z*) and z* is proven optimal on the sparse graph, z* is optimal on
the full graph too (`assign_sparse` adds any such pairs and solves again). The bound compares
like with like only when every seat is filled and no metrology place is unmet (otherwise the
full graph might fill more, which ranks first); `applicable` says so.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow

from .assign import AssignmentResult, CandidateArcs, LpDuals, PoolAttributes, assign_round
from .records import Rules


def sparsify_top_k(
    affinity: np.ndarray,
    k: int,
    *,
    mask: np.ndarray | None = None,
    metrology: np.ndarray | None = None,
    k_metrology: int = 0,
    chunk_rows: int = 256,
) -> CandidateArcs:
    """Each row's k best finite (and masked-in) entries, plus its `k_metrology` best among the
    metrology-competent columns."""
    m, n = affinity.shape
    met_cols = np.flatnonzero(metrology) if metrology is not None and k_metrology > 0 else None
    subs, exps = [], []
    for lo in range(0, m, chunk_rows):
        block = _block(affinity, slice(lo, lo + chunk_rows), mask)
        rows, picked = _top_per_row(block, k)
        subs.append(rows + lo)
        exps.append(picked)
        if met_cols is not None:
            rows, picked = _top_per_row(block[:, met_cols], k_metrology)
            subs.append(rows + lo)
            exps.append(met_cols[picked])
    sub = np.concatenate(subs) if subs else np.zeros(0, np.int64)
    exp = np.concatenate(exps) if exps else np.zeros(0, np.int64)
    key = np.unique(sub * n + exp)
    sub, exp = key // n, key % n
    return CandidateArcs(sub, exp, np.asarray(affinity[sub, exp], np.float64), m, n)


_UNITS = 4  # capacity flow resolution: a quarter of a seat


def sparsify_for_round(
    affinity: np.ndarray,
    pool: PoolAttributes,
    rules: Rules,
    k: int,
    *,
    panel_sizes: int | np.ndarray | None = None,
    mask: np.ndarray | None = None,
    k_metrology: int = 0,
    cover: float = 1.5,
    k_max: int | None = None,
    chunk_rows: int = 256,
) -> CandidateArcs:
    """Each row's k best entries and `k_metrology` best metrologists, with both doubled (up to
    `k_max`, default 16 k) for the rows whose candidates cannot serve `cover` x their seats, or
    `cover` x their metrology places from metrologists, within the experts' capacities.

    "Cannot serve" is decided by a max flow (source -> row, demand; row -> candidate, 1;
    expert -> sink, capacity) for all rows at once: when it falls short, the rows on the source
    side of the minimum cut are those whose candidates are all taken, so exactly they grow. The
    institution and province rules are left to the `cover` margin. Deterministic.
    """
    m, n = affinity.shape
    sizes = np.broadcast_to(
        np.asarray(rules.panel_size if panel_sizes is None else panel_sizes, np.int64), (m,)
    )
    need = np.minimum(rules.min_metrology, sizes)
    cap = np.maximum(np.asarray(pool.capacity, np.int64), 0)
    met = np.asarray(pool.metrology, bool)
    k_max = 16 * max(k, 1) if k_max is None else k_max
    # In quarter seats, so that cover = 1.5 asks 1.5 metrologists of a panel, not 2.
    want = np.ceil(_UNITS * cover * sizes).astype(np.int64)
    want_met = np.ceil(_UNITS * cover * need).astype(np.int64)
    k_row = np.full(m, min(k, k_max), np.int64)
    km_row = np.full(m, min(k_metrology, k_max), np.int64)
    picked: list[np.ndarray] = [np.zeros(0, np.int64)] * m
    full = np.zeros(m, bool)  # the row's k reached every eligible expert
    full_met = np.zeros(m, bool)
    redo = np.arange(m)
    while redo.size:
        _pick(affinity, redo, k_row, km_row, mask, met, chunk_rows, picked, full, full_met)
        sub = np.repeat(np.arange(m), [p.size for p in picked])
        exp = np.concatenate(picked) if m else np.zeros(0, np.int64)
        grow = _starved(sub, exp, want, cap, m, n) & ~full & (k_row < k_max)
        on = met[exp]
        grow_met = (
            _starved(sub[on], exp[on], want_met, cap, m, n) & ~full_met & (km_row < k_max)
            if want_met.any()
            else np.zeros(m, bool)
        )
        k_row[grow] = np.minimum(2 * k_row[grow], k_max)
        km_row[grow_met] = np.minimum(np.maximum(2 * km_row[grow_met], 1), k_max)
        redo = np.flatnonzero(grow | grow_met)
    return CandidateArcs(sub, exp, np.asarray(affinity[sub, exp], np.float64), m, n)


def _pick(
    affinity: np.ndarray,
    rows: np.ndarray,
    k_row: np.ndarray,
    km_row: np.ndarray,
    mask: np.ndarray | None,
    met: np.ndarray,
    chunk_rows: int,
    picked: list[np.ndarray],
    full: np.ndarray,
    full_met: np.ndarray,
) -> None:
    """Top k_row[i] (+ km_row[i] metrologists) of each row in `rows`, into `picked[i]` (sorted);
    `full[i]` / `full_met[i]` when fewer were eligible than asked for."""
    met_cols = np.flatnonzero(met)
    keys = np.stack([k_row[rows], km_row[rows]], axis=1)
    for k, km in np.unique(keys, axis=0):
        same = rows[(keys[:, 0] == k) & (keys[:, 1] == km)]
        for lo in range(0, same.size, chunk_rows):
            chunk = same[lo : lo + chunk_rows]
            block = _block(affinity, chunk, mask)
            r, c = _top_per_row(block, int(k))
            rm, cm = _top_per_row(block[:, met_cols], int(km))
            got = np.bincount(r, minlength=chunk.size)
            got_met = np.bincount(rm, minlength=chunk.size)
            full[chunk] = got < k
            full_met[chunk] = got_met < km
            sub = np.concatenate([r, rm])
            exp = np.concatenate([c, met_cols[cm]])
            key = np.unique(sub * affinity.shape[1] + exp)
            cuts = np.searchsorted(key // affinity.shape[1], np.arange(1, chunk.size))
            for i, part in zip(chunk, np.split(key % affinity.shape[1], cuts), strict=True):
                picked[i] = part


def _starved(
    sub: np.ndarray, exp: np.ndarray, want: np.ndarray, cap: np.ndarray, m: int, n: int
) -> np.ndarray:
    """Rows on the source side of a minimum cut of the capacity flow (none if all are served);
    `want` is in units of 1/_UNITS seat."""
    flow = max_flow.SimpleMaxFlow()
    source, sink = m + n, m + n + 1
    rows, experts = np.arange(m), np.arange(n)
    tails = np.concatenate([np.full(m, source), sub, m + experts]).astype(np.int32)
    heads = np.concatenate([rows, m + exp, np.full(n, sink)]).astype(np.int32)
    caps = np.concatenate([want, np.full(sub.size, _UNITS), _UNITS * cap]).astype(np.int64)
    flow.add_arcs_with_capacity(tails, heads, caps)
    if flow.solve(source, sink) != flow.OPTIMAL:
        raise RuntimeError("max flow failed")
    out = np.zeros(m, bool)
    if flow.optimal_flow() < int(want.sum()):
        side = np.asarray(flow.get_source_side_min_cut(), np.int64)
        out[side[side < m]] = True
    return out


def _block(affinity: np.ndarray, rows: slice | np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Some rows of the affinity as float64, with ineligible (non-finite or masked) at -inf."""
    block = np.array(affinity[rows], dtype=np.float64)
    block[~np.isfinite(block)] = -np.inf
    if mask is not None:
        block[~mask[rows]] = -np.inf
    return block


def _top_per_row(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if k <= 0 or block.shape[1] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    k = min(k, block.shape[1])
    idx = np.argpartition(-block, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(block, idx, axis=1)
    rows = np.repeat(np.arange(block.shape[0]), k).reshape(block.shape[0], k)
    ok = np.isfinite(vals)
    return rows[ok].astype(np.int64), idx[ok].astype(np.int64)


@dataclass(frozen=True)
class SparsityCertificate:
    applicable: bool  # every seat filled and no metrology place unmet
    lp_value: float  # sparse LP optimum
    achieved: float  # total affinity of the sparse answer
    omitted_pairs: int  # eligible pairs the sparse graph left out
    violating_pairs: int  # omitted pairs with positive reduced cost
    max_reduced_cost: float
    gap_bound: float  # full-graph optimum <= achieved + gap_bound
    violations: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    sparse_optimal: bool = False  # the answer was proven optimal on the sparse graph
    # Omitted pairs with reduced cost above -(lp_value - achieved), violations included: with no
    # violation, the only ones a better full-graph answer could use (`assign_sparse` adds them
    # to the arcs and solves again).
    improving_pairs: int = 0
    improving: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    def certified(self, tol: float = 1e-6) -> bool:
        """True if the sparse answer is provably optimal on the full graph: the bound closes, or
        it is optimal on the sparse graph and no omitted pair could lift it (module docstring)."""
        if not self.applicable:
            return False
        slack = tol * max(1.0, abs(self.achieved))
        if self.gap_bound <= slack:
            return True
        return self.sparse_optimal and self.violating_pairs == 0 and self.improving_pairs == 0


def sparsification_gap(
    result: AssignmentResult,
    arcs: CandidateArcs,
    affinity: np.ndarray,
    pool: PoolAttributes,
    *,
    mask: np.ndarray | None = None,
    chunk_rows: int = 256,
) -> SparsityCertificate:
    """Bound the loss from solving on `arcs` instead of the full `affinity` (needs the result of
    `assign_round(..., want_duals=True)`)."""
    duals = result.duals
    if duals is None:
        raise ValueError("run assign_round(..., want_duals=True) first")
    m, n = affinity.shape
    kept = np.zeros(0, np.int64) if arcs.submission.size == 0 else arcs.submission * n + arcs.expert
    inst_cols = _columns_by(np.asarray(pool.institution, np.int64))
    prov_cols = _columns_by(np.asarray(pool.province, np.int64))
    met = np.asarray(pool.metrology, bool)
    positive, violating, omitted, worst, improving = 0.0, 0, 0, -np.inf, 0
    bad_sub, bad_exp, up_sub, up_exp = [], [], [], []
    # A pair needs reduced cost above this to lift the answer (with 1e-9 of solver slack).
    lift = -max(duals.value - result.total_affinity, 0.0) + 1e-9 * max(1.0, abs(duals.value))
    for lo in range(0, m, chunk_rows):
        hi = min(lo + chunk_rows, m)
        rc = _reduced_costs(
            duals, np.array(affinity[lo:hi], np.float64), lo, met, inst_cols, prov_cols
        )
        out = ~np.isfinite(np.asarray(affinity[lo:hi], np.float64))
        if mask is not None:
            out |= ~mask[lo:hi]
        in_chunk = kept[(kept >= lo * n) & (kept < hi * n)] - lo * n
        out.ravel()[in_chunk] = True
        rc[out] = -np.inf
        omitted += int((~out).sum())
        pos = rc[rc > 0]
        rows, cols = np.nonzero(rc > 0)
        bad_sub.append(rows + lo)
        bad_exp.append(cols)
        positive += float(pos.sum())
        violating += int(pos.size)
        rows, cols = np.nonzero((rc > lift) | (rc > 0))
        up_sub.append(rows + lo)
        up_exp.append(cols)
        improving += int(rows.size)
        worst = max(worst, float(rc.max(initial=-np.inf)))
    filled = bool(np.all(result.panel_filled == result.panel_size))
    no_short = not any(u.kind == "metrology" for u in result.unfilled)
    achieved = result.total_affinity
    return SparsityCertificate(
        applicable=filled and no_short,
        lp_value=duals.value,
        achieved=achieved,
        omitted_pairs=omitted,
        violating_pairs=violating,
        max_reduced_cost=worst,
        gap_bound=max(0.0, duals.value + positive - achieved),
        violations=_pairs(bad_sub, bad_exp),
        sparse_optimal=result.status == "optimal",
        improving_pairs=improving,
        improving=_pairs(up_sub, up_exp),
    )


@dataclass(frozen=True)
class SparseRound:
    result: AssignmentResult
    arcs: CandidateArcs  # the graph it was solved on
    certificate: SparsityCertificate | None  # None with fairness (no duals to certify with)
    refinements: int  # re-solves with the improving pairs added


def assign_sparse(
    affinity: np.ndarray,
    pool: PoolAttributes,
    rules: Rules,
    k: int,
    *,
    panel_sizes: int | np.ndarray | None = None,
    submission_ids: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    k_metrology: int = 5,
    cover: float = 1.5,
    fairness: bool = False,
    time_limit_s: float = 60.0,
    max_refinements: int = 1,
    on_stage: Callable[[str], None] | None = None,
) -> SparseRound:
    """A big round from its full (M, N) affinity matrix: `sparsify_for_round`, `assign_round`,
    then `sparsification_gap` against the full matrix. While the answer is not certified and
    some omitted pairs could still lift it, they are added and the round solved again (at most
    `max_refinements` times, and only while the time left would allow another solve as long as
    the last). The best answer by (seats, metrology places met, total affinity) is kept, the
    later one on ties.

    `on_stage(name)` is called as each phase starts: "grow" (candidate lists), "solve" (flow and
    LP on the sparse graph), "certify" (the bound against the full matrix), "refine" (the
    re-solve with the pairs that could improve). It may raise to stop the solve (a cancelled
    job); nothing is kept."""
    stage = on_stage or (lambda _name: None)
    deadline = time.perf_counter() + time_limit_s
    stage("grow")
    arcs = sparsify_for_round(
        affinity,
        pool,
        rules,
        k,
        panel_sizes=panel_sizes,
        mask=mask,
        k_metrology=k_metrology,
        cover=cover,
    )
    best: SparseRound | None = None
    for attempt in range(max_refinements + 1):
        stage("refine" if attempt else "solve")
        start = time.perf_counter()
        result = assign_round(
            arcs,
            pool,
            rules,
            panel_sizes=panel_sizes,
            submission_ids=submission_ids,
            fairness=fairness,
            time_limit_s=max(deadline - start, 0.1),
            want_duals=not fairness,
        )
        cert = None
        if not fairness:
            stage("certify")
            cert = sparsification_gap(result, arcs, affinity, pool, mask=mask)
        current = SparseRound(result, arcs, cert, attempt)
        if best is None or _rank(result) >= _rank(best.result):
            best = current
        spent = time.perf_counter() - start
        if cert is None or cert.certified() or not cert.applicable or not cert.improving_pairs:
            break
        if deadline - time.perf_counter() < spent:
            break
        arcs = _with_pairs(arcs, affinity, cert.improving)
    assert best is not None
    if fairness:
        best = dataclasses.replace(
            best, result=_fair_on_full(best.result, affinity, pool, rules, panel_sizes, mask)
        )
    return best


def _fair_on_full(
    result: AssignmentResult,
    affinity: np.ndarray,
    pool: PoolAttributes,
    rules: Rules,
    panel_sizes: int | np.ndarray | None,
    mask: np.ndarray | None,
) -> AssignmentResult:
    """The fairness bound over every pair, not only the candidates solved on: a floor proven
    best on the sparse graph is "optimal" only if it also reaches this bound."""
    bound = full_floor_bound(affinity, pool, rules, panel_sizes=panel_sizes, mask=mask)
    status, fair_status = result.status, result.fairness_status
    floor = result.min_panel_score
    if fair_status == "optimal" and floor < bound - 1e-9 * max(1.0, abs(bound)):
        fair_status = "local optimum"
        status = "feasible" if status == "optimal" else status
    return dataclasses.replace(
        result, fairness_bound=bound, fairness_status=fair_status, status=status
    )


def full_floor_bound(
    affinity: np.ndarray,
    pool: PoolAttributes,
    rules: Rules,
    *,
    panel_sizes: int | np.ndarray | None = None,
    mask: np.ndarray | None = None,
    chunk_rows: int = 256,
) -> float:
    """Upper bound on the weakest panel's mean over the full matrix: each submission's own best
    mean (experts with a review left, one per institution when the rule is on, negative
    affinities as empty seats), the lowest over submissions with seats."""
    m, n = affinity.shape
    sizes = np.broadcast_to(
        np.asarray(rules.panel_size if panel_sizes is None else panel_sizes, np.int64), (m,)
    )
    no_capacity = np.asarray(pool.capacity) <= 0
    inst = np.asarray(pool.institution, np.int64)
    top = min(n, 8 * int(sizes.max(initial=0)))
    best = np.inf
    for lo in range(0, m, chunk_rows):
        block = _block(affinity, slice(lo, lo + chunk_rows), mask)
        block[:, no_capacity] = -np.inf
        block = np.maximum(block, 0.0)  # an empty seat counts 0; -inf becomes 0 as well
        if top == 0:
            continue
        cols = np.argpartition(-block, top - 1, axis=1)[:, :top]
        cols = np.take_along_axis(
            cols, np.argsort(-np.take_along_axis(block, cols, axis=1), axis=1, kind="stable"), 1
        )
        for r in np.flatnonzero(sizes[lo : lo + block.shape[0]] > 0):
            size = int(sizes[lo + r])
            own = _own_mean(block[r], cols[r], inst, size, rules.one_per_institution)
            best = min(best, own)
    return float(best) if np.isfinite(best) else float("nan")


def _own_mean(
    row: np.ndarray, cols: np.ndarray, inst: np.ndarray, size: int, one_per_institution: bool
) -> float:
    """Greedy best `size` of `cols` (sorted best first), one per institution: exact for that
    rule alone; when `cols` run out of institutions, the plain top `size` (still an upper
    bound)."""
    if one_per_institution:
        picked, seen = [], set()
        for c in cols:
            code = int(inst[c])
            if code >= 0:
                if code in seen:
                    continue
                seen.add(code)
            picked.append(row[c])
            if len(picked) == size:
                return float(sum(picked)) / size
    return float(row[cols[:size]].sum()) / size


def _rank(result: AssignmentResult) -> tuple[int, int, float]:
    unmet = sum(u.missing for u in result.unfilled if u.kind == "metrology")
    return int(result.panel_filled.sum()), -unmet, result.total_affinity


def _with_pairs(
    arcs: CandidateArcs, affinity: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
) -> CandidateArcs:
    n = arcs.n_experts
    key = np.union1d(arcs.submission * n + arcs.expert, pairs[0] * n + pairs[1])
    sub, exp = key // n, key % n
    return CandidateArcs(
        sub, exp, np.asarray(affinity[sub, exp], np.float64), arcs.n_submissions, n
    )


def _pairs(subs: list[np.ndarray], exps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not subs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(subs).astype(np.int64), np.concatenate(exps).astype(np.int64)


def _columns_by(codes: np.ndarray) -> dict[int, np.ndarray]:
    """Columns (experts) per institution or province code; unknown (-1) left out."""
    order = np.argsort(codes, kind="stable")
    values = codes[order]
    cuts = np.flatnonzero(np.diff(values)) + 1
    return {
        int(v[0]): o
        for v, o in zip(np.split(values, cuts), np.split(order, cuts), strict=True)
        if v.size and v[0] >= 0
    }


def _reduced_costs(
    duals: LpDuals,
    block: np.ndarray,
    lo: int,
    met: np.ndarray,
    inst_cols: dict[int, np.ndarray],
    prov_cols: dict[int, np.ndarray],
) -> np.ndarray:
    """c - sum of row duals over the rows a full-graph column (i, j) would enter."""
    rows = np.arange(lo, lo + block.shape[0])
    rc = block - duals.panel[rows, None] - duals.fill - duals.expert[None, :]
    rc -= duals.metrology[rows, None] * met[None, :]
    for keys, values, base, cols in (
        (duals.inst_group_key, duals.inst_group, max(duals.n_inst, 1), inst_cols),
        (duals.prov_group_key, duals.prov_group, max(duals.n_prov, 1), prov_cols),
    ):
        live = np.flatnonzero(
            (values != 0) & (keys // base >= lo) & (keys // base < lo + len(rows))
        )
        for g in live:
            sub, code = divmod(int(keys[g]), base)
            rc[sub - lo, cols.get(code, np.zeros(0, np.int64))] -= values[g]
    return rc
