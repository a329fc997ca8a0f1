"""The JSON depth check every JSON import passes before parsing (`core.tabular.read_json`)."""

from __future__ import annotations

import json

import pytest

from expertpool.core.tabular import MAX_JSON_DEPTH, FileError, json_depth_over, read_json


@pytest.mark.parametrize(
    ("text", "limit", "over"),
    [
        ("[[[]]]", 3, False),
        ("[[[[]]]]", 3, True),
        ('{"a": {"b": [1]}}', 3, False),
        ('{"a": {"b": [1]}}', 2, True),
        ('["[[[[[[[[", "\\"[[[["]', 1, False),  # brackets inside strings do not count
        ("[[[[", 3, True),  # unclosed: as deep for the parser
        ("[][][][][][]", 1, False),
        ("", 1, False),
        ("12", 0, False),
    ],
)
def test_depth(text: str, limit: int, over: bool) -> None:
    assert json_depth_over(text, limit) is over


def test_the_limit_matches_the_parsers_recursion() -> None:
    """Exactly MAX_JSON_DEPTH levels parse; one more is refused, with no RecursionError."""
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert read_json(ok.encode()) == json.loads(ok)
    with pytest.raises(FileError, match="levels deep"):
        read_json(("[" * 100_000 + "]" * 100_000).encode())


def test_not_utf8_and_not_json_are_file_errors() -> None:
    with pytest.raises(FileError, match="UTF-8"):
        read_json("[]".encode("utf-16"))
    with pytest.raises(FileError, match="not valid"):
        read_json(b'[{"a": 1,}]')
