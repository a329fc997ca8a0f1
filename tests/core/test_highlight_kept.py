"""Highlighting keeps the last texts' analyses: the same snippets, from a bounded store."""

from __future__ import annotations

import pytest

from expertpool.core.search import highlight
from expertpool.core.search.analysis import rm_analyzer
from expertpool.core.search.highlight import forget_analysed, highlight_text

TEXTS = [
    "土壤中铅、镉的同位素稀释电感耦合等离子体质谱（ICP-MS）测定",
    "Determination of lead and cadmium in soil by ICP-MS with isotope dilution",
    "均匀性检验采用单因素方差分析，稳定性考察12个月",
    "",
]
TERMS = frozenset({"铅", "镉", "icp", "ms", "lead", "soil", "均匀性"})


def _snippets(analyzer) -> list:
    return [highlight_text(t, TERMS, analyzer, maxchars=60, surround=20) for t in TEXTS]


def test_kept_analyses_give_the_same_snippets() -> None:
    analyzer = rm_analyzer()
    forget_analysed()
    first = _snippets(analyzer)
    assert sum(h is not None for h in first) == 3 and "<mark>" in first[0].html
    assert _snippets(analyzer) == first  # now from the kept analyses
    assert _snippets(rm_analyzer()) == first  # another analyser is analysed afresh
    assert highlight_text(TEXTS[0], frozenset({"稳定性"}), analyzer) is None


def test_the_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(highlight, "ANALYSED_TEXTS", 2)
    forget_analysed()
    analyzer = rm_analyzer()
    _snippets(analyzer)
    assert len(highlight._analysed) == 2
    forget_analysed()
    assert not highlight._analysed
