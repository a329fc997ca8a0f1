"""Text analysis for Chinese-first search: jieba words for CJK runs, stemmed English, identifiers.

Token layout (what the index and the query parser both rely on):

* Every jieba word of a CJK run and every ASCII-ish part ("GBW", "08301", "icp") is a *unit*:
  units tile the text left to right and take consecutive positions 0, 1, 2, ...
* In index mode a CJK unit also yields its dictionary sub-words (重金属 -> 重金, 金属) and a
  compound such as "ICP-MS" also yields its joined form "icpms". These *overlays* share the
  position of their unit (a joined compound: its last part), so the phrase 金属 含量 still
  finds "重金属含量".
* Query mode yields units only: the query word 重金属 is one term and so does not match a
  document that only contains 金属 or 重; 葡萄糖 does not match a document with only 葡萄.
* Stop words consume no position, so "重金属的测定" is still the phrase 重金属 测定.

The analyzer is pickled into each Whoosh index's schema, so the classes here must stay
importable under this module path; the jieba dictionary itself is never pickled.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba
from whoosh.analysis import Analyzer, StemFilter, Token, Tokenizer

USER_DICT = Path(__file__).with_name("rm_userdict.txt")

# Deliberately tiny: BM25's idf already discounts common words, and a long Chinese stop list
# would swallow single-character words that matter here (铅, 汞, 中 in 中国).
ENGLISH_STOPS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "to",
        "with",
    }
)
CHINESE_STOPS = frozenset({"的", "了", "和", "与", "及", "或", "之", "其", "而", "也", "是", "在"})
STOP_WORDS = ENGLISH_STOPS | CHINESE_STOPS

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Latin (with accents), Greek (μg) and full-width letters; ASCII and full-width digits.
_LETTER = (
    r"A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\uff21-\uff3a\uff41-\uff5a"
)
_DIGIT = r"0-9\uff10-\uff19"
_PART = rf"[{_LETTER}]+|[{_DIGIT}]+(?:[.\uff0e][{_DIGIT}]+)*"
# A compound is parts glued by nothing (GBW08301) or by one connector (ICP-MS, mg/kg, GBW(E)).
_SCAN = re.compile(
    rf"(?P<cjk>[{_CJK}]+)"
    rf"|(?P<compound>(?:{_PART})(?:[-_/.·()\uff08\uff09]?(?:{_PART}))*)"
)
_PART_RE = re.compile(_PART)
_CJK_WORD = re.compile(rf"[{_CJK}]+")

_jieba_lock = threading.Lock()
_jieba: jieba.Tokenizer | None = None


def jieba_tokenizer() -> jieba.Tokenizer:
    """The process-wide jieba tokenizer with the RM dictionary, initialised once and quietly.

    A private `jieba.Tokenizer` keeps our dictionary changes away from anyone else using the
    global `jieba.cut`.
    """
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                jieba.setLogLevel(logging.ERROR)  # jieba prints "Building prefix dict" to stderr
                tk = jieba.Tokenizer()
                tk.initialize()
                for word, freq in read_user_dict(USER_DICT):
                    tk.add_word(word, freq)
                _jieba = tk
    return _jieba


def read_user_dict(path: Path) -> list[tuple[str, int | None]]:
    """Parse "word [frequency]" lines; '#' starts a comment line."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, freq = line.partition(" ")
        entries.append((word, int(freq) if freq.strip() else None))
    return entries


def normalize(text: str) -> str:
    """Full-width to ASCII, case-folded: the form stored in the index."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class RawToken:
    """One token before Whoosh sees it; `unit` is False for overlays (sub-words, joined forms)."""

    text: str
    start: int
    end: int
    unit: bool
    stopped: bool = False


def dictionary_subwords(word: str, freq: dict[str, int]) -> Iterator[tuple[str, int, int]]:
    """All dictionary words strictly inside `word`, as (text, start, end) offsets into it.

    jieba's search mode only offers 2- and 3-character pieces; we take every length so that
    同位素稀释 is still found inside 同位素稀释质谱.
    """
    n = len(word)
    for size in range(2, n):
        for i in range(n - size + 1):
            piece = word[i : i + size]
            if freq.get(piece):
                yield piece, i, i + size


def is_cjk_word(text: str) -> bool:
    return bool(_CJK_WORD.fullmatch(text))


@lru_cache(maxsize=4096)
def finer_split(word: str) -> tuple[str, ...] | None:
    """The most probable split of a CJK dictionary word into smaller pieces, or None.

    Used at query time: the query word 铅含量 is one dictionary word, but a document may have
    been segmented 铅/含量. Same dynamic programme as jieba's, minus the whole word itself.
    """
    n = len(word)
    if n < 3 or not is_cjk_word(word):
        return None
    tk = jieba_tokenizer()
    log_total = math.log(tk.total)
    best: list[tuple[float, int]] = [(0.0, n)] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = []
        for j in range(i + 1, n + 1):
            if (i, j) == (0, n):
                continue
            freq = tk.FREQ.get(word[i:j]) or (1 if j == i + 1 else 0)
            if freq:
                options.append((math.log(freq) - log_total + best[j][0], j))
        best[i] = max(options)
    pieces, i = [], 0
    while i < n:
        j = best[i][1]
        pieces.append(word[i:j])
        i = j
    return tuple(pieces)


def raw_tokens(text: str, *, overlays: bool) -> Iterator[RawToken]:
    """Split `text` into units (and overlays when indexing), with offsets into `text`."""
    for match in _SCAN.finditer(text):
        if match.lastgroup == "cjk":
            yield from _cjk_tokens(match.group(), match.start(), overlays)
        else:
            yield from _compound_tokens(match.group(), match.start(), overlays)


def _cjk_tokens(run: str, offset: int, overlays: bool) -> Iterator[RawToken]:
    for word, start, end, unit, stopped in _segments(run, overlays):
        yield RawToken(word, offset + start, offset + end, unit, stopped=stopped)


@lru_cache(maxsize=8192)
def _segments(run: str, overlays: bool) -> tuple[tuple[str, int, int, bool, bool], ...]:
    """The words of one CJK run (and, when indexing, their dictionary sub-words) as (text,
    start, end, unit, stopped) within the run. Clauses recur (review fields, a publication
    quoted again on every page that explains its author), so each is segmented once."""
    # HMM off: jieba's HMM glues unknown single characters into context-dependent "words"
    # (煤中, 以硫为), so a query and a document would segment the same text differently.
    # Without it unknown text falls apart into single characters the same way everywhere.
    tk = jieba_tokenizer()
    out = []
    for word, start, end in tk.tokenize(run, HMM=False):
        out.append((word, start, end, True, word in CHINESE_STOPS))
        if overlays and len(word) > 2:
            for piece, i, j in dictionary_subwords(word, tk.FREQ):
                out.append((piece, start + i, start + j, False, False))
    return tuple(out)


def _compound_tokens(compound: str, offset: int, overlays: bool) -> Iterator[RawToken]:
    parts = list(_PART_RE.finditer(compound))
    for part in parts:
        word = normalize(part.group())
        yield RawToken(
            word, offset + part.start(), offset + part.end(), True, stopped=word in ENGLISH_STOPS
        )
    if overlays and len(parts) > 1:
        # "ICPMS" typed without the hyphen should still find "ICP-MS".
        joined = "".join(normalize(p.group()) for p in parts)
        yield RawToken(joined, offset, offset + len(compound), False)


class RmTokenizer(Tokenizer):
    """Whoosh tokenizer implementing the layout described in the module docstring."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            yield from _whole_value(t, value, start_pos, start_char, keeporiginal)
            return
        pos = start_pos - 1
        for raw in raw_tokens(value, overlays=mode != "query"):
            if raw.stopped and removestops:
                continue
            if raw.unit and not raw.stopped:
                pos += 1
            t.text = normalize(raw.text)
            t.boost = 1.0
            t.stopped = raw.stopped
            t.unit = raw.unit
            if keeporiginal:
                t.original = value[raw.start : raw.end]
            if positions:
                t.pos = max(pos, start_pos)
            if chars:
                t.startchar = start_char + raw.start
                t.endchar = start_char + raw.end
            yield t


def _whole_value(
    t: Token, value: str, start_pos: int, start_char: int, keeporiginal: bool
) -> Iterator[Token]:
    t.text = normalize(value)
    t.boost = 1.0
    t.stopped = False
    t.unit = True
    if keeporiginal:
        t.original = value
    t.pos = start_pos
    t.startchar = start_char
    t.endchar = start_char + len(value)
    yield t


def rm_analyzer() -> Analyzer:
    """The analyzer for every text field: RM tokenizer, then Porter stemming of English words.

    CJK words and digits pass through the Porter stemmer unchanged (it only rewrites Latin
    suffixes), so one filter serves both scripts.
    """
    return RmTokenizer() | StemFilter()
