"""Limits on an uploaded spreadsheet, checked before anything is expanded (issue 12 item 5).

An XLSX file is a ZIP of XML: 64 KiB can declare a sheet `A1:XFD100000` (openpyxl then pads
every row to 16,384 cells: +1.5 GB) or hold one 200 MiB string (+400 MB once parsed). So before
openpyxl sees a workbook, `check_xlsx` reads the archive's directory and streams every XML part
through expat, counting as it goes, and stops at the first limit passed:

- the parts: at most `max_members`, unpacking to at most `max_unpacked_bytes` in all (the sizes
  the directory declares bound what `zipfile` will inflate: it stops at the declared size);
- any text run (a cell, a shared string): at most `max_cell_chars` characters (Excel's own
  limit is 32,767);
- in a worksheet: at most `max_rows` rows and no cell past column `max_columns`;
- no DOCTYPE (an Excel workbook never has one; entity tricks need one).

The reader then ignores the sheet's declared dimension (`reset_dimensions`), so a row is only
as long as its cells. A CSV file is read line by line (`csv_lines`): a line longer than
`max_line_chars` is refused before the csv module splits it into fields, then rows and columns
are counted like a sheet's (`check_csv_row`).

The limits come from the settings (`IMPORT_MAX_*`, config.py); each refusal is a
`LimitExceeded` with the spreadsheet row (0: the file as a whole) and column, turned into the
importers' row error by `core.tabular`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from flask import current_app, has_app_context
from flask_babel import gettext as _
from openpyxl.utils import column_index_from_string, get_column_letter

_MIB = 1024 * 1024
_CHUNK = 256 * 1024
_GROUPS = ("c", "si")  # a cell, a shared string: their text counts as one, however many runs


@dataclass(frozen=True)
class SheetLimits:
    max_rows: int = 50_000
    max_columns: int = 200
    max_cell_chars: int = 32_767
    max_unpacked_bytes: int = 100 * _MIB
    max_members: int = 1_000
    max_line_chars: int = 1_000_000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SheetLimits:
        default = cls()
        return cls(
            max_rows=int(config.get("IMPORT_MAX_ROWS", default.max_rows)),
            max_columns=int(config.get("IMPORT_MAX_COLUMNS", default.max_columns)),
            max_cell_chars=int(config.get("IMPORT_MAX_CELL_CHARS", default.max_cell_chars)),
            max_unpacked_bytes=int(
                config.get("IMPORT_MAX_UNPACKED_MB", default.max_unpacked_bytes // _MIB)
            )
            * _MIB,
            max_members=int(config.get("IMPORT_MAX_ZIP_MEMBERS", default.max_members)),
            max_line_chars=int(config.get("IMPORT_MAX_LINE_CHARS", default.max_line_chars)),
        )


def current() -> SheetLimits:
    """The app's limits (the defaults outside an app)."""
    return SheetLimits.from_config(current_app.config) if has_app_context() else SheetLimits()


class LimitExceeded(Exception):
    """The upload passes a limit: at spreadsheet `row` (0: the file) and `column` (a letter)."""

    def __init__(self, row: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.row, self.column, self.message = row, column, message


# --- XLSX -------------------------------------------------------------------------------------


def check_xlsx(data: bytes, limits: SheetLimits) -> None:
    """Refuse the workbook (`LimitExceeded`) if it passes a limit; read nothing it holds twice.

    A damaged archive or part is left for openpyxl to report (its message is the reader's).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                raise LimitExceeded(0, None, _too_many_parts(limits))
            if sum(m.file_size for m in members) > limits.max_unpacked_bytes:
                raise LimitExceeded(0, None, _too_big(limits))
            for member in members:
                if not member.is_dir():
                    with archive.open(member) as stream:
                        _scan_part(stream, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        return  # damaged: openpyxl says so in the importers' words


def _too_many_parts(limits: SheetLimits) -> str:
    return _(
        "The workbook holds more than %(max)d parts; it is not an ordinary Excel file.",
        max=limits.max_members,
    )


def _too_big(limits: SheetLimits) -> str:
    return _(
        "The workbook unpacks to more than %(max)d MB; split it into smaller files.",
        max=limits.max_unpacked_bytes // _MIB,
    )


class _PartScan:
    """expat handlers that count one XML part's rows, columns and text as it streams by."""

    def __init__(self, limits: SheetLimits) -> None:
        self.limits = limits
        self.is_sheet: bool | None = None  # decided by the root element
        self.row = 0  # the current row's number (1-based), 0 before the first
        self.rows = 0
        self.column = 0  # the current cell's column number
        # Characters of the current text: a whole cell or shared string (all its rich-text runs),
        # else one element's text.
        self.text = 0
        self.in_group = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if self.is_sheet is None:
            self.is_sheet = local == "worksheet"
        if local in _GROUPS:
            self.in_group, self.text = True, 0
        elif not self.in_group:
            self.text = 0
        if not self.is_sheet:
            return
        if local == "row":
            self._start_row(attrs.get("r"))
        elif local == "c":
            self._start_cell(attrs.get("r"))

    def _start_row(self, ref: str | None) -> None:
        self.rows += 1
        self.row = int(ref) if ref and ref.isdigit() else self.row + 1
        self.column = 0
        if self.rows > self.limits.max_rows or self.row > self.limits.max_rows:
            raise LimitExceeded(
                self.row, None, _("The sheet has more than %(max)d rows.", max=self.limits.max_rows)
            )

    def _start_cell(self, ref: str | None) -> None:
        letters = ref.rstrip("0123456789") if ref else ""
        try:
            self.column = column_index_from_string(letters) if letters else self.column + 1
        except ValueError:
            self.column += 1
        if self.column > self.limits.max_columns:
            raise LimitExceeded(
                self.row,
                None,
                _(
                    "A cell lies in column %(column)s, past the last column read (%(max)d "
                    "columns). Delete the columns after the table and save the file again.",
                    column=_letter(self.column),
                    max=self.limits.max_columns,
                ),
            )

    def end(self, name: str) -> None:
        if not self.in_group or name.rpartition(":")[2] in _GROUPS:
            self.in_group, self.text = False, 0

    def characters(self, text: str) -> None:
        self.text += len(text)
        if self.text > self.limits.max_cell_chars:
            message = _(
                "A cell holds more than %(max)d characters.", max=self.limits.max_cell_chars
            )
            if self.is_sheet:
                raise LimitExceeded(self.row, _letter(self.column), message)
            raise LimitExceeded(0, None, message)

    def doctype(self, *_args: Any) -> None:
        raise LimitExceeded(
            0, None, _("The workbook holds a document type declaration; Excel never writes one.")
        )


def _letter(column: int) -> str:
    return get_column_letter(min(max(column, 1), 18_278))


def _scan_part(stream: Any, limits: SheetLimits) -> None:
    """Stream one part through expat; a part that is not XML (an image) is skipped."""
    first = stream.read(_CHUNK)
    if not first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return
    scan = _PartScan(limits)
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one call per text run, however the chunks split it
    parser.buffer_size = _CHUNK
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.characters
    parser.StartDoctypeDeclHandler = scan.doctype
    try:
        chunk = first
        while chunk:
            parser.Parse(chunk, False)
            chunk = stream.read(_CHUNK)
        parser.Parse(b"", True)
    except expat.ExpatError:
        return  # not well-formed: openpyxl reports the damaged file


# --- CSV --------------------------------------------------------------------------------------


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def csv_lines(text: str, limits: SheetLimits) -> Iterator[str]:
    """The text's lines (endings kept) for `csv.reader`; one over `max_line_chars` is refused.

    A line is measured before it is copied out of the text (io.StringIO would first copy the
    whole text, at four bytes a character).
    """
    for number, match in enumerate(_LINE.finditer(text), start=1):
        if match.end() - match.start() > limits.max_line_chars:
            raise LimitExceeded(
                number,
                None,
                _(
                    "The line is longer than %(max)d characters.",
                    max=limits.max_line_chars,
                ),
            )
        yield match.group()


def check_csv_row(row_no: int, cells: Sequence[str], limits: SheetLimits) -> None:
    """Refuse a CSV row past the row or column limit or with an over-long field."""
    if row_no > limits.max_rows:
        raise LimitExceeded(
            row_no, None, _("The file has more than %(max)d rows.", max=limits.max_rows)
        )
    if len(cells) > limits.max_columns:
        raise LimitExceeded(
            row_no,
            None,
            _(
                "The row has more than %(max)d columns; at most %(max)d are read.",
                max=limits.max_columns,
            ),
        )
    for index, cell in enumerate(cells, start=1):
        if len(cell) > limits.max_cell_chars:
            raise LimitExceeded(
                row_no,
                _letter(index),
                _("A cell holds more than %(max)d characters.", max=limits.max_cell_chars),
            )
