"""Do two written names denote the same person? Pure: recusal by co-authorship and relations.

Authors' names reach us in many spellings: "张 伟", "张伟", "Zhang Wei", "Wei Zhang", "ZHANG Wei",
"Zhang, W.", "W. Zhang", "Xiao-Ming Li", "Xiaoming Li", and one person writes "张伟民" on a
Chinese paper and "Weimin Zhang" on an English one.

A name becomes a set of keys (`name_keys`):

* **Han**: the characters without any space or middle dot, after NFKC (full-width folded):
  one key, ``han:张伟``. Besides, its **pinyin readings** (`pinyin_keys`; `pypinyin`, offline:
  the dictionary ships in the wheel; computed only when the name meets a Latin one), in the
  Latin keys' form: the surname is the first character, or the first two when they are a
  compound surname (`COMPOUND_SURNAMES`: 欧阳, 司马, 尉迟...); a surname is read as a surname
  (`SURNAME_READINGS`: 单 shan, not dan; 曾 zeng; 区 ou); each given-name character in all its
  readings (重 zhong or chong), at most `MAX_READINGS` combinations. "张伟民" reads ``zhang|weimin``, with initials ``zhang|w``. A name with a middle
  dot ("买买提·艾力") reads as its parts, ``maimaiti|aili``.
* **Latin**: NFKC, case-folded, hyphens joined ("Xiao-Ming" -> "xiaoming"), dots and commas
  as spaces. Either the first or the last word may be the surname (Chinese authors write both
  orders), so a name gives ``surname|given`` for both readings: "Zhang Wei" and "Wei Zhang" both
  give ``zhang|wei`` and ``wei|zhang``. When the given part is only single letters ("W.",
  "X. M."), the reading is *abbreviated*: it gives only an initials key ``zhang|w``.

`match` says how sure a match is:

* ``CERTAIN``: a full key in common that is not a common name (same script only);
* ``POSSIBLE``: a full key in common that is a common name (``COMMON_NAMES``: 张伟, 王芳, 李娜,
  Zhang Wei...: thousands of people share it), or an abbreviated reading whose initials fit the
  other name ("W. Zhang" and "Zhang Wei"), or a Chinese name whose pinyin reading (or its
  initials) is the Latin name ("张伟民" and "Weimin Zhang", "W.M. Zhang"). Across scripts a
  match is never certain: 张伟, 章伟 and 张玮 are all "Zhang Wei". A possible match is shown
  to the administrator as a warning; it never excludes anyone by itself;
* ``None``: no match. Two names in characters are never compared by their pinyin (张伟 and
  张玮 do not match).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, product
from typing import Any, Literal

from pypinyin import Style, pinyin

__all__ = [
    "CERTAIN",
    "COMMON_NAMES",
    "COMPOUND_SURNAMES",
    "POSSIBLE",
    "SURNAME_READINGS",
    "NameKeys",
    "PinyinKeys",
    "certain_keys",
    "match",
    "name_keys",
    "pinyin_keys",
]

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

# Two-character surnames, with their reading as a surname (尉迟 is yuchi, not weichi).
COMPOUND_SURNAMES = {
    "欧阳": "ouyang", "司马": "sima", "诸葛": "zhuge", "上官": "shangguan", "东方": "dongfang",
    "皇甫": "huangfu", "尉迟": "yuchi", "公孙": "gongsun", "慕容": "murong", "令狐": "linghu",
    "长孙": "zhangsun", "夏侯": "xiahou", "宇文": "yuwen", "司徒": "situ", "端木": "duanmu",
    "万俟": "moqi", "独孤": "dugu", "南宫": "nangong", "西门": "ximen", "百里": "baili",
    "呼延": "huyan", "轩辕": "xuanyuan", "申屠": "shentu", "太史": "taishi", "澹台": "tantai",
    "公冶": "gongye", "宗政": "zongzheng", "濮阳": "puyang", "淳于": "chunyu", "单于": "chanyu",
    "闻人": "wenren", "赫连": "helian", "钟离": "zhongli", "司空": "sikong", "闾丘": "lyuqiu",
    "子车": "ziju", "亓官": "qiguan", "左丘": "zuoqiu", "东郭": "dongguo", "拓跋": "tuoba",
    "第五": "diwu", "谷梁": "guliang", "梁丘": "liangqiu", "公羊": "gongyang", "仲孙": "zhongsun",
    "叔孙": "shusun", "羊舌": "yangshe", "微生": "weisheng", "巫马": "wuma", "乐正": "yuezheng",
    "鲜于": "xianyu", "段干": "duangan", "东门": "dongmen", "公良": "gongliang",
    "漆雕": "qidiao", "壤驷": "rangsi", "公西": "gongxi", "颛孙": "zhuansun", "太叔": "taishu",
    "完颜": "wanyan",
}  # fmt: skip
# Characters read otherwise as a surname than as a word (单 is Shan, not Dan). Several readings
# where both are surnames in use (乐 Yue and Le, 覃 Qin and Tan, 盖 Ge and Gai). A surname not
# here is read with pypinyin's first (commonest) reading.
SURNAME_READINGS = {
    "单": ("shan",), "曾": ("zeng",), "区": ("ou",), "仇": ("qiu",), "解": ("xie",),
    "查": ("zha",), "朴": ("piao",), "盖": ("ge", "gai"), "乐": ("yue", "le"),
    "覃": ("qin", "tan"), "华": ("hua",), "任": ("ren",), "沈": ("shen",), "尉": ("wei",),
    "万": ("wan",), "长": ("chang",), "重": ("chong",), "种": ("chong",), "员": ("yun",),
    "缪": ("miao",), "繁": ("po",), "秘": ("bi",), "折": ("she",), "祭": ("zhai",),
    "翟": ("zhai",), "召": ("shao",), "句": ("gou",), "宓": ("mi",), "隗": ("wei",),
    "柏": ("bai",), "薄": ("bo",), "朝": ("chao",), "藏": ("zang",), "尹": ("yin",),
    "阚": ("kan",), "车": ("che",), "郇": ("huan",), "炅": ("gui",), "么": ("yao",),
    "都": ("du",), "占": ("zhan",), "从": ("cong",), "冼": ("xian",), "贲": ("ben",),
    "能": ("nai",), "莘": ("shen",), "逄": ("pang",), "牟": ("mou",), "眭": ("sui",),
    "黑": ("he", "hei"), "相": ("xiang",), "洗": ("xian",), "属": ("zhu",), "厍": ("she",),
}  # fmt: skip
MAX_READINGS = 8  # readings of one given name (heteronyms multiply: 重行 has 3 x 3)

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_DROP = re.compile(r"[\s·•・.\-]+")
_HYPHEN = re.compile(r"\s*[-‐‑–]\s*")
_SEPARATORS = re.compile(r"[\s.,;]+")
_NOT_LETTER = re.compile(r"[^a-z]")


_HAN_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·•・]+")
_MIDDLE_DOT = re.compile(r"[·•・]+")


@dataclass(frozen=True, slots=True)
class NameKeys:
    full: frozenset[str] = frozenset()  # readings with a whole given name
    initials: frozenset[str] = frozenset()  # surname + first letter of the given name, any reading
    abbreviated: frozenset[str] = frozenset()  # initials keys of readings given only as letters
    han: bool = False  # a name in characters (its one full key is ``han:...``)

    def __bool__(self) -> bool:
        return bool(self.full or self.initials)


@dataclass(frozen=True, slots=True)
class PinyinKeys:
    """A Han name's pinyin readings in the Latin keys' form, compared with Latin names only."""

    full: frozenset[str] = frozenset()  # surname|given, every reading
    initials: frozenset[str] = frozenset()  # surname|first letter of the given name


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


@lru_cache(maxsize=1 << 13)  # a few thousand characters make up nearly all names
def _readings(char: str) -> tuple[tuple[int, str], ...]:
    """(rank, spelling) of the toneless readings of one character, commonest (rank 0) first;
    empty when pypinyin has none.

    ü is spelt three ways in Latin names (吕: Lü on paper, Lyu in passports, Lu or Lv): one
    reading "lv" gives the spellings lyu, lu and lv, all of one rank.
    """
    found = pinyin(char, style=Style.NORMAL, heteronym=True, errors=lambda _c: [""])[0]
    out: list[tuple[int, str]] = []
    for rank, reading in enumerate(r for r in found if r.isascii() and r.isalpha()):
        spellings = [reading.replace("v", u) for u in ("yu", "u", "v")] if "v" in reading else []
        out.extend((rank, s) for s in spellings or [reading])
    return tuple(out)


@lru_cache(maxsize=1 << 14)  # given names repeat far more than whole names
def _given_readings(chars: str) -> tuple[str, ...]:
    """Up to MAX_READINGS readings of a given name, the likeliest (least total rank) first."""
    each = [_readings(c) for c in chars]
    if all(len(r) == 1 for r in each):  # no heteronym: one reading (most names)
        return ("".join(r[0][1] for r in each),) if each else ()
    combos = islice(product(*each), 64)
    ranked = sorted(combos, key=lambda combo: sum(rank for rank, _ in combo))
    return tuple("".join(s for _, s in combo) for combo in ranked[:MAX_READINGS] if combo)


@lru_cache(maxsize=1 << 12)
def _surname_readings(chars: str) -> tuple[str, ...]:
    if len(chars) == 2:
        return (COMPOUND_SURNAMES[chars],)
    if chars in SURNAME_READINGS:
        return SURNAME_READINGS[chars]
    return tuple(s for rank, s in _readings(chars) if rank == 0)


def pinyin_keys(name: Any) -> PinyinKeys:
    """The pinyin readings of a name in characters (empty for any other name). Computed only
    when a Han name meets a Latin one (`match`), never for the indexes of certain keys."""
    return _pinyin(name) if isinstance(name, str) else _pinyin(str(name or ""))


@lru_cache(maxsize=1 << 16)
def _pinyin(name: str) -> PinyinKeys:
    text = "".join(_fold(name).split())  # the middle dots kept, to split a transliteration
    if not _HAN_NAME.fullmatch(text):  # Latin, empty, or characters mixed with letters
        return PinyinKeys()
    parts = [p for p in _MIDDLE_DOT.split(text) if p]
    if len(parts) > 1:  # a transliterated name, 买买提·艾力: its parts, in either order
        surnames, givens = _given_readings(parts[0]), _given_readings("".join(parts[1:]))
    elif len(text) >= 2:
        cut = 2 if len(text) > 2 and text[:2] in COMPOUND_SURNAMES else 1
        surnames, givens = _surname_readings(text[:cut]), _given_readings(text[cut:])
    else:  # one character: a surname alone is nobody
        return PinyinKeys()
    return PinyinKeys(
        frozenset([f"{s}|{g}" for s in surnames for g in givens]),
        frozenset([f"{s}|{g[0]}" for s in surnames for g in givens]),
    )


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
        return NameKeys(full=frozenset({f"han:{han}"}), han=True)
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
    return POSSIBLE if _across(a, ka, b, kb) else None


def _across(a: Any, ka: NameKeys, b: Any, kb: NameKeys) -> str | None:
    """'pinyin' or 'pinyin_initials' when one name is in characters and its reading fits the
    other, a Latin name; else None. Two Han names (or two Latin names) never meet here."""
    if ka.han == kb.han or not (ka and kb):
        return None
    han, latin = (a, kb) if ka.han else (b, ka)
    readings = pinyin_keys(han)
    if readings.full & latin.full:
        return "pinyin"
    if readings.initials & latin.abbreviated:
        return "pinyin_initials"
    return None


def why_possible(a: Any, b: Any) -> str:
    """Why a POSSIBLE match is not certain (for the evidence): 'common_name', 'initials', or,
    across scripts, 'pinyin' (a Chinese name's reading is the Latin name) or 'pinyin_initials'
    (its initials fit a Latin name given by initials)."""
    ka, kb = name_keys(a), name_keys(b)
    if ka.full & kb.full:
        return "common_name"
    if (ka.abbreviated & kb.initials) or (kb.abbreviated & ka.initials):
        return "initials"
    return _across(a, ka, b, kb) or "initials"
