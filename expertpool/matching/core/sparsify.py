"""Shrink a round to each submission's best candidates, and bound what that may cost.

`assign_round` is exact over the graph it is given. Keeping only each submission's top-K experts
(plus its best metrology-competent ones, so the metrology rule is not lost by truncation) makes
big rounds fast, but an optimal full-graph answer might use an expert below some top-K when
better experts are saturated. `sparsification_gap` settles that after the fact with LP duality:
the duals of the sparse LP, extended by zero to the rows the full graph adds, are dual-feasible
for the full LP except at omitted pairs with positive reduced cost. So

    full-graph optimum <= sparse LP value + sum over omitted pairs of max(0, reduced cost),

and when that sum is 0 and the sparse answer reaches its LP value, the sparse answer is globally
optimal. The bound compares like with like only when every seat is filled and no metrology place
is unmet (otherwise the full graph might fill more, which ranks first); `applicable` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .assign import AssignmentResult, CandidateArcs, LpDuals, PoolAttributes


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
        block = np.array(affinity[lo : lo + chunk_rows], dtype=np.float64)
        block[~np.isfinite(block)] = -np.inf
        if mask is not None:
            block[~mask[lo : lo + chunk_rows]] = -np.inf
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

    def certified(self, tol: float = 1e-6) -> bool:
        """True if the sparse answer is provably optimal on the full graph."""
        return self.applicable and self.gap_bound <= tol * max(1.0, abs(self.achieved))


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
    positive, violating, omitted, worst = 0.0, 0, 0, -np.inf
    bad_sub, bad_exp = [], []
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
        violations=(
            np.concatenate(bad_sub).astype(np.int64),
            np.concatenate(bad_exp).astype(np.int64),
        )
        if bad_sub
        else (np.zeros(0, np.int64), np.zeros(0, np.int64)),
    )


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
