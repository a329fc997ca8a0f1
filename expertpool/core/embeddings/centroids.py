"""Each source's texts as one vector, their centroid: the centred mean. Pure numpy, no Flask.

Scoring an expert by their best texts alone (softmax of the per-text cosines) rewards one
lucky text; the centroid asks whether the expert's work *as a whole* lies in the submission's
field. Two details make it work with multilingual-e5 (bench/match_quality.py, three
evaluation sets, BENCHMARKS.md "Issue 13: the centroid part"):

* **Centring.** e5's vectors share a large common component (every text of the pool sits at
  cosine ~0.8 from every other), which the plain mean of an expert's texts inherits. Removing
  the pool's mean vector before averaging, and from the query, leaves what distinguishes the
  texts: the centred centroid alone beat the uncentred one on every set.
* **The query's language.** The pool's mean is a mean of the pool's languages. A query in
  another language (an English application against a Chinese pool) keeps its language's own
  offset after centring, which then dominates its cosines. The offset between languages is
  measured on the fairness calibration texts (the same sentences in each language), so the
  mean subtracted from a query is the pool's mean moved into the query's language.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Centroids"]


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class Centroids:
    """Centroids of the sources of one matrix (computed once per matrix version)."""

    source_ids: np.ndarray  # distinct source ids, ascending
    vectors: np.ndarray  # (sources, dim) float32 unit vectors: each source's centred mean
    mean: np.ndarray  # mean of every text vector (each a unit vector)
    offsets: Mapping[str, np.ndarray] = field(default_factory=dict)  # query language -> shift

    @classmethod
    def of(
        cls,
        vectors: np.ndarray,
        source_ids: np.ndarray,
        langs: Sequence[str] = (),
        calibration: Mapping[str, np.ndarray] | None = None,
    ) -> Centroids:
        """``vectors``: one row per text, ``source_ids`` its source; ``langs`` each text's
        language and ``calibration`` (language -> the calibration texts' vectors) give the
        per-language offsets; without them every query is centred on the pool's mean."""
        rows = _unit(np.asarray(vectors, np.float32))  # float32: 50,000 texts x 384 are 77 MB
        ids = np.asarray(source_ids, np.int64)
        dim = rows.shape[1] if rows.ndim == 2 else 0
        if not len(rows):
            return cls(np.zeros(0, np.int64), np.zeros((0, dim)), np.zeros(dim))
        mean = rows.mean(axis=0, dtype=np.float64)
        order = np.argsort(ids, kind="stable")
        distinct, starts = np.unique(ids[order], return_index=True)
        # grouped sums by one sort + reduceat: np.add.at on rows is ~100x slower
        sums = np.add.reduceat(_unit(rows[order] - mean.astype(np.float32)), starts, axis=0)
        vectors = _unit(sums).astype(np.float32)
        return cls(distinct, vectors, mean, _offsets(langs, calibration or {}))

    def scores(self, query: np.ndarray, lang: str | None = None) -> np.ndarray:
        """Cosine of the centred query with every centroid (order of ``source_ids``)."""
        if not len(self.source_ids):
            return np.zeros(0)
        centre = self.mean + self.offsets.get(lang or "", 0.0)
        q = _unit(np.asarray(query, np.float64).reshape(-1) - centre).astype(np.float32)
        # numpy's own loop, not BLAS: see VectorMatrix.scores (threaded BLAS waits on a busy core)
        return np.einsum("ij,j->i", self.vectors, q).astype(np.float64)

    def scores_for(self, ids: np.ndarray, query: np.ndarray, lang: str | None = None) -> np.ndarray:
        """`scores` in the order of ``ids``; a source without texts gets the lowest score."""
        values = self.scores(query, lang)
        ids = np.asarray(ids, np.int64)
        out = np.full(ids.shape, float(values.min()) if values.size else 0.0)
        if values.size:
            at = np.minimum(np.searchsorted(self.source_ids, ids), len(self.source_ids) - 1)
            found = self.source_ids[at] == ids
            out[found] = values[at[found]]
        return out


def _offsets(langs: Sequence[str], calibration: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per query language: its calibration mean minus the pool's (the pool's languages mixed in
    the shares of its texts). Zero for the pool's only language; none without calibration."""
    means = {
        lang: _unit(np.asarray(v, np.float64)).mean(axis=0)
        for lang, v in calibration.items()
        if len(v)
    }
    present = Counter(langs)
    counts = {lang: present.get(lang, 0) for lang in means}
    total = sum(counts.values())
    if not total:
        return {}
    pool = sum(means[lang] * (n / total) for lang, n in counts.items())
    return {lang: m - pool for lang, m in means.items()}
