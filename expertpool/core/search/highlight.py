"""Snippets with <mark> around whole matched words, for Chinese text without spaces.

Whoosh's own highlighter feeds every token to the fragmenter; our index-mode stream has
overlapping tokens (重金属 and its sub-word 金属), which would be marked piecemeal and would
make the fragmenter count characters twice. We first reduce the stream to non-overlapping
pieces (the longest matching token wins), then use Whoosh's `ContextFragmenter`, whose
`surround`/`maxchars` are character counts and so suit text without spaces.
"""

from __future__ import annotations

import re
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from html import escape

from whoosh.analysis import Analyzer, Token
from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
    Formatter,
    Fragment,
    top_fragments,
)

ELLIPSIS = "…"
_CONNECTORS = frozenset("-_/.·")

# Function characters a Chinese title splits off (土壤中铅 → 土壤 中 铅): never worth a mark.
FUNCTION_CHARS = frozenset("的了和与及或在对中等之其为并由从以于把被将是也而")


_PARTS = re.compile(r"[-_/.·\s]+")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def markable(term: str, keep: Collection[str] = ()) -> bool:
    """Whether a query word deserves a <mark> in an explanation.

    The rule: never a stop-word or a function character; Chinese words of two characters or
    more; Latin words of three letters or more. A shorter word (a single character such as 铅,
    an element symbol such as Pb) only when it is in `keep`, i.e. the query named it on its
    own (an analyte, a matrix, a method), not when it is a fragment the analyser split off.
    """
    from .analysis import STOP_WORDS

    word = term.strip().casefold()
    if not word or word in STOP_WORDS or word in FUNCTION_CHARS:
        return False
    folded_keep = {k.strip().casefold() for k in keep}
    # ICP-MS named as a method keeps its parts, so the whole of ICP-MS is still marked.
    folded_keep |= {part for k in folded_keep for part in _PARTS.split(k) if part}
    if any(_is_cjk(ch) for ch in word):
        return len(word) >= 2 or word in folded_keep
    return len(word) >= 3 or word in folded_keep


@dataclass(frozen=True, slots=True)
class Highlight:
    """HTML snippet (escaped, matches in <mark>) and the matched words as written in the text."""

    html: str
    matched: tuple[str, ...]


class MarkFormatter(Formatter):
    """Escapes text and wraps matches in <mark>; ellipses where the fragment is cut."""

    between = ELLIPSIS

    def _text(self, text: str) -> str:
        return escape(text, quote=False)

    def format_token(self, text: str, token: Token, replace: bool = False) -> str:
        return f"<mark>{escape(text[token.startchar : token.endchar], quote=False)}</mark>"

    def format(self, fragments: list[Fragment], replace: bool = False) -> str:
        if not fragments:
            return ""
        body = super().format(fragments, replace)
        text = fragments[0].text
        before, after = text[: fragments[0].startchar], text[fragments[-1].endchar :]
        return self._edge(before) + body + self._edge(after)

    def _edge(self, rest: str) -> str:
        # Fragments start and end on words; a lone "。" left over is shown, not elided.
        if len(rest) <= 2 and not any(ch.isalnum() for ch in rest):
            return self._text(rest)
        return ELLIPSIS


def highlight_text(
    text: str,
    terms: Collection[str],
    analyzer: Analyzer,
    *,
    maxchars: int = 160,
    surround: int = 40,
    top: int = 2,
) -> Highlight | None:
    """Best fragments of `text` with `terms` (analysed forms) marked; None if none occur."""
    if not text or not terms:
        return None
    analysed = _analysed_text(text, analyzer)
    marked = _marked_spans(analysed, terms)
    if not marked:
        return None
    spans = _join_connected(text, marked)
    tokens = list(_fragment_stream(text, analysed.units, spans))
    fragmenter = ContextFragmenter(maxchars=maxchars, surround=surround)
    fragments = fragmenter.fragment_tokens(text, iter(tokens))
    best = top_fragments(fragments, top, BasicFragmentScorer(), FIRST, minscore=1)
    # Report what was marked, as written: 重金属 (not also the 金属 inside it), ICP-MS.
    matched = tuple(dict.fromkeys(text[a:b] for a, b in spans))
    return Highlight(MarkFormatter().format(best), matched)


def plain_snippet(text: str, maxchars: int = 160) -> str:
    """Escaped start of `text`, for hits with nothing to mark (e.g. found by meaning only)."""
    text = " ".join(text.split())
    if len(text) <= maxchars:
        return escape(text, quote=False)
    return escape(text[:maxchars], quote=False) + ELLIPSIS


@dataclass(frozen=True, slots=True)
class _Analysed:
    """A text's tokens in the analyser's order (index mode: units and their overlays)."""

    starts: array
    ends: array
    words: tuple[str, ...]
    stopped: bytes  # 1 where the token is a stop-word
    units: tuple[tuple[int, int], ...]  # (start, end) of the unit tokens, by start


# The analysis of a text does not depend on the query: the same texts are highlighted again and
# again (a candidate's publications on every submission that ranks them), so the last few
# thousand texts' tokens are kept, compactly (offsets in arrays, words interned).
ANALYSED_TEXTS = 4096
_analysed: OrderedDict[tuple[int, str], tuple[Analyzer, _Analysed]] = OrderedDict()
_analysed_lock = threading.Lock()


def _analysed_text(text: str, analyzer: Analyzer) -> _Analysed:
    key = (id(analyzer), text)  # the entry holds the analyzer, so its id is not reused
    with _analysed_lock:
        hit = _analysed.get(key)
        if hit is not None and hit[0] is analyzer:
            _analysed.move_to_end(key)
            return hit[1]
    starts, ends, words, stopped, units = array("I"), array("I"), [], bytearray(), []
    for t in analyzer(text, chars=True, positions=True, mode="index", removestops=False):
        starts.append(t.startchar)
        ends.append(t.endchar)
        words.append(sys.intern(t.text))
        stopped.append(1 if t.stopped else 0)
        if getattr(t, "unit", True):
            units.append((t.startchar, t.endchar))
    units.sort(key=lambda u: u[0])  # stable: overlays of one start keep the analyser's order
    analysed = _Analysed(starts, ends, tuple(words), bytes(stopped), tuple(units))
    with _analysed_lock:
        _analysed[key] = (analyzer, analysed)
        while len(_analysed) > ANALYSED_TEXTS:
            _analysed.popitem(last=False)
    return analysed


def forget_analysed() -> None:
    """Drop the kept analyses (tests and benchmarks measuring a first highlight)."""
    with _analysed_lock:
        _analysed.clear()


def _marked_spans(analysed: _Analysed, terms: Collection[str]) -> list[tuple[int, int]]:
    """Non-overlapping matched tokens as (start, end), the longest winning at each start."""
    hits = [
        (analysed.starts[i], analysed.ends[i])
        for i, word in enumerate(analysed.words)
        if word in terms and not analysed.stopped[i]
    ]
    marked: list[tuple[int, int]] = []
    end = -1
    for start, stop in sorted(hits, key=lambda h: (h[0], -h[1])):
        if start >= end:
            marked.append((start, stop))
            end = stop
    return marked


def _join_connected(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge spans separated by one connector, so ICP-MS is one mark, not ICP and MS."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start - out[-1][1] == 1 and text[start - 1] in _CONNECTORS:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _fragment_stream(
    text: str, units: Iterable[tuple[int, int]], spans: list[tuple[int, int]]
) -> Iterable[_Token]:
    """Monotonic, non-overlapping tokens: matched spans plus the unmatched rest of each unit."""
    i = 0
    done = 0  # everything before this offset has been emitted
    for unit_start, unit_end in units:
        cursor = max(unit_start, done)
        while i < len(spans) and spans[i][0] < unit_end:
            start, end = spans[i]
            if start > cursor:
                yield _Token(text, cursor, start, False)
            if end > done:
                yield _Token(text, max(start, done), end, True)
            cursor = done = max(done, end)
            i += 1
        if cursor < unit_end:
            yield _Token(text, cursor, unit_end, False)
            done = unit_end


class _Token:
    """What Whoosh's fragmenter, scorer and formatter read of a token (a Whoosh `Token` is
    several times dearer to make, and a page of candidates makes thousands)."""

    __slots__ = ("boost", "endchar", "matched", "startchar", "text")

    def __init__(self, text: str, start: int, end: int, matched: bool) -> None:
        self.startchar, self.endchar, self.matched, self.boost = start, end, matched, 1.0
        # The fragment scorer counts distinct `text`s of matches to prefer varied fragments.
        self.text = text[start:end]

    def copy(self) -> _Token:
        return self  # nothing changes a token once made: the fragmenter's copy may be itself
