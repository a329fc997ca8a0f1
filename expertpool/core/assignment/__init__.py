"""Framework-free core of expert matching: eligibility, affinity, panels and round assignment.

Plain dataclasses and numpy arrays in, results out; no Flask, no database.
"""

from .affinity import (
    AffinityWeights,
    combine,
    coverage,
    segment_max,
    segment_mean,
    segment_mean_top_k,
    segment_softmax,
    top_k,
)
from .assign import (
    AssignmentResult,
    CandidateArcs,
    LpDuals,
    PoolAttributes,
    Unfilled,
    assign_round,
)
from .constraints import (
    CODES,
    ExpertTable,
    eligibility,
    eligible_mask,
    employment_cutoff,
    exclusion_masks,
    is_eligible,
    possible_conflicts,
    top_eligible,
)
from .panel import Alternate, Panel, PanelMember, build_panel
from .records import (
    ACTIVE,
    Exclusion,
    ExpertRecord,
    Rules,
    SubmissionRecord,
    normalize_gbw,
)
from .sparsify import (
    SparseRound,
    SparsityCertificate,
    assign_sparse,
    sparsification_gap,
    sparsify_for_round,
    sparsify_top_k,
)

__all__ = [
    "ACTIVE",
    "CODES",
    "AffinityWeights",
    "Alternate",
    "AssignmentResult",
    "CandidateArcs",
    "Exclusion",
    "ExpertRecord",
    "ExpertTable",
    "LpDuals",
    "Panel",
    "PanelMember",
    "PoolAttributes",
    "Rules",
    "SparseRound",
    "SparsityCertificate",
    "SubmissionRecord",
    "Unfilled",
    "assign_round",
    "assign_sparse",
    "build_panel",
    "combine",
    "coverage",
    "eligibility",
    "eligible_mask",
    "employment_cutoff",
    "exclusion_masks",
    "is_eligible",
    "possible_conflicts",
    "normalize_gbw",
    "segment_max",
    "segment_mean",
    "segment_mean_top_k",
    "segment_softmax",
    "sparsification_gap",
    "sparsify_for_round",
    "sparsify_top_k",
    "top_eligible",
    "top_k",
]
