"""What the bulk importers (experts, submissions) share: reading XLSX/CSV, cells, row errors.

An importer describes its columns with `Column`, reads the upload into a `ParsedTable` with the
readers and header/row helpers here, turns each row into plain data with a `RowReader` subclass,
and gathers the result in an `ImportReport`. Every problem is a `RowError` naming the
spreadsheet row (the header is row 1; 0 is the file as a whole), so the preview can list them.

No database and no request here; messages go through Flask-Babel like the importers' own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from . import sheetlimits
from .cells import FORMULA_START, csv_row, printable, xlsx_cell
from .province_ui import unknown_province_message
from .provinces import UnknownProvince, normalise_province
from .sheetlimits import SheetLimits
from .textlists import split_list as split_items

log = logging.getLogger(__name__)

Table = Iterator[tuple[int, Sequence[Any]]]  # (spreadsheet row number, cells)

BOM = b"\xef\xbb\xbf"
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)


@dataclass(frozen=True)
class Column:
    """One template column: its field, both header names and how its cells are read."""

    key: str
    zh: str
    en: str
    kind: str = "text"  # names the RowReader method `_read_<kind>` that reads its cells
    required: bool = False
    help: str = ""  # shown on the template's 说明 sheet (the template is Chinese)
    example: str = ""


def max_lengths(columns: Iterable[Column], table: Any, **extra: int) -> dict[str, int | None]:
    """Longest text each column may hold, read from the model's `table` so the two cannot
    drift apart; `extra` gives the columns that are not the table's own."""
    lengths = {
        c.key: getattr(table.c[c.key].type, "length", None) for c in columns if c.key in table.c
    }
    lengths.update(extra)
    return lengths


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A problem at a spreadsheet row (header = 1; 0 = the file as a whole) and column."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        if self.row == 0:
            return self.message
        if self.column:
            return _(
                "Row %(row)d, column “%(column)s”: %(message)s",
                row=self.row,
                column=self.column,
                message=self.message,
            )
        return _("Row %(row)d: %(message)s", row=self.row, message=self.message)


class FileError(Exception):
    """Stops reading a file: its one error is all the uploader can be told."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class ParsedTable:
    """The raw cells of an import file, keyed by field, with file-level problems."""

    filename: str
    columns: dict[str, str] = field(default_factory=dict)  # field key -> header as written
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    column_by_key: ClassVar[Mapping[str, Column]] = {}  # set by each importer's subclass

    def label(self, key: str) -> str:
        """The column's header as the file wrote it (the Chinese name when absent)."""
        return self.columns.get(key) or self.column_by_key[key].zh


@dataclass
class ReadRow:
    """One row's plain data and the problems found in it."""

    row: int
    data: dict[str, Any]
    errors: list[RowError]


@dataclass
class ImportReport:
    """Validated rows ready to be created, or the reasons they are not."""

    filename: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # spreadsheet row of each entry of rows
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @classmethod
    def start(cls, parsed: ParsedTable) -> ImportReport:
        """A report carrying the file-level problems found while parsing."""
        return cls(
            filename=parsed.filename, errors=list(parsed.errors), warnings=list(parsed.warnings)
        )

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted_errors(self) -> list[RowError]:
        return sorted(self.errors, key=lambda e: (e.row, e.column or ""))

    def take(self, rows: Iterable[ReadRow]) -> None:
        """Keep the rows without errors, collect the errors of the others, sorted by row."""
        for item in rows:
            self.errors.extend(item.errors)
            if not item.errors:
                self.rows.append(item.data)
                self.row_numbers.append(item.row)
        self.errors = self.sorted_errors()


# --- cell values ------------------------------------------------------------------------------


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text: integral numbers without '.0', CSV formula guards removed.

    Booleans read as 1/0 (the yes/no words understand those); a list (JSON) joins with ';'.
    Control characters XML cannot hold (U+0001, U+000B...) are dropped, so no import stores
    text that would break an export (`core.cells.printable`).
    """
    if value is None:
        return None
    if isinstance(value, list):
        text = ";".join(str(v) for v in value if v is not None)
    elif isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime) and value.time() == dt.time():
        text = value.date().isoformat()
    else:
        text = str(value)
    text = printable(text).replace("\u3000", " ").strip()
    if text.startswith("'") and text[1:2] and text[1] in FORMULA_START:
        text = text[1:].strip()
    return text or None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not cell_text(value))


def split_list(value: Any) -> list[str]:
    """A list cell's items by the one list rule (`core.textlists.split_list`).

    A JSON array is taken item by item; any other cell is read as text first (`cell_text`: a
    number without '.0', the CSV formula guard removed), then split.
    """
    if isinstance(value, list | tuple):
        return split_items(value)
    return split_items(cell_text(value))


def parse_date(value: Any) -> dt.date:
    """A real Excel date or 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A serial day number whose cell lost its date format; below 10000 (1927) it is more
        # likely a year or a typo than a date.
        if 10_000 <= value < 2_958_466:
            return from_excel(value).date()
        raise ValueError(value)
    match = _DATE.fullmatch(cell_text(value) or "")
    if not match:
        raise ValueError(value)
    year, month, day = (int(g) for g in match.groups())
    return dt.date(year, month, day)


class RowReader:
    """Turns one row's raw cells into plain data, noting each problem.

    Subclasses add `_read_<kind>` methods for their columns' kinds; `date_problem` is the lazy
    message (with %(value)s) for a cell that is not a date.
    """

    max_length: ClassVar[Mapping[str, int | None]] = {}
    item_max: ClassVar[int] = 64
    date_problem: ClassVar[Any] = ""

    def __init__(self, parsed: ParsedTable, row: int, raw: dict[str, Any]) -> None:
        self.parsed, self.row, self.raw = parsed, row, raw
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []

    @staticmethod
    def text(value: Any) -> str | None:
        return cell_text(value)

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.row, self.parsed.label(key), message))

    def read_cells(self, columns: Iterable[Column]) -> dict[str, Any]:
        """Each column's value, None when blank (a blank required cell is an error)."""
        data: dict[str, Any] = {}
        for column in columns:
            value = self.raw.get(column.key)
            if blank(value):
                if column.required and column.key in self.parsed.columns:
                    self.error(column.key, _("A value is required."))
                data[column.key] = None
            else:
                data[column.key] = self.read_cell(column, value)
        return data

    def read(self) -> dict[str, Any]:
        """The row's plain data (subclasses read their columns, `read_cells`, and check more)."""
        raise NotImplementedError

    def read_cell(self, column: Column, value: Any) -> Any:
        return getattr(self, "_read_" + column.kind)(column.key, value)

    def _read_text(self, key: str, value: Any) -> str | None:
        text = self.text(value)
        limit = self.max_length.get(key)
        if text and limit and len(text) > limit:
            self.error(key, _("Too long: at most %(max)d characters.", max=limit))
        return text

    def _read_long_text(self, key: str, value: Any) -> str | None:
        return self.text(value)

    def _read_province(self, key: str, value: Any) -> str | None:
        """The canonical name of one of the 34 provincial-level divisions ("北京" → 北京市)."""
        text = self.text(value) or ""
        try:
            return normalise_province(text)
        except UnknownProvince:
            self.error(key, unknown_province_message(text))
            return None

    def _read_date(self, key: str, value: Any) -> dt.date | None:
        try:
            return parse_date(value)
        except (ValueError, OverflowError):
            self.error(key, str(self.date_problem) % {"value": self.text(value)})
            return None

    def check_items(self, key: str, items: list[str]) -> list[str]:
        for item in items:
            if len(item) > self.item_max:
                self.error(
                    key,
                    _(
                        "“%(item)s” is too long: at most %(max)d characters per item.",
                        item=item[:20] + "…",
                        max=self.item_max,
                    ),
                )
        return items


def read_rows(
    parsed: ParsedTable,
    reader: type[RowReader],
    report: ImportReport,
    progress: Callable[[int], None] | None = None,
) -> list[ReadRow]:
    """Every row of `parsed` read by `reader` (its warnings go to `report`); `progress` is told
    each row number as it is done."""
    rows: list[ReadRow] = []
    for row_no, raw in parsed.rows:
        row_reader = reader(parsed, row_no, raw)
        rows.append(ReadRow(row_no, row_reader.read(), row_reader.errors))
        report.warnings.extend(row_reader.warnings)
        if progress:
            progress(row_no)
    return rows


def check_repeats(
    rows: Iterable[ReadRow], key: str, label: str, fold: Callable[[str], str] = str
) -> None:
    """Refuse a value (compared after `fold`) that an earlier row of the file already has."""
    first_seen: dict[str, int] = {}
    for item in rows:
        value = item.data.get(key)
        if not value:
            continue
        folded = fold(value)
        if folded in first_seen:
            item.errors.append(
                RowError(
                    item.row,
                    label,
                    _(
                        "“%(value)s” appears in both row %(first)d and row %(row)d.",
                        value=value,
                        first=first_seen[folded],
                        row=item.row,
                    ),
                )
            )
        else:
            first_seen[folded] = item.row


# --- reading files ----------------------------------------------------------------------------


def require_content(data: bytes) -> None:
    if not data.strip(BOM + b" \t\r\n"):
        raise FileError(RowError(0, None, _("The file is empty.")))


def read_xlsx(
    data: bytes, help_sheet: str, not_xlsx: Any, limits: SheetLimits | None = None
) -> Table:
    """The rows of the first sheet that is not `help_sheet`; `not_xlsx` (lazy) when no zip.

    The workbook is checked against the upload limits before openpyxl opens it
    (`core.sheetlimits`), and rows are read one at a time: a row is only as long as its cells,
    whatever dimension the sheet declares.
    """
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise FileError(RowError(0, None, str(not_xlsx)))
    with _limit_errors():
        sheetlimits.check_xlsx(data, limits or sheetlimits.current())
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any damage inside the archive is the uploader's problem to fix
        raise _unreadable(exc) from exc
    sheets = [ws for ws in wb.worksheets if ws.title != help_sheet] or wb.worksheets
    return _sheet_rows(wb, sheets[0] if sheets else None)


def _sheet_rows(wb: Any, ws: Any) -> Table:
    """The sheet's rows, numbered; the workbook is closed when they are read (or dropped)."""
    try:
        if ws is None:
            return
        ws.reset_dimensions()  # a declared "A1:XFD100000" would pad every row to 16,384 cells
        yield from enumerate(ws.iter_rows(values_only=True), start=1)
    except FileError:
        raise
    except Exception as exc:
        raise _unreadable(exc) from exc
    finally:
        wb.close()  # read-only workbooks keep the archive open until closed


def _unreadable(exc: Exception) -> FileError:
    log.info("unreadable xlsx: %r", exc)
    return FileError(
        RowError(
            0,
            None,
            _(
                "The .xlsx file could not be read; it may be "
                "damaged. Open it in Excel and save it again."
            ),
        )
    )


@contextmanager
def _limit_errors() -> Iterator[None]:
    """A limit passed (`sheetlimits.LimitExceeded`) as the importers' file error."""
    try:
        yield
    except sheetlimits.LimitExceeded as exc:
        raise FileError(RowError(exc.row, exc.column, exc.message)) from exc


def decode(data: bytes, codec: str, bad_byte: Callable[[str, int], str]) -> str:
    """`data` as text ("utf-8" skips a BOM); refused with `bad_byte(codec, line)` otherwise."""
    try:
        return data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileError(RowError(line, None, bad_byte(codec, line))) from exc


MAX_JSON_DEPTH = 32  # an import document needs 4 levels (list, record, list of values)
# A JSON string, escapes included (possessive: one pass, no backtracking), and what is not a
# bracket.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_SQUARE = str.maketrans("{}", "[]")
_JSON_CHUNK = 1 << 20


def json_depth_over(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests arrays and objects deeper than `limit` (checked before parsing).

    Python's json parser recurses once per level: "[" * 100000 raised RecursionError, a 500
    (issue 12 item 8). This builds nothing: strings and everything but brackets are removed
    (regular expressions), then the depth is the running sum of +1 per opening and -1 per
    closing bracket (numpy), well under a second for the largest upload.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).translate(_SQUARE)
    if not brackets:
        return False
    codes = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
    depth = 0
    for start in range(0, len(codes), _JSON_CHUNK):  # in chunks: bounded memory
        steps = np.where(codes[start : start + _JSON_CHUNK] == ord("["), 1, -1).astype(np.int32)
        running = np.cumsum(steps, dtype=np.int32) + depth
        if int(running.max()) > limit:
            return True
        depth = int(running[-1])
    return False


def read_json(data: bytes) -> Any:
    """The JSON document in `data` (UTF-8, a BOM allowed), nesting at most MAX_JSON_DEPTH deep."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(RowError(0, None, _("A JSON file must be UTF-8 text."))) from exc
    if json_depth_over(text):
        raise FileError(
            RowError(
                0,
                None,
                _(
                    "The JSON nests arrays or objects more than %(depth)d levels deep.",
                    depth=MAX_JSON_DEPTH,
                ),
            )
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileError(
            RowError(
                0,
                None,
                _(
                    "The JSON is not valid: %(error)s (line %(line)d, column %(col)d).",
                    error=exc.msg,
                    line=exc.lineno,
                    col=exc.colno,
                ),
            )
        ) from exc


def read_csv(text: str, limits: SheetLimits | None = None) -> Table:
    """The rows of a CSV text, read one at a time within the upload limits."""
    limits = limits or sheetlimits.current()
    with _limit_errors():
        try:
            reader = csv.reader(sheetlimits.csv_lines(text, limits))
            for row_no, cells in enumerate(reader, start=1):
                sheetlimits.check_csv_row(row_no, cells, limits)
                yield row_no, cells
        except csv.Error as exc:
            raise FileError(
                RowError(0, None, _("The CSV file could not be read: %(error)s", error=str(exc)))
            ) from exc


# --- headers and rows -------------------------------------------------------------------------


def header_form(text: str) -> str:
    """Fold a header so '电子邮箱*', 'E-mail', 'e_mail' and ' EMAIL ' compare equal."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip().rstrip("*").strip()
    return re.sub(r"[\s_\-]+", "", folded)


def header_aliases(columns: Iterable[Column], extra: Mapping[str, str]) -> dict[str, str]:
    """Folded header -> field key: each column's names and key, then the `extra` spellings."""
    aliases = {header_form(name): c.key for c in columns for name in (c.zh, c.en, c.key)}
    aliases.update({header_form(k): v for k, v in extra.items()})
    return aliases


def header_row(table: Table) -> Sequence[Any]:
    header = next(table, None)
    if header is None or all(blank(v) for v in header[1]):
        raise FileError(
            RowError(
                0,
                None,
                _("The file is empty: the first row must hold the column names of the template."),
            )
        )
    return header[1]


def map_headers(
    header: Sequence[Any],
    aliases: Mapping[str, str],
    parsed: ParsedTable,
    text: Callable[[Any], str | None] = cell_text,
) -> dict[str, int]:
    """Field key -> column index; unknown columns are warned about, duplicates refused."""
    indexes: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = text(raw)
        if not name:
            continue
        key = aliases.get(header_form(name))
        if key is None:
            parsed.warnings.append(RowError(1, name, _("Unknown column; it was ignored.")))
        elif key in indexes:
            parsed.errors.append(
                RowError(
                    1, name, _("The column “%(first)s” appears twice.", first=parsed.columns[key])
                )
            )
        else:
            indexes[key] = index
            parsed.columns[key] = name
    return indexes


def require_columns(columns: Iterable[Column], parsed: ParsedTable) -> list[str]:
    """The keys of the required columns the file lacks, each told as an error on row 1."""
    missing: list[str] = []
    for column in columns:
        if column.required and column.key not in parsed.columns:
            missing.append(column.key)
            parsed.errors.append(
                RowError(
                    1,
                    column.zh,
                    _("Required column “%(zh)s” (%(en)s) is missing.", zh=column.zh, en=column.en),
                )
            )
    return missing


def row_values(cells: Sequence[Any], indexes: Mapping[str, int]) -> dict[str, Any]:
    return {key: cells[i] if i < len(cells) else None for key, i in indexes.items()}


def add_row(
    parsed: ParsedTable, row_no: int, values: dict[str, Any], limit: int, too_many: Any
) -> None:
    """Keep a row unless it is blank; past `limit` rows stop with `too_many`.

    `too_many` is a lazy message with %(max)d, filled in with `limit`.
    """
    if all(blank(v) for v in values.values()):
        return
    if len(parsed.rows) >= limit:
        raise FileError(RowError(row_no, None, str(too_many) % {"max": limit}))
    parsed.rows.append((row_no, values))


# --- writing templates ------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FDE9D9")
_TEXT_KINDS = {"id_number", "phone"}


def write_data_sheet(
    ws: Any, columns: Sequence[Column], headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Headers (required ones shaded), then rows; ID and phone columns kept as text."""
    for index, (column, header) in enumerate(zip(columns, headers, strict=True), start=1):
        cell = ws.cell(row=1, column=index, value=header)
        cell.font = _HEADER_FONT
        if column.required:
            cell.fill = _REQUIRED_FILL
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = 30 if column.kind == "long_text" else 16
        if column.kind in _TEXT_KINDS:
            # Excel otherwise turns an 18-digit ID into 1.10105E+17 and loses its last digits.
            ws.column_dimensions[letter].number_format = "@"
    for row_index, row in enumerate(rows, start=2):
        for col_index, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            cell = xlsx_cell(ws, row_index, col_index, value)  # never a formula
            if column.kind == "date" and value is not None:
                cell.number_format = "yyyy-mm-dd"
            elif column.kind in _TEXT_KINDS:
                cell.number_format = "@"
    ws.freeze_panes = "A2"


def write_help_sheet(
    ws: Any,
    columns: Iterable[Column],
    notes: Iterable[str],
    widths: Sequence[int],
) -> None:
    """The 说明 sheet: one line per column (names, required, help, example), then `notes`."""
    ws.append(["列名", "英文列名", "必填", "说明", "示例"])
    for cell in ws[1]:
        cell.font = _HEADER_FONT
    for column in columns:
        ws.append(
            [column.zh, column.en, "是" if column.required else "", column.help, column.example]
        )
    ws.append([])
    for note in notes:
        ws.append([note])
    for letter, width in zip("ABCDE", widths, strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def add_choices(
    ws: Any, columns: Sequence[Column], choices: Mapping[str, Sequence[str]], rows: int
) -> None:
    """Drop-down lists (field key -> values) on the columns with a fixed vocabulary."""
    for index, column in enumerate(columns, start=1):
        if column.key in choices:
            rule = DataValidation(
                type="list", formula1='"' + ",".join(choices[column.key]) + '"', allow_blank=True
            )
            letter = get_column_letter(index)
            rule.add(f"{letter}2:{letter}{rows}")
            ws.add_data_validation(rule)


def template_workbook(
    sheets: tuple[str, str],
    columns: Sequence[Column],
    notes: Iterable[str],
    widths: Sequence[int],
    choices: Mapping[str, Sequence[str]] | None = None,
    rows: int = 0,
) -> bytes:
    """An import template: the empty data sheet with Chinese headers (drop-down `choices` on
    its first `rows` rows), then the help sheet; `sheets` names the two (data, help)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheets[0]
    write_data_sheet(ws, columns, [c.zh for c in columns], [])
    if choices:
        add_choices(ws, columns, choices, rows)
    write_help_sheet(wb.create_sheet(sheets[1]), columns, notes, widths)
    return workbook_bytes(wb)


def workbook_bytes(wb: Any) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_csv(columns: Iterable[Column]) -> bytes:
    """A CSV template: the Chinese header line only, UTF-8 with a BOM so Excel recognises it."""
    return csv_bytes([c.zh for c in columns], [])


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_row(headers))
    for row in rows:
        writer.writerow(csv_row(row))  # "=..." guarded; the importer drops the quote again
    return out.getvalue().encode("utf-8-sig")
