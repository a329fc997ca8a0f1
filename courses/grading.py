"""Quiz drawing and grading: a pure core (no Flask, no database).

Rules:
- single: the one chosen option must be the right one;
- multiple: all or nothing — the chosen set must equal the right set exactly;
- truefalse: the chosen truth value must match;
- fill: the response, NFKC-normalised (full-width letters become ASCII), trimmed, inner runs of
  whitespace collapsed and case-folded, must equal one of the accepted answers treated alike.
A missing or malformed response is wrong. The score is the share of right answers in percent;
an attempt passes when that share reaches the pass mark.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("single", "multiple", "truefalse", "fill")
_SPACES = re.compile(r"\s+")
MAX_FILL_LENGTH = 200


@dataclass(frozen=True)
class QuestionKey:
    """What grading needs of a question: never built from anything the browser sent."""

    id: int
    kind: str
    answer: Any
    n_options: int = 0


@dataclass(frozen=True)
class Grade:
    correct: int
    total: int
    score: float  # percent, one decimal
    passed: bool
    results: dict[int, bool]


def draw(
    bank_ids: Sequence[int],
    size: int | None,
    seed: int,
    last_seen: Mapping[int, int] | None = None,
) -> list[int]:
    """The questions of one attempt: `size` of the bank in a random order fixed by `seed`.

    `last_seen` (question id -> how recently the learner saw it, larger is more recent) makes
    the draw prefer questions not seen before, then the least recently seen: whole groups are
    taken while they fit and the group that doesn't fit is sampled, so with a bank of 10 and a
    draw of 5 the second attempt shares no question with the first. The result depends only on
    the seed and `last_seen` (itself rebuilt from the stored draws of earlier attempts).
    """
    ids = sorted(bank_ids)  # the draw depends on the seed only, not on query order
    k = len(ids) if size is None else max(0, min(size, len(ids)))
    rng = random.Random(seed)
    seen = {i: last_seen[i] for i in ids if last_seen and i in last_seen}
    if not seen:
        return rng.sample(ids, k)
    groups: dict[int, list[int]] = {}
    for i in ids:
        groups.setdefault(seen.get(i, -1), []).append(i)  # -1: never seen, drawn first
    picked: list[int] = []
    for recency in sorted(groups):
        need = k - len(picked)
        if need <= 0:
            break
        picked += rng.sample(groups[recency], min(need, len(groups[recency])))
    rng.shuffle(picked)  # mix the groups: new questions are not all at the top
    return picked


def normalise_fill(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def parse_response(kind: str, raw: Sequence[str], n_options: int = 0) -> Any:
    """Turn submitted form values into a response; None when nothing usable was sent."""
    values = [v for v in raw if v is not None]
    if kind == "single":
        chosen = _indices(values, n_options)
        return chosen[:1] if len(chosen) == 1 else None
    if kind == "multiple":
        return _indices(values, n_options) or None
    if kind == "truefalse":
        first = values[0].strip().lower() if values else ""
        return {"true": True, "false": False}.get(first)
    if kind == "fill":
        text = values[0].strip()[:MAX_FILL_LENGTH] if values else ""
        return text or None
    raise ValueError(f"unknown question kind {kind!r}")


def _indices(values: Sequence[str], n_options: int) -> list[int]:
    # ASCII digits only: "²".isdigit() is True but int("²") fails, and a 5,000-digit number too
    digits = (v.strip() for v in values)
    out = {int(v) for v in digits if v.isascii() and v.isdigit() and len(v) < 10}
    return sorted(i for i in out if 0 <= i < n_options)


def is_correct(key: QuestionKey, response: Any) -> bool:
    if response is None:
        return False
    if key.kind in ("single", "multiple"):
        return isinstance(response, list) and sorted(response) == sorted(key.answer)
    if key.kind == "truefalse":
        return response is key.answer or (isinstance(response, bool) and response == key.answer)
    if key.kind == "fill":
        accepted = {normalise_fill(str(a)) for a in key.answer}
        return isinstance(response, str) and normalise_fill(response) in accepted
    raise ValueError(f"unknown question kind {key.kind!r}")


def grade(keys: Sequence[QuestionKey], responses: Mapping[int, Any], pass_mark: int) -> Grade:
    results = {key.id: is_correct(key, responses.get(key.id)) for key in keys}
    correct, total = sum(results.values()), len(keys)
    score = round(100.0 * correct / total, 1) if total else 0.0
    # Integer comparison: 6/10 against 60 % must pass, whatever floating point says.
    passed = total > 0 and correct * 100 >= pass_mark * total
    return Grade(correct=correct, total=total, score=score, passed=passed, results=results)


def validate_question(kind: str, options: Sequence[str], answer: Any) -> list[str]:
    """Problems with a question's definition (field, message); empty when it is sound."""
    problems: list[str] = []
    if kind not in KINDS:
        return [f"kind: must be one of {', '.join(KINDS)}"]
    if kind in ("single", "multiple"):
        if len(options) < 2:
            problems.append("options: at least two options are needed")
        if (
            not isinstance(answer, list)
            or not answer
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in answer)
        ):
            problems.append("answer: a list of 0-based option indices is needed")
        else:
            bad = [i for i in answer if not 0 <= i < len(options)]
            if bad:
                problems.append(f"answer: index {bad[0]} is out of range ({len(options)} options)")
            if kind == "single" and len(answer) != 1:
                problems.append("answer: a single-choice question has exactly one right option")
            if len(set(answer)) != len(answer):
                problems.append("answer: an index is repeated")
    elif kind == "truefalse":
        if not isinstance(answer, bool):
            problems.append("answer: must be true or false")
    elif (
        not isinstance(answer, list)
        or not answer
        or not all(isinstance(a, str) and a.strip() for a in answer)
    ):
        problems.append("answer: a list of accepted answers (non-empty text) is needed")
    return problems
