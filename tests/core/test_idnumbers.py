"""The one ID-number rule (`core.idnumbers`), called by the expert operations and the import."""

from __future__ import annotations

import datetime as dt

import pytest

from expertpool.core.idnumbers import InvalidIdNumber, check_digit, normalise_id_number


def test_the_standards_example() -> None:
    # The worked example of GB 11643-1999 ends in X.
    assert check_digit("11010519491231002") == "X"
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert normalise_id_number("１１０１０５ １９４９１２３１００２Ｘ") == "11010519491231002X"


@pytest.mark.parametrize("blank", [None, "", "  \u3000"])
def test_blank_is_none(blank: str | None) -> None:
    assert normalise_id_number(blank) is None


@pytest.mark.parametrize(
    ("number", "reason", "params"),
    [
        ("1101051949123100", InvalidIdNumber.LENGTH, {"n": 16}),
        ("11010519491231002Y", InvalidIdNumber.FORM, {}),
        ("110105194913310021", InvalidIdNumber.BIRTH_DATE, {"date": "19491331"}),
        ("110105189912310021", InvalidIdNumber.BIRTH_DATE, {"date": "18991231"}),
        ("110105194912310021", InvalidIdNumber.CHECK_DIGIT, {"digit": "X"}),
    ],
)
def test_refusals_say_why(number: str, reason: str, params: dict[str, object]) -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalise_id_number(number)
    assert (caught.value.reason, caught.value.params) == (reason, params)


def test_a_birth_date_in_the_future_is_refused() -> None:
    first17 = "11010520300101001"
    number = first17 + check_digit(first17)
    with pytest.raises(InvalidIdNumber):
        normalise_id_number(number, today=dt.date(2026, 1, 1))
    assert normalise_id_number(number, today=dt.date(2030, 1, 1)) == number
