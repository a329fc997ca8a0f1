"""Leave-one-set-out choice of a ranking variant (pure; tests/test_bench_metrics.py).

With several evaluation sets, a variant chosen on the set it is then measured on is flattered
by that choice. Here each set is held out in turn: the variant with the best mean score over
the *other* sets is chosen, and only its score on the held-out set is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    held_out: str
    variant: str
    train_score: float  # mean over the other sets of the chosen variant's score


def leave_one_set_out(
    scores: Mapping[str, Mapping[str, float]], candidates: Sequence[str]
) -> list[Choice]:
    """``scores[set][variant]``: one figure per set (e.g. MAP). Each set in turn is held out and
    the candidate with the best unweighted mean over the remaining sets is chosen (ties: the
    earlier candidate). Every set must score every candidate; needs at least two sets."""
    sets = list(scores)
    if len(sets) < 2:
        raise ValueError("leave-one-set-out needs at least two sets")
    if not candidates:
        raise ValueError("no candidate variants")
    for name in sets:
        missing = [c for c in candidates if c not in scores[name]]
        if missing:
            raise KeyError(f"set {name} has no score for {missing[0]!r}")
    out = []
    for held in sets:
        train = [s for s in sets if s != held]
        best, best_score = None, float("-inf")
        for c in candidates:
            mean = sum(scores[s][c] for s in train) / len(train)
            if mean > best_score:
                best, best_score = c, mean
        out.append(Choice(held, best, best_score))
    return out
