"""Names of institutions and people: how they are stored and how they are compared. Pure.

Every path that stores or compares an institution's name (the expert forms and import, the
submission form and import, the demo data, the list filters and the JSON API, the recusal
check through the institution it resolves to) goes through these functions, by way of
`experts.institutions`:

* `tidy_name` is the form stored and shown: full-width ASCII folded (``（`` -> ``(``,
  ``ＮＩＭ`` -> ``NIM``), every run of white space (the ideographic space too) one space, the
  ends trimmed — the same tidying as a list item (`core.textlists.tidy_item`).
* `name_key` is the form compared, kept in `institution_alias.alias`: the tidy name in Unicode
  NFKC (compatibility forms folded, e.g. ``﹙`` -> ``(``), case-folded, with one space per run.
  "中国计量科学研究院（化学所）", "  中国计量科学研究院(化学所) " and "中国计量科学研究院 （化学所）"
  differ only in the spaces around the bracket, so the last one keeps its space: spacing inside a
  name is the writer's, not ours to guess.
* `person_key` compares people's names (recusal: declared conflicts, applicant people): the key
  without any space, so "王 强" is "王强".
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .textlists import tidy_item

__all__ = ["name_key", "person_key", "tidy_name"]


def tidy_name(value: Any) -> str:
    """The name as stored and shown ('' for None)."""
    return "" if value is None else tidy_item(value)


def name_key(value: Any) -> str:
    """The name as compared: NFKC, case-folded, one space per run of white space, trimmed."""
    return tidy_item(unicodedata.normalize("NFKC", tidy_name(value)).casefold())


def person_key(value: Any) -> str:
    """A person's name as compared: `name_key` without any space."""
    return name_key(value).replace(" ", "")
