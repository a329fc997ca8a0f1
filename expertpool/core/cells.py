"""Text that leaves the app in a spreadsheet or a PDF: one rule for every export.

A spreadsheet runs a cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return
as a formula (CSV or formula injection, OWASP ASVS 1.2.10, CWE-1236): a trainee named
`=HYPERLINK("http://evil.example/x","x")` would become a live link in an administrator's
workbook. Every export cell goes through here:

- `csv_cell`: the text with a leading apostrophe when it starts like a formula (Excel and
  LibreOffice read the apostrophe as "this is text"; the importers drop it again,
  `core.tabular.cell_text`).
- `xlsx_cell` / `append_row`: a string cell (never a formula) and, when it starts like one,
  Excel's own "quote prefix" style — what Excel stores when a person types `'=1`: the cell shows
  `=1` and stays text even when edited.

Only strings are neutralised: numbers, dates and booleans keep their type (-3 is a number,
not a formula). Control characters that XML 1.0 forbids (U+0000-U+0008, U+000B, U+000C,
U+000E-U+001F) are removed from every cell and from PDF text (`printable`): openpyxl refuses
them (`IllegalCharacterError`), so one such character in one profile used to break the
whole-pool export. Tab, line feed and carriage return are kept inside the text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from openpyxl.cell import Cell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE: the C0 controls XML 1.0 does not allow.
ILLEGAL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def printable(text: str) -> str:
    """`text` without the control characters XML (XLSX, PDF text) cannot hold; keeps \\t \\n \\r."""
    return ILLEGAL_CHARACTERS.sub("", text)


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def csv_cell(value: Any) -> str:
    """One CSV field: dates in ISO form, text cleaned and guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return str(value)
    text = printable(str(value))
    return "'" + text if looks_like_formula(text) else text


def csv_row(values: Iterable[Any]) -> list[str]:
    return [csv_cell(v) for v in values]


def xlsx_value(value: Any) -> Any:
    """The value to give an openpyxl cell: text cleaned, anything else as it is."""
    return printable(value) if isinstance(value, str) else value


def guard_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding text a plain string cell, quote-prefixed if formula-like."""
    if isinstance(cell.value, str):
        cell.data_type = "s"  # openpyxl made "=..." a formula ("f"); a string is never run
        if looks_like_formula(cell.value):
            cell.quotePrefix = True
    return cell


def xlsx_cell(ws: Any, row: int, column: int, value: Any) -> Any:
    """`ws.cell(row, column, value)` with the value cleaned and guarded."""
    return guard_cell(ws.cell(row=row, column=column, value=xlsx_value(value)))


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """`ws.append(values)` with every cell cleaned and guarded."""
    ws.append([guard_cell(Cell(ws, value=xlsx_value(v))) for v in values])
