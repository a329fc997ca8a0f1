"""Do two written names denote the same person? Pure: recusal by co-authorship and relations.

Authors' names reach us in many spellings: "张 伟", "张伟", "Zhang Wei", "Wei Zhang", "ZHANG Wei",
"Zhang, W.", "W. Zhang", "Xiao-Ming Li", "Xiaoming Li". No pinyin library is installed, so a
name in Chinese characters is compared only with names in Chinese characters, and a Latin name
only with Latin names ("张伟" and "Zhang Wei" never match).

A name becomes a set of keys (`name_keys`):

* **Han**: the characters without any space or middle dot, after NFKC (full-width folded):
  one key, ``han:张伟``.
* **Latin**: NFKC, case-folded, hyphens joined ("Xiao-Ming" -> "xiaoming"), dots and commas
  as spaces. Either the first or the last word may be the surname (Chinese authors write both
  orders), so a name gives ``surname|given`` for both readings: "Zhang Wei" and "Wei Zhang" both
  give ``zhang|wei`` and ``wei|zhang``. When the given part is only single letters ("W.",
  "X. M."), the reading is *abbreviated*: it gives only an initials key ``zhang|w``.

`match` says how sure a match is:

* ``CERTAIN``: a full key in common that is not a common name;
* ``POSSIBLE``: a full key in common that is a common name (``COMMON_NAMES``: 张伟, 王芳, 李娜,
  Zhang Wei...: thousands of people share it), or an abbreviated reading whose initials fit the
  other name ("W. Zhang" and "Zhang Wei"). A possible match is shown to the administrator as a
  warning; it never excludes anyone by itself;
* ``None``: no match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

__all__ = ["CERTAIN", "COMMON_NAMES", "POSSIBLE", "NameKeys", "certain_keys", "match", "name_keys"]

CERTAIN = "certain"
POSSIBLE = "possible"
Strength = Literal["certain", "possible"]

# The commonest full names in China (the Ministry of Public Security's published top lists),
# in characters and in pinyin. Extend freely: a name here only turns an exclusion into a warning.
_COMMON_HAN = (
    "张伟 王伟 王芳 李伟 李娜 张敏 李静 王静 刘伟 王秀英 张丽 李秀英 王丽 张静 张秀英 李强 王敏 "
    "李敏 王磊 刘洋 王艳 王勇 李军 张勇 李杰 张杰 张磊 王强 李娟 王军 张艳 张涛 王涛 李明 李艳 "
    "王超 李勇 王娟 刘杰 王秀兰 李霞 刘敏 张军 李丽 张强 王平 王刚 王杰 李桂英 刘芳 陈静 陈伟 "
    "刘静 杨勇 杨洋 王鹏 刘军 李鹏 陈刚 王丹 张燕 李玲"
)
_COMMON_PINYIN = (
    "zhang wei, wang wei, wang fang, li wei, li na, zhang min, li jing, wang jing, liu wei, "
    "wang xiuying, zhang li, li xiuying, wang li, zhang jing, zhang xiuying, li qiang, wang min, "
    "li min, wang lei, liu yang, wang yan, wang yong, li jun, zhang yong, li jie, zhang jie, "
    "zhang lei, wang qiang, li juan, wang jun, zhang yan, zhang tao, wang tao, li ming, li yan, "
    "wang chao, li yong, wang juan, liu jie, wang xiulan, li xia, liu min, zhang jun, li li, "
    "zhang qiang, wang ping, wang gang, wang jie, li guiying, liu fang, chen jing, chen wei, "
    "liu jing, yang yong, yang yang, wang peng, liu jun, li peng, chen gang, wang dan, zhang yan, "
    "li ling"
)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_DROP = re.compile(r"[\s·•・.\-]+")
_HYPHEN = re.compile(r"\s*[-‐‑–]\s*")
_SEPARATORS = re.compile(r"[\s.,;]+")
_NOT_LETTER = re.compile(r"[^a-z]")


@dataclass(frozen=True, slots=True)
class NameKeys:
    full: frozenset[str] = frozenset()  # readings with a whole given name
    initials: frozenset[str] = frozenset()  # surname + first letter of the given name, any reading
    abbreviated: frozenset[str] = frozenset()  # initials keys of readings given only as letters

    def __bool__(self) -> bool:
        return bool(self.full or self.initials)


def _fold(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).casefold().strip()


def _latin_words(text: str) -> list[str]:
    text = _HYPHEN.sub("", text)  # "Xiao-Ming" -> "xiaoming", "X.-M." -> "x.m."
    words = (_NOT_LETTER.sub("", w) for w in _SEPARATORS.split(text))
    return [w for w in words if w]


def _latin_keys(words: list[str]) -> NameKeys:
    if len(words) == 1:
        return NameKeys(full=frozenset({words[0]})) if len(words[0]) > 1 else NameKeys()
    full, initials, abbreviated = set(), set(), set()
    for surname, given in ((words[0], words[1:]), (words[-1], words[:-1])):
        if len(surname) == 1:  # an initial is never the surname
            continue
        key = f"{surname}|{given[0][0]}"
        initials.add(key)
        if all(len(w) == 1 for w in given):
            abbreviated.add(key)
        else:
            full.add(f"{surname}|{''.join(given)}")
    return NameKeys(frozenset(full), frozenset(initials), frozenset(abbreviated))


def name_keys(name: Any) -> NameKeys:
    """The keys a written name is compared by (empty for a blank or unreadable name)."""
    return _keys(name) if isinstance(name, str) else _keys(str(name or ""))


@lru_cache(maxsize=1 << 16)  # a pool's records compare the same authors' names many times
def _keys(name: str) -> NameKeys:
    text = _fold(name)
    if not text:
        return NameKeys()
    if _HAN.search(text):
        han = _HAN_DROP.sub("", text)
        return NameKeys(full=frozenset({f"han:{han}"}))
    return _latin_keys(_latin_words(text))


def _common_keys() -> frozenset[str]:
    keys = {f"han:{n}" for n in _COMMON_HAN.split()}
    for name in _COMMON_PINYIN.split(","):
        keys |= name_keys(name).full
    return frozenset(keys)


COMMON_NAMES = _common_keys()


def certain_keys(name: Any) -> frozenset[str]:
    """The full keys of `name` that are not a common name: a shared one is a certain match."""
    return name_keys(name).full - COMMON_NAMES


def match(a: Any, b: Any) -> Strength | None:
    """How surely the names `a` and `b` denote one person: CERTAIN, POSSIBLE or None."""
    ka, kb = name_keys(a), name_keys(b)
    shared = ka.full & kb.full
    if shared - COMMON_NAMES:
        return CERTAIN
    if shared or (ka.abbreviated & kb.initials) or (kb.abbreviated & ka.initials):
        return POSSIBLE
    return None


def why_possible(a: Any, b: Any) -> str:
    """'common_name' or 'initials': why a POSSIBLE match is not certain (for the evidence)."""
    return "common_name" if name_keys(a).full & name_keys(b).full else "initials"
