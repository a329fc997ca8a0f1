"""A tiny sparse LP/MIP container solved with OR-Tools' model_builder (GLOP for LP, SCIP for MIP).

Rows are added as numpy blocks and the whole model is handed over as one CSR matrix, so building
a 100k-variable model takes milliseconds instead of a Python loop per coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb
from ortools.linear_solver.python import model_builder_helper as mbh

INF = np.inf
_INTEGRAL_TOL = 1e-6


@dataclass
class LpModel:
    """max obj·x subject to row_lb <= A x <= row_ub, col_lb <= x <= col_ub."""

    col_lb: np.ndarray
    col_ub: np.ndarray
    obj: np.ndarray
    integer: np.ndarray  # bool per column
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _vals: list[np.ndarray] = field(default_factory=list)
    _lb: list[np.ndarray] = field(default_factory=list)
    _ub: list[np.ndarray] = field(default_factory=list)
    n_rows: int = 0
    blocks: dict[str, slice] = field(default_factory=dict)

    @classmethod
    def empty(cls, n_cols: int) -> LpModel:
        return cls(np.zeros(n_cols), np.ones(n_cols), np.zeros(n_cols), np.zeros(n_cols, bool))

    def add_rows(
        self,
        name: str,
        row: np.ndarray,
        col: np.ndarray,
        val: np.ndarray | float,
        lb: np.ndarray | float,
        ub: np.ndarray | float,
        n: int,
    ) -> slice:
        """Add `n` rows; entry k puts `val[k]` at (row[k], col[k]) with row local to the block."""
        self._rows.append(np.asarray(row, np.int64) + self.n_rows)
        self._cols.append(np.asarray(col, np.int64))
        self._vals.append(np.broadcast_to(np.asarray(val, np.float64), np.shape(row)).copy())
        self._lb.append(np.broadcast_to(np.asarray(lb, np.float64), (n,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, np.float64), (n,)).copy())
        block = slice(self.n_rows, self.n_rows + n)
        self.blocks[name] = block
        self.n_rows += n
        return block

    def matrix(self) -> sp.csr_matrix:
        n_cols = self.obj.size
        if not self._rows:
            return sp.csr_matrix((0, n_cols))
        coo = (np.concatenate(self._vals), (np.concatenate(self._rows), np.concatenate(self._cols)))
        return sp.csr_matrix(coo, shape=(self.n_rows, n_cols))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._lb:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._lb), np.concatenate(self._ub)


@dataclass(frozen=True)
class LpSolution:
    status: str  # "optimal" | "feasible" | "failed"
    x: np.ndarray | None
    objective: float
    bound: float
    duals: np.ndarray | None  # LP only
    reduced_costs: np.ndarray | None  # LP only
    integral: bool
    seconds: float


# GLOP's dual simplex: 3-4x faster than its default primal one on round LPs (bench/match.py),
# whose many tied affinities make the primal simplex crawl through degenerate pivots.
_GLOP = "use_dual_simplex: true"
# For MIPs left small by reduced-cost fixing: their LP bound is already within a hair of the
# optimum, so SCIP's restarts and rounds of root cuts cost far more than they prune (5.2 s ->
# 0.9 s on a 989-arc restriction of the benchmark round; optimality still proven).
_SCIP_QUICK_ROOT = (
    "presolving/maxrestarts = 0\nseparating/maxroundsroot = 3\nseparating/maxrounds = 1\n"
)


def solve(
    model: LpModel, *, relax: bool, time_limit_s: float, quick_root: bool = False
) -> LpSolution:
    """Solve as an LP with GLOP (`relax`) or as a MIP with SCIP (zero optimality gap);
    `quick_root` trims SCIP's root work for MIPs whose LP bound is already tight.

    A MIP does not see its columns fixed at 0 (reduced-cost fixing leaves SCIP ~1,000 of
    ~50,000), and values come back as whole numpy arrays, not one Python call per column.
    """
    keep = np.ones(model.obj.size, bool) if relax else ~((model.col_lb == 0) & (model.col_ub == 0))
    m = mb.Model()
    row_lb, row_ub = model.bounds()
    matrix = model.matrix()
    m.helper.fill_model_from_sparse_data(
        model.col_lb[keep],
        model.col_ub[keep],
        model.obj[keep],
        row_lb,
        row_ub,
        matrix if relax else matrix.tocsc()[:, keep].tocsr(),
    )
    m.helper.set_maximize(True)
    if not relax:
        for col in np.flatnonzero(model.integer[keep]):
            m.helper.set_var_integrality(int(col), True)
    solver = mbh.ModelSolverHelper("glop" if relax else "scip")
    solver.set_time_limit_in_seconds(max(time_limit_s, 0.1))
    if relax:
        solver.set_solver_specific_parameters(_GLOP)
    else:
        # pywraplp/model_builder default to a 1e-4 relative gap: not "optimal" enough for us.
        params = "limits/gap = 0\nlimits/absgap = 0\n"
        solver.set_solver_specific_parameters(params + (_SCIP_QUICK_ROOT if quick_root else ""))
    solver.solve(m.helper)
    status = solver.status()
    seconds = solver.wall_time()
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        return LpSolution("failed", None, -INF, INF, None, None, False, seconds)
    x = np.zeros(model.obj.size)
    x[keep] = np.asarray(solver.variable_values(), np.float64).ravel()
    duals = np.asarray(solver.dual_values(), np.float64).ravel() if relax else None
    reduced = np.asarray(solver.reduced_costs(), np.float64).ravel() if relax else None
    ints = model.integer
    integral = bool(np.all(np.abs(x[ints] - np.round(x[ints])) <= _INTEGRAL_TOL))
    label = "optimal" if status == mb.SolveStatus.OPTIMAL else "feasible"
    objective = solver.objective_value()
    bound = objective if relax else solver.best_objective_bound()
    return LpSolution(label, x, objective, bound, duals, reduced, integral, seconds)


def with_bounds(model: LpModel, col_lb: np.ndarray, col_ub: np.ndarray) -> LpModel:
    """The same rows with other column bounds (rows are shared, never mutated by `solve`)."""
    return replace(model, col_lb=col_lb, col_ub=col_ub)
