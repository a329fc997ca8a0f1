"""Round assignment: panels for M submissions from N experts, globally optimal.

Problem. Choose arcs (submission i, expert j) among the eligible ones so that panel i has at most
`size[i]` members, expert j at most `capacity[j]` reviews this round (round cap and what is left
of the yearly cap), no panel has two members of one institution nor more than `max_per_province`
from one province, and each panel has `min(min_metrology, size[i])` metrology-competent members.
Lexicographic objective: (1) fill as many seats as possible, (2) leave as few metrology places
unmet as possible, (3) maximise total affinity; with `fairness=True`, between (2) and (3) the
weakest panel's mean affinity (seats left empty count as 0) is maximised first: exactly (LP, then
MIP, below) on rounds of up to `_EXACT_FAIR_ARCS` arcs (candidate pairs), by exchanges from the unfair optimum
above (`fair.raise_floor`). Either way the result reports the floor reached, an upper bound on
the best floor, the unfair optimum's total and a `fairness_status` ("optimal", "local optimum"
or "time limit"): an answer whose floor is not proven best is never labelled "optimal".

Method (each step is exact; the first one that proves optimality wins):
1. Min-cost flow (`_graph`): institution and province rules are exact in the flow when the
   groups nest. If its answer also meets the metrology rule as far as the candidates allow at all
   (`Graph.shortfall_floor`), it is optimal for the whole problem: the flow is a relaxation.
2. Otherwise the LP relaxation of the full model (GLOP). The seat count is fixed to the flow's
   maximum and unmet metrology is charged more than any affinity difference, so one solve is
   lexicographic. An integral LP optimum is a MIP optimum; on real-sized rounds it usually is.
3. Otherwise the MIP with SCIP (zero gap, time limit; status "feasible" with a bound if
   stopped), made small by reduced-cost fixing: first with a guessed margin, then with the
   proven one (see `_mip_from_lp`).
Groups of submissions that share no candidate expert (GBW categories, in practice) are solved
apart (`_parts`), side by side on one thread per core (`_threads`): exact, and on the 2,000 x
10,000 benchmark round 13 LPs of ~50,000 arcs take 0.35 s each where one LP over all ~600,000
arcs did not end within 60 s; two threads cut that round's assignment from 19.0 s to 11.4 s.
Why not pure flow: "at least one metrologist" crosses the institution and province groups, so no
nested flow network expresses it. Why not CP-SAT: on a 2,000 x 10,000 test round (100k arcs,
2 workers, flow answer as hint) it had not proved optimality after 120 s (0.6% gap left), while
SCIP proved the same model in ~7 s and GLOP's LP optimum was already integral in ~2 s.
Deterministic: no randomness, single-threaded solvers, arcs sorted by (submission, expert); among
equally good answers the solvers' first is returned, the same on every run.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import _lp
from ._graph import Graph, solve_flow
from .constraints import ExpertTable
from .fair import floor_bound, improve_total, raise_floor
from .records import Rules

_TOL = 1e-6
_PART_ARCS = 20_000  # solve groups of submissions sharing no expert apart from this many arcs
_FREE_MIN = 1000  # integral arcs left free in the first reduced-cost-fixed MIP (see _mip_from_lp)
# Fairness: the exact max-min LP/MIP up to this many arcs; above, exchanges from the unfair
# optimum. Topic-skewed test rounds on the loaded shared machine: 2,000 arcs proven in 3.8 s
# (exchanges: same floor in 0.4 s), 3,000 arcs not proven in 32 s, 9,000 arcs not in 60 s
# (floor 0.527; exchanges 0.534 in 0.8 s); the 2,000 x 10,000 benchmark: not in 35 s.
_EXACT_FAIR_ARCS = 2_000
_EXCHANGE_SHARE = 0.2  # of the time limit, kept for the exchanges when they run


@dataclass(frozen=True)
class CandidateArcs:
    """Sparse eligible (submission, expert) pairs with their affinity (indices, not ids)."""

    submission: np.ndarray
    expert: np.ndarray
    affinity: np.ndarray
    n_submissions: int
    n_experts: int

    @classmethod
    def from_dense(cls, affinity: np.ndarray, mask: np.ndarray | None = None) -> CandidateArcs:
        """Every finite entry (and where `mask`) of an (M, N) affinity matrix is a candidate."""
        a = np.asarray(affinity, dtype=np.float64)
        ok = np.isfinite(a) if mask is None else (np.isfinite(a) & mask)
        sub, exp = np.nonzero(ok)
        return cls(sub, exp, a[sub, exp], a.shape[0], a.shape[1])


@dataclass(frozen=True)
class PoolAttributes:
    """Per-expert facts the round needs, as arrays indexed like the affinity columns."""

    institution: np.ndarray  # int, -1 = unknown (never clashes)
    province: np.ndarray  # int code, -1 = unknown (never capped)
    metrology: np.ndarray  # bool
    capacity: np.ndarray  # int, reviews still allowed this round
    ids: np.ndarray | None = None  # expert ids for the result (default: indices)

    @classmethod
    def from_table(cls, table: ExpertTable, rules: Rules) -> PoolAttributes:
        return cls(
            table.institution,
            table.province,
            table.metrology,
            table.round_capacity(rules),
            table.ids,
        )


@dataclass(frozen=True)
class Unfilled:
    submission_id: int
    kind: str  # "seat" or "metrology"
    missing: int
    reason: str


@dataclass(frozen=True)
class LpDuals:
    """Duals of the final LP, to bound what sparsifying the candidate graph may have cost."""

    value: float  # LP optimum (= dual objective)
    panel: np.ndarray  # (M,) per-panel seat row
    fill: float  # total-seats row (0 when solved in parts: folded into `panel`)
    expert: np.ndarray  # (N,) capacity rows (0 where no row)
    metrology: np.ndarray  # (M,) metrology rows (0 where no row)
    inst_group_key: np.ndarray  # sub * n_inst + inst for groups with a row
    inst_group: np.ndarray
    prov_group_key: np.ndarray
    prov_group: np.ndarray
    n_inst: int
    n_prov: int


@dataclass(frozen=True)
class AssignmentResult:
    panels: list[list[int]]  # expert ids per submission, best affinity first
    pairs: tuple[np.ndarray, np.ndarray]  # (submission index, expert index) of every seat
    panel_affinity: np.ndarray  # (M,) sum of member affinities
    panel_size: np.ndarray  # (M,) seats wanted
    panel_filled: np.ndarray  # (M,) members
    panel_metrology: np.ndarray  # (M,) metrology-competent members
    load: np.ndarray  # (N,) reviews given this round
    load_histogram: np.ndarray  # [k] = experts with k reviews this round
    weakest_match: np.ndarray  # (N,) lowest affinity among an expert's seats, NaN if none
    weakest_submission: np.ndarray  # (N,) submission index of that seat, -1 if none
    total_affinity: float
    min_panel_score: float  # min over panels of (sum of affinities / panel size)
    status: str  # "optimal" | "feasible" (time limit, see bound) | "heuristic"
    method: str  # "flow" | "lp" | "mip" | "heuristic"
    objective_bound: float  # upper bound on total affinity given the seat/metrology optimum
    fairness_bound: float = math.nan  # fairness=True: upper bound on min_panel_score
    # fairness=True: "optimal" (floor proven best), "local optimum" (no exchange raises the
    # weakest panel any further; not proven) or "time limit"; "" with fairness off.
    fairness_status: str = ""
    unfair_total: float = math.nan  # fairness=True: total affinity of the unfair answer
    unfair_min_panel_score: float = math.nan  # fairness=True: its weakest panel
    submission_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    expert_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    unfilled: list[Unfilled] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    duals: LpDuals | None = None

    @property
    def affinity_given_up(self) -> float:
        """Fairness: total affinity below the unfair answer's (NaN with fairness off)."""
        return self.unfair_total - self.total_affinity


def assign_round(
    affinity: np.ndarray | CandidateArcs,
    pool: PoolAttributes,
    rules: Rules,
    *,
    panel_sizes: int | np.ndarray | None = None,
    submission_ids: np.ndarray | None = None,
    fairness: bool = False,
    time_limit_s: float = 60.0,
    want_duals: bool = False,
) -> AssignmentResult:
    """Optimal panels for a round; see the module docstring for the objective and the method.

    `affinity` is an (M, N) matrix with -inf/NaN for ineligible pairs, or sparse `CandidateArcs`
    (e.g. from `sparsify_top_k`). `panel_sizes` defaults to `rules.panel_size` (any size >= 0 is
    accepted here). `want_duals` also solves the LP when the flow already proved optimality, so
    that `sparsification_gap` can use its duals.
    """
    arcs = affinity if isinstance(affinity, CandidateArcs) else CandidateArcs.from_dense(affinity)
    graph = _build_graph(arcs, pool, rules, panel_sizes)
    parts = _parts(graph)
    exact = fairness and graph.aff.size <= _EXACT_FAIR_ARCS
    deadline = time.perf_counter() + time_limit_s
    if fairness and not exact:
        time_limit_s *= 1.0 - _EXCHANGE_SHARE  # the exchanges' time is kept for them
    solver: _RoundSolver | _PartsSolver
    if len(parts) > 1:
        solver = _PartsSolver(graph, parts, exact, time_limit_s, want_duals)
    else:
        solver = _RoundSolver(graph, exact, time_limit_s, want_duals)
    x = solver.run()
    solver.deadline = deadline
    fair = _fair_round(graph, x, solver, exact) if fairness else None
    return _result(graph, x if fair is None else fair.x, solver, arcs, pool, submission_ids, fair)


@dataclass(frozen=True)
class _FairOutcome:
    x: np.ndarray
    status: str
    bound: float
    unfair_total: float
    unfair_floor: float


def _fair_round(
    g: Graph, x: np.ndarray, solver: _RoundSolver | _PartsSolver, exact: bool
) -> _FairOutcome:
    """The fairness report, and the exchanges where the exact stage was not run or not proven.

    Bound: each panel's own best mean (`fair.floor_bound`), or the exact stage's LP/MIP bound
    where lower. The unfair answer is the one before any fairness stage."""
    unfair = x if solver.unfair_x is None else solver.unfair_x
    bound = floor_bound(g)
    if not math.isnan(solver.fairness_bound):
        bound = min(bound, solver.fairness_bound) if not math.isnan(bound) else bound
    if exact and solver.status == "optimal":
        status = "optimal"
    else:
        start = time.perf_counter()
        found = raise_floor(g, x, solver.deadline, bound)
        x, status = found.x, found.status
        if found.moves:
            x = improve_total(g, unfair, x, solver.deadline)
        solver.timings["fair_exchange"] = time.perf_counter() - start
        if (found.moves or status != "optimal") and solver.status == "optimal":
            # A valid answer, not proven: the floor (unless "optimal"), and the total under it.
            solver.status = "feasible"
    return _FairOutcome(x, status, bound, float(g.aff[unfair].sum()), _min_panel_mean(g, unfair))


def _parts(g: Graph) -> list[np.ndarray]:
    """Submissions that share no candidate expert, as bool masks, for separate solves.

    Without a common expert no constraint links two groups (the total-seats row is a sum of
    per-group maxima), so solving them apart is exact; and LP and MIP times grow faster than
    linearly (benchmark round: 0.35 s per GBW category, over 60 s for all 13 in one LP).
    Connected components, in order of their first submission, are merged until each part has
    `_PART_ARCS` arcs, so tiny components do not each pay a solver start. Empty if not worth it.
    """
    m, n, e = g.n_sub, g.n_exp, g.aff.size
    if e < 2 * _PART_ARCS:
        return []
    adjacency = sp.coo_matrix((np.ones(e), (g.sub, m + g.exp)), shape=(m + n, m + n))
    _, label = connected_components(adjacency, directed=False)
    sub_label = label[:m]
    arcs_of = np.bincount(label[g.sub], minlength=label.max() + 1)
    parts, current, size = [], [], 0
    _, first = np.unique(sub_label, return_index=True)
    for lab in sub_label[np.sort(first)]:
        current.append(lab)
        size += int(arcs_of[lab])
        if size >= _PART_ARCS:
            parts.append(np.isin(sub_label, current))
            current, size = [], 0
    if current:
        if parts:
            parts[-1] |= np.isin(sub_label, current)
        else:
            parts.append(np.isin(sub_label, current))
    return parts


def _build_graph(
    arcs: CandidateArcs, pool: PoolAttributes, rules: Rules, panel_sizes: int | np.ndarray | None
) -> Graph:
    m, n = arcs.n_submissions, arcs.n_experts
    size = np.broadcast_to(
        np.asarray(rules.panel_size if panel_sizes is None else panel_sizes, np.int64), (m,)
    ).copy()
    if np.any(size < 0):
        raise ValueError("panel sizes must be >= 0")
    for name in ("institution", "province", "metrology", "capacity"):
        if np.shape(getattr(pool, name)) != (n,):
            raise ValueError(f"pool.{name} must have one entry per expert ({n})")
    aff = np.asarray(arcs.affinity, np.float64)
    keep = np.isfinite(aff)
    sub = np.asarray(arcs.submission, np.int64)[keep]
    exp = np.asarray(arcs.expert, np.int64)[keep]
    if sub.size and (sub.min() < 0 or sub.max() >= m or exp.min() < 0 or exp.max() >= n):
        raise ValueError("arc index out of range")
    if np.unique(sub * n + exp).size != sub.size:
        raise ValueError("duplicate (submission, expert) arcs")
    return Graph.build(
        sub,
        exp,
        aff[keep],
        institution=np.asarray(pool.institution, np.int64),
        province=np.asarray(pool.province, np.int64),
        metrology=np.asarray(pool.metrology, bool),
        capacity=np.maximum(np.asarray(pool.capacity, np.int64), 0),
        size=size,
        need=np.minimum(rules.min_metrology, size),
        one_per_institution=rules.one_per_institution,
        max_per_province=rules.max_per_province,
    )


class _RoundSolver:
    """Runs flow -> LP -> MIP stages and remembers status, method, bound, timings and duals."""

    def __init__(self, g: Graph, fairness: bool, time_limit_s: float, want_duals: bool) -> None:
        self.g = g
        self.fairness = fairness
        self.deadline = time.perf_counter() + time_limit_s
        self.want_duals = want_duals
        self.status = "optimal"
        self.method = "flow"
        self.bound = math.nan
        self.timings: dict[str, float] = {}
        self.duals: LpDuals | None = None
        self.fairness_bound = math.nan
        self._main_lp: tuple[_lp.LpModel, _lp.LpSolution] | None = None
        self.seats = 0  # maximum seats, once known
        self.unfair_x: np.ndarray | None = None  # the answer before the fairness stages

    def _left(self) -> float:
        return self.deadline - time.perf_counter()

    def run(self) -> np.ndarray:
        x = self.solve_unfair()
        self.unfair_x = x
        if self.fairness and self.status == "optimal":
            x = self._fair(self.seats, x)
        if self.want_duals and not self.fairness and self.status != "heuristic":
            self.duals = self._certificate_duals(self.seats, x)
        return x

    def solve_unfair(self) -> np.ndarray:
        """Flow, then LP/MIP where the flow cannot prove optimality: sets `seats`."""
        g = self.g
        start = time.perf_counter()
        flow = solve_flow(g)
        self.timings["flow"] = time.perf_counter() - start
        flow_optimal = flow.exact and bool(np.all(g.shortfall(flow.x) == g.shortfall_floor()))
        x = flow.x
        self.bound = float(g.aff[x].sum())
        seats = flow.seats if flow.exact else self._max_seats()
        if seats is None:
            return self._heuristic(flow.x)
        self.seats = seats
        if not flow_optimal:
            main = self._solve_stage("main", _main_model(g, seats))
            if main is None:
                return self._heuristic(flow.x)
            x, self.method, self.bound = main.x, main.method, main.bound
            self._degrade(main.status)
        return x

    def _certificate_duals(self, seats: int, x: np.ndarray) -> LpDuals | None:
        """Duals of the LP over this graph for `sparsification_gap`.

        With every metrology place met, the LP forbids shortfall outright: its duals then price
        affinity alone, instead of the huge shortfall penalty leaking into the metrology rows.
        The main stage's LP is reused when it already priced so: no shortfall in its optimum
        and metrology duals on the scale of affinities. Then the two LPs share their optimum
        and its duals are optimal for the one without shortfall columns too.
        """
        start = time.perf_counter()
        reused = self._reusable_duals(x)
        if reused is not None:
            return reused
        model = _main_model(self.g, seats)
        if not self.g.shortfall(x).any():
            e = self.g.aff.size
            model.col_ub[e : e + self.g.n_sub] = 0.0
        lp = _lp.solve(model, relax=True, time_limit_s=max(self._left(), 1.0))
        self.timings["duals"] = time.perf_counter() - start
        return _duals(self.g, model, lp) if lp.status == "optimal" else None

    def _reusable_duals(self, x: np.ndarray) -> LpDuals | None:
        if self._main_lp is None or self.g.shortfall(x).any():
            return None
        model, lp = self._main_lp
        e, m = self.g.aff.size, self.g.n_sub
        peak = float(np.abs(self.g.aff).max(initial=0.0))
        metrology = lp.duals[model.blocks["metrology"]]
        if lp.x[e : e + m].sum() > _TOL or np.abs(metrology).max(initial=0.0) > 2 * peak + _TOL:
            return None
        return _duals(self.g, model, lp)

    def _degrade(self, status: str) -> None:
        if status != "optimal":
            self.status = "feasible"

    def _max_seats(self) -> int | None:
        """Seat maximum when the flow could not hold the provincial cap (groups do not nest)."""
        model = _base_model(self.g, seats=None)
        model.obj[: self.g.aff.size] = 1.0
        found = self._solve_stage("seats", model)
        if found is None:
            return None
        self._degrade(found.status)
        return int(found.x.sum())

    def _fair(self, seats: int, x: np.ndarray) -> np.ndarray:
        """Lexicographic fairness: raise the weakest panel, then the total under that floor.

        The max-min stage gets half the time left; if it cannot prove its optimum, whatever
        floor it reached (never below the unfair optimum's) is kept and the status says
        "feasible". `fairness_bound` bounds the weakest panel's mean from above.
        """
        if not np.any(self.g.size > 0):
            return x  # no panel, nothing to balance
        weakest = self.fair_min(seats, x, self._left() / 2)
        if weakest is None:
            return x
        return self.fair_total(seats, x, *weakest)

    def fair_min(self, seats: int, x: np.ndarray, budget: float) -> tuple[_Stage, float] | None:
        """Max-min stage within `budget` seconds: its answer and the floor reached."""
        g = self.g
        shortfall = int(g.shortfall(x).sum())
        model = _main_model(g, seats, shortfall_cap=shortfall, with_t=True)
        model.obj[:] = 0.0
        model.obj[-1] = 1.0
        deadline, self.deadline = self.deadline, time.perf_counter() + budget
        weakest = self._solve_stage("fair_min", model)
        self.deadline = deadline
        if weakest is None:
            self.status = "feasible"
            return None
        # A MIP cut short after reduced-cost fixing bounds only its restriction: the LP bounds all.
        self.fairness_bound = float(weakest.sol.bound if weakest.upper is None else weakest.upper)
        self._degrade(weakest.status)
        return weakest, max(_min_panel_mean(g, x), _min_panel_mean(g, weakest.x))

    def fair_total(self, seats: int, x: np.ndarray, weakest: _Stage, floor: float) -> np.ndarray:
        """Most total affinity with every panel's mean at least `floor`."""
        g = self.g
        shortfall = int(g.shortfall(x).sum())
        model = _main_model(g, seats, shortfall_cap=shortfall, with_t=True)
        model.col_lb[-1] = floor - _TOL * max(1.0, abs(floor))
        model.obj[g.aff.size :] = 0.0
        final = self._solve_stage("fair_total", model)
        best = weakest.x
        if final is None:
            self.status, self.method, self.bound = "feasible", weakest.method, math.nan
            return best if _min_panel_mean(g, best) >= _min_panel_mean(g, x) else x
        self.method, self.bound = final.method, final.bound
        self._degrade(final.status)
        return final.x

    def _solve_stage(self, name: str, model: _lp.LpModel) -> _Stage | None:
        start = time.perf_counter()
        lp = _lp.solve(model, relax=True, time_limit_s=self._left())
        if name == "main" and lp.status == "optimal":
            self._main_lp = (model, lp)
        stage = None
        if lp.status == "optimal" and lp.integral:
            stage = _Stage(self.g, lp, "lp")
        elif lp.status == "optimal":
            stage = self._mip_from_lp(model, lp)
        elif lp.status == "feasible" and self._left() > 0:  # LP stopped early: plain MIP
            stage = self._mip(model)
        self.timings[name] = time.perf_counter() - start
        return stage

    def _mip(self, model: _lp.LpModel) -> _Stage | None:
        mip = _lp.solve(model, relax=False, time_limit_s=self._left())
        return None if mip.x is None else _Stage(self.g, mip, "mip")

    def _mip_from_lp(self, model: _lp.LpModel, lp: _lp.LpSolution) -> _Stage | None:
        """Exact MIP made small by reduced-cost fixing: first with a guessed margin, then with
        a proven one.

        With LP optimum z and reduced cost r_j, any solution that moves x_j away from its LP
        value is worth at most z - |r_j|. Stage 1 fixes every integral arc with |r_j| above a
        small margin d (chosen so that a few times as many arcs as the LP left fractional stay
        free) and solves that MIP: value z1. If z - z1 <= d, a better solution would have to
        move an arc with |r_j| < d, and those were free: z1 is optimal. Otherwise stage 2 fixes
        with margin z - z1 instead, which is exact by the same argument and contains stage 1's
        answer. On the benchmark round this leaves SCIP ~900 free arcs of ~49,000 per part.
        """
        e = self.g.aff.size
        x = lp.x[:e]
        rounded = np.round(x)
        fractional = np.abs(x - rounded) > 1e-6
        rc = np.abs(lp.reduced_costs[:e])
        slack = 1e-7 * max(1.0, abs(lp.objective))  # solver tolerance on the objective
        margin = max(_first_margin(rc[~fractional], int(fractional.sum())), slack)
        best = None
        for _ in range(2):
            lb, ub = model.col_lb.copy(), model.col_ub.copy()
            fixed = ~fractional & (rc > margin)
            lb[:e][fixed] = ub[:e][fixed] = rounded[fixed]
            sol = _lp.solve(
                _lp.with_bounds(model, lb, ub),
                relax=False,
                time_limit_s=self._left(),
                quick_root=True,
            )
            if sol.x is None:
                break
            if best is None or sol.objective > best.objective:
                best = sol
            if sol.status != "optimal":
                break
            if lp.objective - best.objective <= margin:
                return _Stage(self.g, best, "mip")
            margin = lp.objective - best.objective + slack
        if best is None:
            return self._mip(model)
        return _Stage(self.g, best, "mip", status="feasible", upper=lp.objective)

    def _heuristic(self, x: np.ndarray) -> np.ndarray:
        """Solver gave nothing in time: keep the flow's seats that obey the provincial cap."""
        self.status, self.method = "heuristic", "heuristic"
        x = x.copy()
        g = self.g
        if g.prov_limit:
            for group in np.unique(g.prov_group[x & (g.prov_group >= 0)]):
                members = np.flatnonzero(x & (g.prov_group == group))
                extra = members.size - g.prov_limit
                if extra > 0:
                    x[members[np.argsort(g.aff[members], kind="stable")[:extra]]] = False
        self.bound = math.nan
        return x


class _PartsSolver:
    """Solves each part (see `_parts`) with its own `_RoundSolver` under one shared deadline and
    combines their answers: status and method the weakest, bounds and timings summed.

    Fairness decomposes too: the weakest panel of the round is the weakest of the parts' best
    floors; see `_fair` for which parts need their max-min stage at all.
    """

    _METHODS = ("flow", "lp", "mip", "heuristic")
    _STATUSES = ("optimal", "feasible", "heuristic")

    def __init__(
        self,
        g: Graph,
        parts: list[np.ndarray],
        fairness: bool,
        time_limit_s: float,
        want_duals: bool,
    ) -> None:
        self.g = g
        self.parts = parts
        self.fairness = fairness
        self.deadline = time.perf_counter() + time_limit_s
        self.want_duals = want_duals
        self.status, self.method = "optimal", "flow"
        self.bound = 0.0
        self.fairness_bound = math.nan
        self.timings: dict[str, float] = {}
        self.duals: LpDuals | None = None
        self.unfair_x: np.ndarray | None = None

    def _left(self) -> float:
        return self.deadline - time.perf_counter()

    def run(self) -> np.ndarray:
        g = self.g
        solvers = [
            _RoundSolver(g.restrict(keep), self.fairness, self._left(), self.want_duals)
            for keep in self.parts
        ]
        with ThreadPoolExecutor(max_workers=_threads(len(solvers))) as pool:
            xs = list(pool.map(self._solve_part, solvers))
        self.unfair_x = np.zeros(g.aff.size, dtype=bool)
        for keep, part_x in zip(self.parts, xs, strict=True):
            self.unfair_x[keep[g.sub]] = part_x
        if self.fairness and all(s.status == "optimal" for s in solvers):
            xs = self._fair(solvers, xs)
        x = np.zeros(g.aff.size, dtype=bool)
        for keep, solver, part_x in zip(self.parts, solvers, xs, strict=True):
            x[keep[g.sub]] = part_x
            self.status = max(self.status, solver.status, key=self._STATUSES.index)
            self.method = max(self.method, solver.method, key=self._METHODS.index)
            self.bound += solver.bound
            for key, seconds in solver.timings.items():
                self.timings[key] = self.timings.get(key, 0.0) + seconds
        bounds = [s.fairness_bound for s in solvers if not math.isnan(s.fairness_bound)]
        self.fairness_bound = min(bounds) if bounds else math.nan
        if self.want_duals and not self.fairness and all(s.duals is not None for s in solvers):
            self.duals = _merge_duals(
                g, [(keep, s.duals) for keep, s in zip(self.parts, solvers, strict=True)]
            )
        return x

    def _solve_part(self, solver: _RoundSolver) -> np.ndarray:
        solver.deadline = self.deadline  # a part waiting for a thread starts with what is left
        return solver.solve_unfair() if self.fairness else solver.run()

    def _fair(self, solvers: list[_RoundSolver], xs: list[np.ndarray]) -> list[np.ndarray]:
        """Bottleneck first. The round's weakest panel can rise only as far as the part holding
        it allows, so parts are raised in the order of their unfair weakest panel, and the
        loop stops at the first part whose unfair answer already clears the floor reached:
        that part, and every later one, keeps its answer, which is already the most total
        affinity with every panel at or above the floor. The raised parts then maximise their
        total under the common floor. Usually one or two parts of many need the max-min
        stage, and they get the time instead of an even share."""
        with_panels = [i for i, s in enumerate(solvers) if np.any(s.g.size > 0)]
        own = {i: _min_panel_mean(solvers[i].g, xs[i]) for i in with_panels}
        order = sorted(with_panels, key=lambda i: (own[i], i))
        half = time.perf_counter() + self._left() / 2
        weakest: dict[int, tuple[_Stage, float]] = {}
        floor = math.inf
        for i in order:
            if own[i] >= floor:
                break
            solver = solvers[i]
            solver.deadline = self.deadline
            # All the max-min time left: the bottleneck part comes first and decides the floor
            # (on the 2,000 x 10,000 round, half the time for it raised the weakest panel
            # 0.8118 -> 0.8118, all of it 0.8118 -> 0.8273 of a bound of 0.8306).
            found = solver.fair_min(solver.seats, xs[i], half - time.perf_counter())
            if found is not None:
                weakest[i] = found
            floor = min(floor, found[1] if found is not None else own[i])
        for i, (stage, _own) in weakest.items():
            solvers[i].deadline = self.deadline
            xs[i] = solvers[i].fair_total(solvers[i].seats, xs[i], stage, floor)
        return xs


def _threads(n_parts: int) -> int:
    """Threads for solving the parts side by side: the solvers (GLOP, SCIP, the flows) run
    outside the GIL, each single-threaded, so one per core; ASSIGN_THREADS overrides (1: in
    turn). Each part's answer is the same whichever thread solves it."""
    wanted = int(os.environ.get("ASSIGN_THREADS", "0")) or (os.cpu_count() or 1)
    return max(1, min(wanted, n_parts))


def _merge_duals(g: Graph, parts: list[tuple[np.ndarray, LpDuals]]) -> LpDuals:
    """One set of duals from the parts' LPs. Each part has its own total-seats row; its dual is
    folded into the part's panel duals (every arc of a part meets both rows, so the reduced cost
    of every pair is unchanged). Exact for `sparsification_gap` whenever every seat is filled:
    the panel rows are then all tight and may take duals of either sign."""
    panel, metrology, expert = np.zeros(g.n_sub), np.zeros(g.n_sub), np.zeros(g.n_exp)
    inst_key, inst, prov_key, prov, value = [], [], [], [], 0.0
    for keep, d in parts:
        panel[keep] = d.panel[keep] + d.fill
        metrology[keep] = d.metrology[keep]
        mine = np.unique(g.exp[keep[g.sub]])
        expert[mine] = d.expert[mine]
        inst_key.append(d.inst_group_key)
        inst.append(d.inst_group)
        prov_key.append(d.prov_group_key)
        prov.append(d.prov_group)
        value += d.value
    inst_key, inst = _by_key(inst_key, inst)
    prov_key, prov = _by_key(prov_key, prov)
    return LpDuals(
        value=value,
        panel=panel,
        fill=0.0,
        expert=expert,
        metrology=metrology,
        inst_group_key=inst_key,
        inst_group=inst,
        prov_group_key=prov_key,
        prov_group=prov,
        n_inst=g.n_inst,
        n_prov=g.n_prov,
    )


def _by_key(keys: list[np.ndarray], values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    k, v = np.concatenate(keys).astype(np.int64), np.concatenate(values).astype(np.float64)
    order = np.argsort(k, kind="stable")
    return k[order], v[order]


@dataclass
class _Stage:
    g: Graph
    sol: _lp.LpSolution
    method: str
    status: str = ""
    upper: float | None = None  # a global bound when `sol.bound` only covers a restriction

    def __post_init__(self) -> None:
        self.status = self.status or self.sol.status

    @property
    def x(self) -> np.ndarray:
        return self.sol.x[: self.g.aff.size] > 0.5

    @property
    def bound(self) -> float:
        """Bound on total affinity: the solver's bound less this solution's shortfall penalty."""
        penalty = self.sol.objective - float(self.g.aff[self.x].sum())
        return (self.sol.bound if self.upper is None else self.upper) - penalty


def _min_panel_mean(g: Graph, x: np.ndarray) -> float:
    """The fairness measure: lowest (sum of member affinities / panel size); empty seats = 0."""
    sized = g.size > 0
    sums = np.bincount(g.sub[x], weights=g.aff[x], minlength=g.n_sub)
    return float((sums[sized] / g.size[sized]).min()) if sized.any() else math.nan


def _first_margin(abs_rc: np.ndarray, n_fractional: int) -> float:
    """Reduced-cost margin that leaves max(_FREE_MIN, 4 x fractional) integral arcs free."""
    free = min(abs_rc.size, max(_FREE_MIN, 4 * n_fractional))
    return float(np.partition(abs_rc, free - 1)[free - 1]) if free else 0.0


def _base_model(g: Graph, seats: int | None) -> _lp.LpModel:
    """Columns: x per arc, then s (metrology shortfall) per submission. Hard rows only."""
    e, m = g.aff.size, g.n_sub
    model = _lp.LpModel.empty(e + m)
    model.col_ub[e:] = g.need
    model.integer[:e] = True
    arcs = np.arange(e)
    model.add_rows("panel", g.sub, arcs, 1.0, -_lp.INF, g.size, m)
    if seats is not None:
        model.add_rows("fill", np.zeros(e, np.int64), arcs, 1.0, seats, seats, 1)
    degree = np.bincount(g.exp, minlength=g.n_exp)
    capped = np.flatnonzero(degree > g.cap)
    row_of_expert = np.full(g.n_exp, -1)
    row_of_expert[capped] = np.arange(capped.size)
    on = row_of_expert[g.exp] >= 0
    model.add_rows(
        "expert", row_of_expert[g.exp[on]], arcs[on], 1.0, -_lp.INF, g.cap[capped], capped.size
    )
    on = g.inst_group >= 0
    model.add_rows("inst", g.inst_group[on], arcs[on], 1.0, -_lp.INF, 1.0, g.inst_group_key.size)
    on = g.prov_group >= 0
    model.add_rows(
        "prov",
        g.prov_group[on],
        arcs[on],
        1.0,
        -_lp.INF,
        float(g.prov_limit),
        g.prov_group_key.size,
    )
    return model


def _main_model(
    g: Graph, seats: int, shortfall_cap: int | None = None, with_t: bool = False
) -> _lp.LpModel:
    """Seats fixed; metrology rows with shortfall columns charged more than any affinity gain."""
    e, m = g.aff.size, g.n_sub
    model = _base_model(g, seats)
    if with_t:
        _add_t_column(model)
    wanted = np.flatnonzero(g.need > 0)
    row_of_sub = np.full(m, -1)
    row_of_sub[wanted] = np.arange(wanted.size)
    on = g.met & (row_of_sub[g.sub] >= 0)
    rows = np.concatenate([row_of_sub[g.sub[on]], np.arange(wanted.size)])
    cols = np.concatenate([np.flatnonzero(on), e + wanted])
    model.add_rows("metrology", rows, cols, 1.0, g.need[wanted], _lp.INF, wanted.size)
    peak = float(np.abs(g.aff).max(initial=0.0))
    model.obj[:e] = g.aff
    model.obj[e : e + m] = -(2.0 * seats * peak + 1.0)  # one unmet place outweighs any affinity
    if shortfall_cap is not None:
        model.add_rows(
            "shortfall",
            np.zeros(m, np.int64),
            e + np.arange(m),
            1.0,
            -_lp.INF,
            shortfall_cap + 0.5,
            1,
        )
    if with_t:
        panels = np.flatnonzero(g.size > 0)
        row_of_panel = np.full(m, -1)
        row_of_panel[panels] = np.arange(panels.size)
        on = row_of_panel[g.sub] >= 0
        t_col = model.obj.size - 1
        rows = np.concatenate([row_of_panel[g.sub[on]], np.arange(panels.size)])
        cols = np.concatenate([np.flatnonzero(on), np.full(panels.size, t_col)])
        vals = np.concatenate([g.aff[on], -g.size[panels].astype(np.float64)])
        model.add_rows("fair", rows, cols, vals, 0.0, _lp.INF, panels.size)
    return model


def _add_t_column(model: _lp.LpModel) -> None:
    model.col_lb = np.append(model.col_lb, -_lp.INF)
    model.col_ub = np.append(model.col_ub, _lp.INF)
    model.obj = np.append(model.obj, 0.0)
    model.integer = np.append(model.integer, False)


def _duals(g: Graph, model: _lp.LpModel, lp: _lp.LpSolution) -> LpDuals:
    d = lp.duals
    blocks = model.blocks
    expert = np.zeros(g.n_exp)
    degree = np.bincount(g.exp, minlength=g.n_exp)
    expert[np.flatnonzero(degree > g.cap)] = d[blocks["expert"]]
    metrology = np.zeros(g.n_sub)
    metrology[np.flatnonzero(g.need > 0)] = d[blocks["metrology"]]
    fill = float(d[blocks["fill"]][0]) if "fill" in blocks else 0.0
    return LpDuals(
        value=lp.objective,
        panel=d[blocks["panel"]],
        fill=fill,
        expert=expert,
        metrology=metrology,
        inst_group_key=g.inst_group_key,
        inst_group=d[blocks["inst"]],
        prov_group_key=g.prov_group_key,
        prov_group=d[blocks["prov"]],
        n_inst=g.n_inst,
        n_prov=g.n_prov,
    )


def _result(
    g: Graph,
    x: np.ndarray,
    solver: _RoundSolver | _PartsSolver,
    arcs: CandidateArcs,
    pool: PoolAttributes,
    submission_ids: np.ndarray | None,
    fair: _FairOutcome | None = None,
) -> AssignmentResult:
    _check(g, x)
    m, n = g.n_sub, g.n_exp
    expert_ids = np.arange(n) if pool.ids is None else np.asarray(pool.ids)
    sub_ids = np.arange(m) if submission_ids is None else np.asarray(submission_ids)
    chosen = np.flatnonzero(x)
    order = chosen[np.lexsort((g.exp[chosen], -g.aff[chosen], g.sub[chosen]))]
    panels: list[list[int]] = [[] for _ in range(m)]
    for arc in order:
        panels[g.sub[arc]].append(int(expert_ids[g.exp[arc]]))
    panel_affinity = np.bincount(g.sub[chosen], weights=g.aff[chosen], minlength=m)
    load = np.bincount(g.exp[chosen], minlength=n)
    weakest = np.full(n, np.nan)
    weakest_sub = np.full(n, -1, dtype=np.int64)
    by_expert = chosen[np.lexsort((g.sub[chosen], g.aff[chosen], g.exp[chosen]))]
    first = np.r_[True, g.exp[by_expert][1:] != g.exp[by_expert][:-1]] if by_expert.size else []
    lowest = by_expert[first]
    weakest[g.exp[lowest]], weakest_sub[g.exp[lowest]] = g.aff[lowest], g.sub[lowest]
    return AssignmentResult(
        panels=panels,
        pairs=(g.sub[order], g.exp[order]),
        panel_affinity=panel_affinity,
        panel_size=g.size,
        panel_filled=g.filled(x),
        panel_metrology=g.metrology_count(x),
        load=load,
        load_histogram=np.bincount(load),
        weakest_match=weakest,
        weakest_submission=weakest_sub,
        total_affinity=float(panel_affinity.sum()),
        min_panel_score=_min_panel_mean(g, x),
        fairness_bound=math.nan if fair is None else fair.bound,
        fairness_status="" if fair is None else fair.status,
        unfair_total=math.nan if fair is None else fair.unfair_total,
        unfair_min_panel_score=math.nan if fair is None else fair.unfair_floor,
        status=solver.status,
        method=solver.method,
        objective_bound=solver.bound,
        submission_ids=sub_ids,
        expert_ids=expert_ids,
        unfilled=_unfilled(g, x, sub_ids),
        timings=solver.timings,
        duals=solver.duals,
    )


def _check(g: Graph, x: np.ndarray) -> None:
    """Never hand out an assignment that breaks a hard rule, whatever a solver returned."""
    problems = []
    if np.any(g.filled(x) > g.size):
        problems.append("panel size")
    if np.any(np.bincount(g.exp[x], minlength=g.n_exp) > g.cap):
        problems.append("expert capacity")
    on = x & (g.inst_group >= 0)
    if np.any(np.bincount(g.inst_group[on]) > 1):
        problems.append("institution")
    if not g.province_ok(x):
        problems.append("province")
    if problems:
        raise RuntimeError(f"assignment breaks: {', '.join(problems)}")


def _unfilled(g: Graph, x: np.ndarray, sub_ids: np.ndarray) -> list[Unfilled]:
    filled = g.filled(x)
    shortfall = g.shortfall(x)
    out = []
    for i in np.flatnonzero((filled < g.size) | (shortfall > 0)):
        if filled[i] < g.size[i]:
            out.append(
                Unfilled(int(sub_ids[i]), "seat", int(g.size[i] - filled[i]), _seat_reason(g, i))
            )
        if shortfall[i] > 0:
            out.append(
                Unfilled(int(sub_ids[i]), "metrology", int(shortfall[i]), _metrology_reason(g, i))
            )
    return out


def _arcs_of(g: Graph, i: int) -> np.ndarray:
    lo, hi = np.searchsorted(g.sub, [i, i + 1])  # arcs are sorted by submission
    return np.arange(lo, hi)


def _seat_reason(g: Graph, i: int) -> str:
    arcs = _arcs_of(g, i)
    usable = arcs[g.cap[g.exp[arcs]] > 0]
    size = g.size[i]
    if arcs.size == 0:
        return "no_eligible_expert"
    if usable.size < size:
        return "too_few_eligible" if arcs.size < size else "experts_at_load_cap"
    inst = np.where(g.inst_group[usable] >= 0, g.inst_group[usable], -1 - usable)
    if np.unique(inst).size < size:
        return "institution_rule"
    if g.prov_limit and _province_room(g, usable) < size:
        return "province_rule"
    return "expert_capacity"  # enough candidates alone, but other panels needed them more


def _province_room(g: Graph, arcs: np.ndarray) -> int:
    inst = np.where(g.inst_group[arcs] >= 0, g.inst_group[arcs], -1 - arcs)
    room = 0
    for p in np.unique(g.prov[arcs]):
        distinct = np.unique(inst[g.prov[arcs] == p]).size
        room += distinct if p < 0 else min(distinct, g.prov_limit)
    return room


def _metrology_reason(g: Graph, i: int) -> str:
    arcs = _arcs_of(g, i)
    arcs = arcs[g.met[arcs]]
    if arcs.size == 0:
        return "no_metrology_candidate"
    if not np.any(g.cap[g.exp[arcs]] > 0):
        return "metrology_experts_at_load_cap"
    return "metrology_capacity"  # metrology experts exist but serve other panels / rules clash
