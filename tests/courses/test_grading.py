"""The pure grading core: drawing and grading every question kind."""

from __future__ import annotations

import pytest

from courses.grading import QuestionKey, draw, grade, is_correct, parse_response, validate_question

SINGLE = QuestionKey(1, "single", [1], 3)
MULTIPLE = QuestionKey(2, "multiple", [0, 2], 4)
TRUEFALSE = QuestionKey(3, "truefalse", False)
FILL = QuestionKey(4, "fill", ["GBW", "国家一级"])


def test_single_choice_needs_the_one_right_option() -> None:
    assert is_correct(SINGLE, parse_response("single", ["1"], 3))
    assert not is_correct(SINGLE, parse_response("single", ["0"], 3))
    assert parse_response("single", ["0", "1"], 3) is None  # two choices for a single question
    assert parse_response("single", ["7"], 3) is None  # out of range
    assert parse_response("single", ["x"], 3) is None


def test_multiple_choice_is_all_or_nothing() -> None:
    assert is_correct(MULTIPLE, parse_response("multiple", ["2", "0"], 4))
    assert not is_correct(MULTIPLE, parse_response("multiple", ["0"], 4))  # one missing
    assert not is_correct(MULTIPLE, parse_response("multiple", ["0", "1", "2"], 4))  # one extra
    assert not is_correct(MULTIPLE, parse_response("multiple", [], 4))


def test_true_false() -> None:
    assert is_correct(TRUEFALSE, parse_response("truefalse", ["false"]))
    assert not is_correct(TRUEFALSE, parse_response("truefalse", ["true"]))
    assert parse_response("truefalse", ["maybe"]) is None
    assert not is_correct(TRUEFALSE, None)  # no answer is not "false"


@pytest.mark.parametrize("typed", ["GBW", " gbw ", "Gbw", "ＧＢＷ", "国家一级", "\t国家一级 "])
def test_fill_ignores_case_spaces_and_width(typed: str) -> None:
    assert is_correct(FILL, parse_response("fill", [typed]))


@pytest.mark.parametrize("typed", ["GBW(E)", "GB", "", "   "])
def test_fill_rejects_other_text(typed: str) -> None:
    assert not is_correct(FILL, parse_response("fill", [typed]))


def test_grade_scores_and_pass_mark_boundary() -> None:
    keys = [QuestionKey(i, "truefalse", True) for i in range(10)]
    six_right = {i: i < 6 for i in range(10)}
    result = grade(keys, six_right, pass_mark=60)
    assert (result.correct, result.total, result.score, result.passed) == (6, 10, 60.0, True)
    assert not grade(keys, {i: i < 5 for i in range(10)}, pass_mark=60).passed
    thirds = grade(keys[:3], {0: True, 1: True, 2: False}, pass_mark=67)
    assert thirds.score == 66.7 and not thirds.passed
    assert grade(keys[:3], {0: True, 1: True, 2: False}, pass_mark=66).passed
    assert result.results[0] is True and result.results[9] is False


def test_draw_is_fixed_by_the_seed_and_sized() -> None:
    bank = list(range(100, 130))
    first = draw(bank, 10, seed=42)
    assert first == draw(list(reversed(bank)), 10, seed=42)  # order of the bank is irrelevant
    assert len(first) == len(set(first)) == 10 and set(first) <= set(bank)
    assert draw(bank, 10, seed=43) != first
    assert sorted(draw(bank, None, seed=1)) == bank
    assert len(draw(bank, 99, seed=1)) == 30


def test_validate_question_reports_field_and_problem() -> None:
    assert validate_question("single", ["a", "b"], [1]) == []
    assert any("out of range" in p for p in validate_question("single", ["a", "b"], [2]))
    assert any("exactly one" in p for p in validate_question("single", ["a", "b"], [0, 1]))
    assert any(p.startswith("options") for p in validate_question("multiple", ["a"], [0]))
    assert validate_question("truefalse", [], "yes") == ["answer: must be true or false"]
    assert validate_question("fill", [], []) != []
    assert validate_question("essay", [], None) != []
