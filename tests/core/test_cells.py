"""The export rule (core/cells.py): formula-like text neutralised, control characters dropped."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest

from expertpool.core import cells, tabular
from tests.support.spreadsheets import HOSTILE_NAME, assert_text_not_formula

FORMULA_LIKE = [HOSTILE_NAME, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", FORMULA_LIKE)
def test_csv_cell_prefixes_formula_like_text(text):
    assert cells.csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-3, -2.5, 0, True, dt.date(2026, 1, 2), None, "张三", "a=b"])
def test_csv_cell_leaves_numbers_dates_and_plain_text(value):
    expected = {None: "", dt.date(2026, 1, 2): "2026-01-02"}.get(value, str(value))
    assert cells.csv_cell(value) == expected


def test_control_characters_are_dropped_but_tab_and_line_breaks_kept():
    assert cells.printable("a\x00b\x01c\x0bd\x0ce\x1ff") == "abcdef"
    assert cells.printable("a\tb\nc\rd") == "a\tb\nc\rd"
    assert cells.csv_cell("\x01=1") == "'=1"  # the control character cannot hide a formula


# XML reads a carriage return back as a line feed, so "\r=1" cannot be found again by value.
@pytest.mark.parametrize("text", [t for t in FORMULA_LIKE if not t.startswith("\r")])
def test_xlsx_rows_are_string_cells_never_formulas(text):
    book = openpyxl.Workbook()
    cells.append_row(book.active, [text, -3, "名\x0b字"])
    out = io.BytesIO()
    book.save(out)
    assert_text_not_formula(out.getvalue(), text)
    row = next(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert row[1] == -3 and row[2] == "名字"


def test_csv_export_round_trips_through_the_importer():
    body = tabular.csv_bytes(["name", "n"], [[HOSTILE_NAME, -1], ["\t=1", 2]])
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1] == ["'" + HOSTILE_NAME, "-1"] and rows[2] == ["'\t=1", "2"]
    assert tabular.cell_text(rows[1][0]) == HOSTILE_NAME  # the importer drops the guard again


def test_every_spreadsheet_writer_goes_through_the_rule():
    """A module that writes XLSX or CSV uses core/cells.py (directly or through core.tabular)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = ("csv.writer(", "DictWriter(", "Workbook(")
    through_rule = ("write_data_sheet(", "csv_bytes(")
    imports_cells = re.compile(r"^from \S*cells import|^from \S+ import (.*, )?cells\b", re.M)
    unguarded = []
    for path in [*root.glob("expertpool/**/*.py"), *root.glob("courses/**/*.py")]:
        source = path.read_text("utf-8")
        guarded = imports_cells.search(source) or any(r in source for r in through_rule)
        if any(w in source for w in writers) and not guarded:
            unguarded.append(str(path.relative_to(root)))
    assert unguarded == []
