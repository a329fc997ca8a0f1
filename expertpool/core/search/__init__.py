"""Keyword (Whoosh + jieba) and hybrid keyword/semantic search shared by all features.

`IndexManager(root).index(IndexSpec(...))` gives a `SearchIndex`; `HybridRetriever` fuses its
hits with a semantic search. Framework-free: no Flask, no database. The Flask glue lives in
`app` (the registry of indexes, `flask search`) and `changes` (the change log in the database
that every app host's indexes follow), imported by name, not from here.
"""

from .analysis import normalize, rm_analyzer
from .highlight import Highlight, highlight_text, plain_snippet
from .hybrid import (
    Fused,
    Hit,
    HybridConfig,
    HybridRetriever,
    KeywordEvidence,
    SearchPage,
    SemanticEvidence,
    SemanticHit,
    SemanticSearch,
    normalize_scores,
    reciprocal_rank_fusion,
    score_fusion,
    semantic_from_store,
)
from .index import (
    IndexBusyError,
    IndexManager,
    IndexSpec,
    IndexWriterGate,
    KeywordHit,
    KeywordPage,
    SearchIndex,
)

__all__ = [
    "Fused",
    "Highlight",
    "Hit",
    "HybridConfig",
    "HybridRetriever",
    "IndexBusyError",
    "IndexManager",
    "IndexSpec",
    "IndexWriterGate",
    "KeywordEvidence",
    "KeywordHit",
    "KeywordPage",
    "SearchIndex",
    "SearchPage",
    "SemanticEvidence",
    "SemanticHit",
    "SemanticSearch",
    "highlight_text",
    "normalize",
    "normalize_scores",
    "plain_snippet",
    "reciprocal_rank_fusion",
    "rm_analyzer",
    "score_fusion",
    "semantic_from_store",
]
