"""Resident ID numbers (居民身份证号码, GB 11643-1999): the one validation rule. Pure.

The expert operations (`create_expert`, `update_ordinary`) call `normalise_id_number`, so the
administrator's forms, the bulk import and the demo data accept and refuse the same numbers;
the importer calls it too, to name the row. `InvalidIdNumber.reason` says what is wrong (the
interface turns it into a message: `experts.operations.invalid_id_number_message`).

A number is valid when, after normalising (every space removed, full-width digits and ``ｘ``
folded, ``x`` upper-cased), it has 18 characters, 17 digits then a digit or ``X``, a birth date
(characters 7-14) that exists and lies between 1900-01-01 and today, and the right ISO 7064
MOD 11-2 check character.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

__all__ = ["InvalidIdNumber", "check_digit", "normalise_id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_FORM = re.compile(r"[0-9]{17}[0-9X]")
_SPACE = re.compile(r"\s+")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
EARLIEST_BIRTH = dt.date(1900, 1, 1)


class InvalidIdNumber(ValueError):
    """`reason` is one of LENGTH, FORM, BIRTH_DATE, CHECK_DIGIT; `params` fill its message."""

    LENGTH = "length"  # params: n (characters given)
    FORM = "form"
    BIRTH_DATE = "birth_date"  # params: date (the 8 digits)
    CHECK_DIGIT = "check_digit"  # params: digit (the expected one)

    def __init__(self, reason: str, number: str, **params: Any) -> None:
        super().__init__(f"{reason}: {number}")
        self.reason, self.number, self.params = reason, number, params


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(value: Any, today: dt.date | None = None) -> str | None:
    """The number as stored (None when blank); raises `InvalidIdNumber` when it is not valid."""
    if value is None:
        return None
    number = _SPACE.sub("", str(value).translate(_FULL_WIDTH)).upper()
    if not number:
        return None
    if len(number) != 18:
        raise InvalidIdNumber(InvalidIdNumber.LENGTH, number, n=len(number))
    if not _FORM.fullmatch(number):
        raise InvalidIdNumber(InvalidIdNumber.FORM, number)
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or not EARLIEST_BIRTH <= birth <= (today or dt.date.today()):
        raise InvalidIdNumber(InvalidIdNumber.BIRTH_DATE, number, date=number[6:14])
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise InvalidIdNumber(InvalidIdNumber.CHECK_DIGIT, number, digit=expected)
    return number
