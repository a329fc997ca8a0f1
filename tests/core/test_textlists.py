"""The one list rule (`core.textlists.split_list`), used by every form, import and operation."""

from __future__ import annotations

import pytest

from expertpool.core.textlists import split_list


@pytest.mark.parametrize(
    ("typed", "items"),
    [
        ("1,2-二氯乙烷;铅", ["1,2-二氯乙烷", "铅"]),
        ("铅、镉、砷", ["铅", "镉", "砷"]),
        ("Pb, Cd; As", ["Pb", "Cd", "As"]),
        ("Pb,Cd", ["Pb", "Cd"]),
        ("2,4-D，多菌灵", ["2,4-D", "多菌灵"]),
        ("2,4-D,多菌灵", ["2,4-D", "多菌灵"]),
        ("2,4-D,2,4,5-T", ["2,4-D", "2,4,5-T"]),
        ("ICP-MS\nGC-MS", ["ICP-MS", "GC-MS"]),
        ("ICP-MS\r\nGC-MS\u2028HPLC", ["ICP-MS", "GC-MS", "HPLC"]),
        ("N,N-二甲基甲酰胺,苯", ["N,N-二甲基甲酰胺", "苯"]),
        ("o,p'-DDT;p,p'-DDE", ["o,p'-DDT", "p,p'-DDE"]),
        ("2,2',4,4'-四溴联苯醚", ["2,2',4,4'-四溴联苯醚"]),
        ("C,H,N", ["C", "H", "N"]),
        ("ICP-MS/MS；铅(Pb)", ["ICP-MS/MS", "铅(Pb)"]),
        ("1, 2", ["1", "2"]),
        ("铅；铅 ;  镉\u3000 ; ;", ["铅", "镉"]),
        ("ＩＣＰ－ＭＳ", ["ICP-MS"]),
        ("¹³⁷Cs  标准", ["¹³⁷Cs 标准"]),
        ("", []),
        (None, []),
    ],
)
def test_typed_text(typed: str | None, items: list[str]) -> None:
    assert split_list(typed) == items


def test_a_given_list_is_taken_item_by_item() -> None:
    assert split_list(["Pb, Cd", " Pb, Cd ", "", None, "铅;镉"]) == ["Pb, Cd", "铅;镉"]


@pytest.mark.parametrize("typed", ["1,2-二氯乙烷;铅", "Pb, Cd; As", "铅、镉\n铅", ["a", " a "]])
def test_splitting_its_own_result_changes_nothing(typed: object) -> None:
    once = split_list(typed)
    assert split_list(once) == once
    assert split_list("\n".join(once)) == once  # as a form shows the stored list
