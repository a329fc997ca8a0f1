"""Checks on exported spreadsheets shared by the export-safety tests (issue 12, items 3-4)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import openpyxl

HOSTILE_NAME = '=HYPERLINK("http://evil.example/x","x")'
CONTROL_NAME = "控制\x0b字符\x01专家"  # U+000B and U+0001: openpyxl refused to write them


def formulas(data: bytes) -> list[str]:
    """Every formula element (`<f>`) in the workbook's sheets, as raw XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        return [m for n in sheets for m in re.findall(r"<f[ >].*?</f>", zf.read(n).decode())]


def cell_holding(data: bytes, text: str) -> Any:
    """The first cell (of any sheet) whose value is exactly `text`."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value == text:
                    return cell
    raise AssertionError(f"no cell holds {text!r}")


def assert_text_not_formula(data: bytes, text: str) -> None:
    """`text` is in the workbook as a quote-prefixed string cell, and no cell is a formula."""
    assert formulas(data) == []
    cell = cell_holding(data, text)
    assert cell.data_type == "s" and cell.quotePrefix
