"""How a submission's affinity to every expert is computed: pure numpy, no Flask, no database.

An expert is represented by several texts (profile, review fields, each publication, each RM
developed, each past review). A submission is scored against every text; the per-text scores
are aggregated per expert (joined by the expert's centroid, the centred mean of their texts,
core/embeddings/centroids.py), then fused with keyword relevance (BM25F over the expert's texts)
and the overlap of GBW category and specialties. `bench/match_quality.py` compares the
variants on our evaluation set; the defaults below are the variant it chose (BENCHMARKS.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.assignment.affinity import (
    AffinityWeights,
    combine,
    segment_max,
    segment_mean_top_k,
    segment_softmax,
)

AGGREGATIONS = ("max", "mean_top_k", "softmax")
# Chosen by bench/match_quality.py with the softmax aggregation (t=0.05) of an expert's texts:
# nDCG@10 0.822, MAP 0.827 (mean of the best two texts: 0.817 / 0.810; BENCHMARKS.md).
# With the description in the keyword query (issue 13): MAP 0.825 here, and better on the
# outside sets bench/data/csl_zh and mla_en (BENCHMARKS.md, "Issue 13: outside evaluation sets").
DEFAULT_WEIGHTS = AffinityWeights(semantic=0.6, keyword=0.1, category=0.2, specialty=0.1)


@dataclass(frozen=True)
class ScoringConfig:
    """Aggregation of per-text similarities and the weights of the fused signals."""

    aggregation: str = "softmax"
    top_k: int = 2
    temperature: float = 0.05
    weights: AffinityWeights = field(default_factory=lambda: DEFAULT_WEIGHTS)
    # Rescale the semantic scores of one submission to [0, 1] over the pool before fusing:
    # cosines of e5 sit in a narrow band (~0.75-0.9), so unscaled, a 0.1 category bonus
    # outweighs any difference in content.
    semantic_minmax: bool = True
    # The keyword score uses only the submission's rarest (field, word) pairs: keyword-only
    # nDCG@10 0.678 with 32 against 0.662 with all of them (bench/match_quality.py).
    keyword_pairs: int | None = 32
    # The keyword query also reads the submission's description, not only its title and field
    # words: a paper-like query (title + abstract) names its subject in the text. Chosen by a
    # leave-one-set-out comparison over three evaluation sets (docs/design/evalsets.md).
    keyword_description: bool = True
    # Weight of the expert's work as a whole (the centroid: the centred mean of their texts,
    # core/embeddings/centroids.py) beside their best texts, inside the semantic part:
    # semantic = minmax(best texts) + centroid_weight * minmax(centroid). Chosen by
    # leave-one-set-out over three evaluation sets (BENCHMARKS.md, "the centroid part").
    centroid_weight: float = 0.75

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}")

    @classmethod
    def from_mapping(cls, config: dict) -> ScoringConfig:
        """From app settings MATCH_AGGREGATION, MATCH_TOP_K, MATCH_WEIGHT_<SIGNAL>."""
        defaults = cls()
        w = defaults.weights
        return cls(
            aggregation=config.get("MATCH_AGGREGATION", defaults.aggregation),
            semantic_minmax=bool(config.get("MATCH_SEMANTIC_MINMAX", defaults.semantic_minmax)),
            keyword_pairs=_optional_int(config.get("MATCH_KEYWORD_PAIRS", defaults.keyword_pairs)),
            keyword_description=bool(
                config.get("MATCH_KEYWORD_DESCRIPTION", defaults.keyword_description)
            ),
            centroid_weight=float(config.get("MATCH_CENTROID_WEIGHT", defaults.centroid_weight)),
            top_k=int(config.get("MATCH_TOP_K", defaults.top_k)),
            temperature=float(config.get("MATCH_TEMPERATURE", defaults.temperature)),
            weights=AffinityWeights(
                semantic=float(config.get("MATCH_WEIGHT_SEMANTIC", w.semantic)),
                keyword=float(config.get("MATCH_WEIGHT_KEYWORD", w.keyword)),
                category=float(config.get("MATCH_WEIGHT_CATEGORY", w.category)),
                specialty=float(config.get("MATCH_WEIGHT_SPECIALTY", w.specialty)),
            ),
        )


def _optional_int(value: object) -> int | None:
    return None if value in (None, "", 0, "0") else int(value)  # type: ignore[arg-type]


@dataclass
class PoolScores:
    """Scores of every expert (axis 0 follows the pool order) and the parts they came from."""

    total: np.ndarray
    semantic: np.ndarray  # the best texts' similarity (cosine scale), shown to the reader
    keyword: np.ndarray
    category: np.ndarray
    specialty: np.ndarray
    fused_semantic: np.ndarray | None = None  # the semantic part as it entered `total`
    centroid: np.ndarray | None = None  # the centroid's similarity, when it took part


def aggregate(
    row_scores: np.ndarray, row_expert: np.ndarray, n_experts: int, cfg: ScoringConfig
) -> np.ndarray:
    """Per-expert semantic score from per-text scores (`row_expert`: pool index of each row)."""
    if cfg.aggregation == "max":
        return segment_max(row_scores, row_expert, n_experts)
    if cfg.aggregation == "softmax":
        return segment_softmax(row_scores, row_expert, n_experts, cfg.temperature)
    return segment_mean_top_k(row_scores, row_expert, n_experts, cfg.top_k)


def score_pool(
    row_scores: np.ndarray,
    row_expert: np.ndarray,
    keyword: np.ndarray,
    category: np.ndarray | None,
    specialty: np.ndarray | None,
    cfg: ScoringConfig,
    centroid: np.ndarray | None = None,
) -> PoolScores:
    """Fuse the signals of one submission over a pool of `len(keyword)` experts.

    A pool without categories or specialties (e.g. OpenReview archives) passes None: the signal
    drops out and the other weights are renormalised, so scores still span [0, 1]. `centroid`
    (each expert's centroid similarity, `Centroids.scores`) joins the semantic part with
    `cfg.centroid_weight`; without it the semantic part is the best texts alone."""
    n = len(keyword)
    semantic = aggregate(row_scores, row_expert, n, cfg) if len(row_scores) else np.zeros(n)
    fused_semantic = semantic_part(semantic, centroid, cfg)
    total = combine(fused_semantic, keyword, category, specialty, cfg.weights)
    kw = keyword / keyword.max() if keyword.size and keyword.max() > 0 else np.zeros(n)
    return PoolScores(
        total=total,
        semantic=semantic,
        keyword=kw,
        category=np.zeros(n) if category is None else category,
        specialty=np.zeros(n) if specialty is None else specialty,
        fused_semantic=fused_semantic,
        centroid=centroid if _uses_centroid(centroid, cfg) else None,
    )


def semantic_part(
    semantic: np.ndarray, centroid: np.ndarray | None, cfg: ScoringConfig
) -> np.ndarray:
    """The semantic signal as fused: the best texts' score, joined by the centroid's if given.

    Min-max scaled over the pool when `cfg.semantic_minmax` (e5's cosines sit in a narrow band);
    raw, the two similarities are averaged with their weights (1 and `centroid_weight`)."""
    if not _uses_centroid(centroid, cfg):
        return _minmax(semantic) if cfg.semantic_minmax else semantic
    w = cfg.centroid_weight
    if cfg.semantic_minmax:
        return _minmax(_minmax(semantic) + w * _minmax(centroid))
    return (semantic + w * centroid) / (1.0 + w)


def _uses_centroid(centroid: np.ndarray | None, cfg: ScoringConfig) -> bool:
    return centroid is not None and cfg.centroid_weight > 0 and len(centroid) > 0


def _minmax(x: np.ndarray) -> np.ndarray:
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    return (x - low) / (high - low) if high > low else np.zeros_like(x)


# --- specialty overlap ------------------------------------------------------------------------

_SPLIT = re.compile(r"[\s,，、;；/／()（）]+")


def fold(term: str) -> str:
    """Compare specialties by folded form: full-width, case and spacing ignored."""
    return unicodedata.normalize("NFKC", term).casefold().replace(" ", "").replace("-", "")


def specialty_overlap(wanted: Sequence[str], experts: Sequence[Iterable[str]]) -> np.ndarray:
    """Share of the submission's terms (matrix, analytes, methods) each expert covers.

    A term counts as covered when it and one of the expert's specialties contain one another
    (铅 covers 铅; 电感耦合等离子体质谱 covers ICP-MS only through the expert's own listing),
    which is forgiving about qualifiers such as 土壤中铅 vs 铅.
    """
    terms = [t for t in dict.fromkeys(fold(w) for w in wanted) if t]
    out = np.zeros(len(experts))
    if not terms:
        return out
    for i, specialties in enumerate(experts):
        folded = [fold(s) for s in specialties if s]
        covered = sum(1 for t in terms if any(t in s or s in t for s in folded if s))
        out[i] = covered / len(terms)
    return out


class SpecialtyIndex:
    """`specialty_overlap` for one fixed pool, built once: each distinct folded specialty is
    compared with the submission's terms once, not once per expert that lists it."""

    def __init__(self, experts: Sequence[Iterable[str]]) -> None:
        self.size = len(experts)
        distinct: dict[str, int] = {}
        folded: dict[str, str] = {}  # the pool repeats its specialties: fold each name once
        rows, names = [], []
        for row, specialties in enumerate(experts):
            for s in specialties:
                if s and s not in folded:
                    folded[s] = fold(s)
            for name in dict.fromkeys(folded[s] for s in specialties if s):
                if name:
                    rows.append(row)
                    names.append(distinct.setdefault(name, len(distinct)))
        self.names = tuple(distinct)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.name_of_row = np.asarray(names, dtype=np.int64)

    def overlap(self, wanted: Sequence[str]) -> np.ndarray:
        """Equal to `specialty_overlap(wanted, experts)` for the experts it was built from."""
        terms = [t for t in dict.fromkeys(fold(w) for w in wanted) if t]
        covered = np.zeros(self.size, dtype=np.int64)
        if not terms:
            return np.zeros(self.size)
        for t in terms:
            hits = np.fromiter((t in s or s in t for s in self.names), bool, len(self.names))
            covering = np.zeros(self.size, dtype=bool)
            covering[self.rows[hits[self.name_of_row]]] = True
            covered += covering
        return covered / len(terms)


def submission_terms(
    matrix: str | None, analytes: Iterable[str], methods: Iterable[str]
) -> list[str]:
    """The submission's own field terms (a matrix like '土壤、沉积物' splits into two)."""
    parts = [p for p in _SPLIT.split(matrix or "") if p]
    return parts + [a for a in analytes if a] + [m for m in methods if m]
