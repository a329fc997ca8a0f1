"""Free-text lists (analytes, matrices, techniques, methods, applicant people, tags): one rule.

Every entry path (the expert and submission forms, the XLSX/CSV/JSON imports, the operations
behind them) turns a typed list into items with `split_list`, so "1,2-二氯乙烷;铅" is the same
two items whichever way it arrives. Pure: no Flask, no database.

The rule, for text:

* Always a separator: a line break (anything `str.splitlines` breaks on), the semicolons ``;``
  and ``；``, the enumeration comma ``、`` (and its half-width form ``､``) and the full-width
  comma ``，``.
* The ASCII comma ``,`` is a separator too, except inside a chemical name's locants, where it
  joins the locants:

  - between two digits ("1,2-二氯乙烷", "2,4-D", "2,2',4,4'-四溴联苯醚", also "1,000");
  - in a run of single-letter or numeric locants, each optionally primed, that ends in a hyphen
    and does not itself follow a letter, digit or hyphen ("N,N-二甲基甲酰胺", "o,p'-DDT").

  So "Pb,Cd", "Pb, Cd" and "2,4-D,多菌灵" split, "2,4-D,2,4,5-T" gives "2,4-D" and "2,4,5-T",
  and a comma followed by a space always splits ("1, 2" is two items: write locants without a
  space).
* ``/`` and parentheses never split ("ICP-MS/MS", "铅(Pb)").

Each item is then tidied: full-width ASCII forms become ASCII ("ＩＣＰ－ＭＳ" -> "ICP-MS"), every
run of white space (the ideographic space too) becomes one space, and the ends are trimmed. This
is the part of NFKC that matters here; full NFKC is not applied because it would also flatten
superscripts ("¹³⁷Cs" -> "137Cs"). Blank items and repeats are dropped, the first occurrence
keeping its place.

A list (a JSON array, or a list an importer already split) is taken item by item: each item is
tidied but not split again, because the sender already said where the items end (a JSON
``["2, 4-D"]`` stays one item). So `split_list` applied to its own result gives the same list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["SEPARATORS", "split_list", "tidy_item"]

# Always separate (besides the line breaks of str.splitlines).
SEPARATORS = frozenset(";；、､，")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")

_LOCANT = r"(?:\d+|[A-Za-z])['′″]*"
# A run of locants joined by commas, ending in a hyphen, not inside a word or after a hyphen.
_LOCANT_RUN = re.compile(rf"(?<![0-9A-Za-z'′″-]){_LOCANT}(?:,{_LOCANT})+(?=-)")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d)")
_SPACE = re.compile(r"\s+")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def tidy_item(value: Any) -> str:
    """One item: full-width ASCII forms folded, white space collapsed, ends trimmed."""
    text = str(value).translate(_FULL_WIDTH)
    return _SPACE.sub(" ", text).strip()


def _joining_commas(text: str) -> set[int]:
    """Positions of the ASCII commas that join a chemical name's locants."""
    keep = {m.start() for m in _DIGIT_COMMA.finditer(text)}
    for run in _LOCANT_RUN.finditer(text):
        keep.update(i for i in range(run.start(), run.end()) if text[i] == ",")
    return keep


def _pieces(text: str) -> Iterable[str]:
    keep = _joining_commas(text)
    start = 0
    for i, char in enumerate(text):
        if char in SEPARATORS or char in _LINE_BREAKS or (char == "," and i not in keep):
            yield text[start:i]
            start = i + 1
    yield text[start:]


def split_list(value: Any) -> list[str]:
    """The items of a typed list (text) or of a given list, tidied, blanks and repeats dropped.

    >>> split_list("1,2-二氯乙烷;铅")
    ['1,2-二氯乙烷', '铅']
    >>> split_list("2,4-D，多菌灵")
    ['2,4-D', '多菌灵']
    >>> split_list(["Pb, Cd", " Pb, Cd "])
    ['Pb, Cd']
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items: Iterable[str] = (tidy_item(v) for v in value if v is not None)
    else:
        items = (tidy_item(piece) for piece in _pieces(str(value)))
    return list(dict.fromkeys(item for item in items if item))
