"""The Chinese-first analyzer and the snippet highlighter, without an index."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from expertpool.core.search import highlight_text, plain_snippet, rm_analyzer
from expertpool.core.search.analysis import finer_split, jieba_tokenizer

ROOT = Path(__file__).resolve().parents[2]
TEXT = "本标准物质采用同位素稀释质谱法测定土壤中重金属铅、镉的含量，扩展不确定度小于3%。"


def tokens(text: str, mode: str = "index", **kw: object) -> list[tuple[str, int, int, int, bool]]:
    return [
        (t.text, t.pos, t.startchar, t.endchar, t.unit)
        for t in rm_analyzer()(text, positions=True, chars=True, mode=mode, **kw)
    ]


def test_offsets_point_at_the_token_text() -> None:
    for text, pos, start, end, _ in tokens(TEXT):
        assert TEXT[start:end] == text
        assert pos >= 0


def test_units_take_consecutive_positions_and_sub_words_share_them() -> None:
    toks = tokens(TEXT)
    units = [t for t in toks if t[4]]
    assert [t[1] for t in units] == list(range(len(units)))
    assert [t[2] for t in units] == sorted(t[2] for t in units)  # units tile left to right
    for text, pos, start, end, unit in toks:
        if not unit:
            parent = next(u for u in units if u[1] == pos)
            assert parent[2] <= start and end <= parent[3] and text != parent[0]


def test_index_mode_covers_jieba_search_mode() -> None:
    tk = jieba_tokenizer()
    run = "同位素稀释质谱法测定土壤中重金属"
    ours = {(t[0], t[2], t[3]) for t in tokens(run)}
    assert set(tk.tokenize(run, mode="search", HMM=False)) <= ours
    assert ("同位素稀释", 0, 5) in ours  # a 5-character word inside 同位素稀释质谱: beyond jieba


def test_query_mode_has_units_only() -> None:
    assert [t[0] for t in tokens("重金属检测", mode="query")] == ["重金属", "检测"]
    assert [t[0] for t in tokens("重金属检测")] == ["重金属", "重金", "金属", "检测"]


def test_user_dictionary_words() -> None:
    units = [t[0] for t in tokens("国家标准物质的均匀性和计量溯源性", mode="query")]
    assert units == ["国家", "标准物质", "均匀性", "计量溯源性"]
    # 法测定 is removed from jieba's dictionary: it swallowed the 测定 after every 法.
    assert [t[0] for t in tokens("液相色谱法测定", mode="query")] == ["液相色谱", "法", "测定"]


def test_stop_words_take_no_position_unless_kept() -> None:
    assert [(t[0], t[1]) for t in tokens("重金属的测定", mode="query")] == [
        ("重金属", 0),
        ("测定", 1),
    ]
    kept = rm_analyzer()("the 重金属的测定", mode="query", removestops=False)
    assert [(t.text, t.stopped) for t in kept] == [
        ("the", True),
        ("重金属", False),
        ("的", True),
        ("测定", False),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Measurements", ["measur"]),
        ("ＧＢＷ０８３０１", ["gbw", "08301", "gbw08301"]),  # full-width is folded
        ("GBW(E)080123", ["gbw", "e", "080123", "gbwe080123"]),
        ("ICP-MS", ["icp", "ms", "icpm"]),  # the joined form is stemmed like any word
        ("0.5 mg/kg", ["0.5", "mg", "kg", "mgkg"]),
        ("μg/L", ["μg", "l", "μgl"]),
    ],
)
def test_identifiers_numbers_and_english(text: str, expected: list[str]) -> None:
    assert [t[0] for t in tokens(text)] == expected


def test_finer_split_of_query_compounds() -> None:
    assert finer_split("铅含量") == ("铅", "含量")
    assert finer_split("国家标准") == ("国家", "标准")
    assert finer_split("含量") is None  # two characters: nothing to gain
    assert finer_split("icp") is None


def test_analyzer_pickles_small_without_the_dictionary() -> None:
    data = pickle.dumps(rm_analyzer())
    assert len(data) < 2000
    again = pickle.loads(data)
    assert [t.text for t in again("重金属检测")] == [t[0] for t in tokens("重金属检测")]


def test_jieba_is_quiet_and_our_dictionary_stays_private() -> None:
    code = textwrap.dedent("""
        import jieba
        from expertpool.core.search.analysis import jieba_tokenizer
        print("/".join(jieba_tokenizer().lcut("国家标准物质")))
        print("/".join(jieba.lcut("国家标准物质")))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stderr == ""
    assert out.stdout.split() == ["国家/标准物质", "国家标准/物质"]


# -- highlighting --------------------------------------------------------------------------


def test_highlight_whole_words_and_connected_identifiers() -> None:
    a = rm_analyzer()
    hl = highlight_text("采用ICP-MS测定重金属", {"icp", "ms", "重金属"}, a)
    assert hl is not None
    assert hl.html == "采用<mark>ICP-MS</mark>测定<mark>重金属</mark>"
    assert hl.matched == ("ICP-MS", "重金属")


def test_highlight_prefers_the_longest_match_and_reports_none_without_match() -> None:
    a = rm_analyzer()
    hl = highlight_text("土壤重金属", {"重金属", "金属"}, a)
    assert hl is not None and hl.html == "土壤<mark>重金属</mark>" and hl.matched == ("重金属",)
    assert highlight_text("葡萄干和葡萄皮", {"葡萄糖"}, a) is None


def test_highlight_fragments_long_text_around_matches() -> None:
    a = rm_analyzer()
    filler = "样品经微波消解后上机测定。" * 30
    text = filler + "三聚氰胺含量符合要求。" + filler
    hl = highlight_text(text, {"三聚氰胺"}, a, maxchars=60, surround=10)
    assert hl is not None
    assert hl.html.startswith("…") and hl.html.endswith("…")
    assert "<mark>三聚氰胺</mark>" in hl.html
    assert len(hl.html) < 80


def test_plain_snippet_escapes_and_truncates() -> None:
    assert plain_snippet("a <b>  c") == "a &lt;b&gt; c"
    assert plain_snippet("标准物质" * 100, maxchars=10) == "标准物质标准物质标准…"
