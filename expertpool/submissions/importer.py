"""Bulk import of submissions from XLSX, CSV or JSON: parse, validate, then commit all or nothing.

Works like the expert import (`experts.importer`): `parse` reads raw cells, `validate` turns
each row into the data `operations.create_submission` takes and collects every problem with its
row number (spreadsheets: the header is row 1; JSON: the record's position in the list, from 1),
and `commit` creates every submission inside one SAVEPOINT or none at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..db import savepoint
from ..experts import institutions
from ..experts.constants import category_by_name
from ..experts.importer import (
    ImportReport,
    RowError,
    _header_form,
    csv_bytes,
    parse_date,
    split_list,
    workbook_bytes,
)
from .constants import (
    GRADE_WORDS,
    GRADE_ZH,
    KIND_WORDS,
    KIND_ZH,
    REVIEW_TYPE_WORDS,
    REVIEW_TYPE_ZH,
    Grade,
    Kind,
    ReviewType,
)
from .models import Submission
from .operations import SubmissionError, create_submission, normalise

log = logging.getLogger(__name__)

DATA_SHEET = "申请"
HELP_SHEET = "说明"
MAX_ROWS = 5_000
FORMATS = (".xlsx", ".csv", ".json")
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "text"  # text | long_text | list | date | category | kind | review_type | grade
    required: bool = False
    help: str = ""
    example: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "reference",
        "受理编号",
        "Reference",
        help="受理编号或申请编号（可空，不可重复）",
        example="SAMR-2025-0001",
    ),
    Column(
        "kind",
        "类型",
        "Kind",
        "kind",
        required=True,
        help="标准物质定级评审 / 技术帮扶",
        example="标准物质定级评审",
    ),
    Column(
        "review_type",
        "评审类型",
        "Review type",
        "review_type",
        help="新研制 / 复制 / 新定值（定级评审必填）",
        example="新研制",
    ),
    Column(
        "grade",
        "级别",
        "Grade",
        "grade",
        help="一级 / 二级（定级评审必填，可由编号推出）",
        example="一级",
    ),
    Column(
        "title",
        "标题",
        "Title",
        required=True,
        help="申请或帮扶事项标题",
        example="土壤中重金属成分分析标准物质定级评审",
    ),
    Column(
        "rm_name", "标准物质名称", "RM name", help="定级评审必填", example="土壤成分分析标准物质"
    ),
    Column(
        "gbw_number",
        "GBW编号",
        "GBW number",
        help="复制、新定值必填：GBW 08301 或 GBW(E) 080123",
        example="",
    ),
    Column(
        "category",
        "类别",
        "Category",
        "category",
        help="GBW 类别代码或名称（01-13），定级评审必填",
        example="08",
    ),
    Column("matrix", "基体", "Matrix", help="如 土壤、大米粉、血清", example="土壤"),
    Column("analytes", "分析物", "Analytes", "list", help="多个用 ; 分隔", example="铅;镉;砷"),
    Column(
        "methods",
        "方法",
        "Methods",
        "list",
        help="定值方法，多个用 ; 分隔",
        example="ICP-MS;同位素稀释质谱",
    ),
    Column(
        "intended_use",
        "预期用途",
        "Intended use",
        "long_text",
        help="用途说明",
        example="土壤环境监测的质量控制",
    ),
    Column(
        "applicant_institution",
        "申请单位",
        "Applicant institution",
        required=True,
        help="单位全称或已登记的简称",
        example="中国地质科学院地球物理地球化学勘查研究所",
    ),
    Column(
        "applicant_province",
        "省份",
        "Province",
        help="申请单位所在省份（可空，取单位省份）",
        example="河北",
    ),
    Column(
        "applicant_people",
        "研制人员",
        "Applicant people",
        "list",
        help="申请方主要研制人员姓名，多个用 ; 分隔（用于利益冲突回避）",
        example="王强;刘芳",
    ),
    Column(
        "description",
        "说明",
        "Description",
        "long_text",
        help="申请概述",
        example="采集典型土壤，经干燥、研磨、混匀、分装制备。",
    ),
    Column(
        "window_start",
        "评审开始",
        "Review window start",
        "date",
        help="日期：2025-03-01、2025/3/1 或 2025年3月1日",
        example="2025-03-01",
    ),
    Column(
        "window_end",
        "评审结束",
        "Review window end",
        "date",
        help="不得早于评审开始",
        example="2025-04-30",
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

_MAX_LENGTH = {
    c.key: getattr(Submission.__table__.c[c.key].type, "length", None)
    for c in COLUMNS
    if c.key in Submission.__table__.c
}
_MAX_LENGTH["applicant_institution"] = 128
_ITEM_MAX = 64


_HEADER_ALIASES = {_header_form(name): c.key for c in COLUMNS for name in (c.zh, c.en, c.key)}
_HEADER_ALIASES.update(
    {
        _header_form(k): v
        for k, v in {
            "编号": "gbw_number",
            "gbw": "gbw_number",
            "申请人": "applicant_people",
            "人员": "applicant_people",
            "单位": "applicant_institution",
            "名称": "rm_name",
            "审评类别": "category",
            "申请类型": "kind",
            "测量方法": "methods",
            "定值方法": "methods",
        }.items()
    }
)


@dataclass
class ParsedFile:
    """The raw values of an import file, keyed by field, with file-level problems."""

    filename: str
    columns: dict[str, str] = field(default_factory=dict)  # field key -> header as written
    missing: set[str] = field(default_factory=set)  # required columns absent (told on row 1)
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def label(self, key: str) -> str:
        return self.columns.get(key) or COLUMN_BY_KEY[key].zh


class ImportRefused(SubmissionError):
    """`commit` was asked to write a report with errors, or a row failed while writing."""


class _FileError(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


# --- templates --------------------------------------------------------------------------------

_EXAMPLE_ROW = [c.example or None for c in COLUMNS]


def template_xlsx() -> bytes:
    """The data sheet with Chinese headers and one example row, plus a 说明 sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    for index, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=index, value=column.zh)
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = PatternFill("solid", fgColor="FDE9D9")
        ws.column_dimensions[get_column_letter(index)].width = (
            30 if column.kind == "long_text" else 16
        )
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.append(["列名", "英文列名", "必填", "说明", "示例"])
    for column in COLUMNS:
        help_ws.append(
            [column.zh, column.en, "是" if column.required else "", column.help, column.example]
        )
    help_ws.append([])
    help_ws.append(
        [
            "在“申请”工作表第 2 行起每行填写一项申请；列名可用中文或英文，未知的列会被忽略。"
            "任何一行有错误时整个文件都不会导入。"
        ]
    )
    for letter, width in zip("ABCDE", (14, 22, 6, 60, 30), strict=True):
        help_ws.column_dimensions[letter].width = width
    for row in help_ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return workbook_bytes(wb)


def template_csv() -> bytes:
    return csv_bytes([c.zh for c in COLUMNS], [])


def template_json() -> bytes:
    """A list with one example record keyed by field name (lists as JSON arrays)."""
    record: dict[str, Any] = {}
    for column in COLUMNS:
        value: Any = column.example or None
        if column.kind == "list":
            value = split_list(column.example)
        record[column.key] = value
    return json.dumps([record], ensure_ascii=False, indent=2).encode("utf-8")


# --- parsing ----------------------------------------------------------------------------------


def parse(filename: str, data: bytes, encoding: str = "utf-8") -> ParsedFile:
    """Read an .xlsx, .csv or .json import file into raw values keyed by field."""
    parsed = ParsedFile(filename=filename)
    try:
        ext = Path(filename).suffix.lower()
        if ext not in FORMATS:
            raise _FileError(
                RowError(
                    0,
                    None,
                    _(
                        "Unsupported file type “%(ext)s”: upload an .xlsx, .csv or .json file.",
                        ext=ext or filename,
                    ),
                )
            )
        if not data.strip(b"\xef\xbb\xbf \t\r\n"):
            raise _FileError(RowError(0, None, _("The file is empty.")))
        if ext == ".json":
            _collect_records(_read_json(data), parsed)
        else:
            table = _read_xlsx(data) if ext == ".xlsx" else _read_csv(data, encoding, parsed)
            _collect_table(table, parsed)
    except _FileError as exc:
        parsed.errors.append(exc.error)
    return parsed


def _read_xlsx(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _FileError(
            RowError(
                0,
                None,
                _(
                    "This is not an Excel .xlsx file. Open it in Excel "
                    "and save it as .xlsx, or export CSV."
                ),
            )
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = [ws for ws in wb.worksheets if ws.title != HELP_SHEET] or wb.worksheets
        rows = list(enumerate(sheets[0].iter_rows(values_only=True), start=1)) if sheets else []
        wb.close()
    except Exception as exc:  # any damage inside the archive is the uploader's to fix
        log.info("unreadable xlsx: %r", exc)
        raise _FileError(
            RowError(
                0,
                None,
                _(
                    "The .xlsx file could not be read; it may be "
                    "damaged. Open it in Excel and save it again."
                ),
            )
        ) from exc
    return iter(rows)


def _read_csv(
    data: bytes, encoding: str, parsed: ParsedFile
) -> Iterator[tuple[int, Sequence[Any]]]:
    codec = "gb18030" if encoding.strip().lower() in ("gb18030", "gbk", "gb2312") else "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8"  # a byte-order mark settles it whatever was chosen
    try:
        text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _FileError(
            RowError(
                line,
                None,
                _(
                    "The file is not %(encoding)s text (first bad byte on line %(line)d). CSV files saved "
                    "by Excel on Chinese Windows are usually GB18030: choose that encoding.",
                    encoding=codec.upper(),
                    line=line,
                ),
            )
        ) from exc
    try:
        return iter(list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1)))
    except csv.Error as exc:
        raise _FileError(
            RowError(0, None, _("The CSV file could not be read: %(error)s", error=str(exc)))
        ) from exc


def _read_json(data: bytes) -> list[Any]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise _FileError(RowError(0, None, _("A JSON file must be UTF-8 text."))) from exc
    except json.JSONDecodeError as exc:
        raise _FileError(
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
    if isinstance(document, dict) and isinstance(document.get("submissions"), list):
        document = document["submissions"]
    if not isinstance(document, list):
        raise _FileError(
            RowError(
                0,
                None,
                _(
                    "The JSON must be a list of submissions (or an "
                    "object with a “submissions” list)."
                ),
            )
        )
    return document


def _collect_table(table: Iterator[tuple[int, Sequence[Any]]], parsed: ParsedFile) -> None:
    header = next(table, None)
    if header is None or all(_blank(v) for v in header[1]):
        raise _FileError(
            RowError(
                0,
                None,
                _("The file is empty: the first row must hold the column names of the template."),
            )
        )
    indexes: dict[str, int] = {}
    for index, raw in enumerate(header[1]):
        name = _text(raw)
        if name:
            _map_header(name, index, indexes, parsed)
    _require_columns(parsed)
    for row_no, cells in table:
        values = {key: cells[i] if i < len(cells) else None for key, i in indexes.items()}
        _add_row(row_no, values, parsed)
    _require_rows(parsed)


def _map_header(name: str, index: int, indexes: dict[str, int], parsed: ParsedFile) -> None:
    key = _HEADER_ALIASES.get(_header_form(name))
    if key is None:
        parsed.warnings.append(RowError(1, name, _("Unknown column; it was ignored.")))
    elif key in indexes:
        parsed.errors.append(
            RowError(1, name, _("The column “%(first)s” appears twice.", first=parsed.columns[key]))
        )
    else:
        indexes[key] = index
        parsed.columns[key] = name


def _require_columns(parsed: ParsedFile) -> None:
    for column in COLUMNS:
        if column.required and column.key not in parsed.columns:
            parsed.missing.add(column.key)
            parsed.errors.append(
                RowError(
                    1,
                    column.zh,
                    _("Required column “%(zh)s” (%(en)s) is missing.", zh=column.zh, en=column.en),
                )
            )


def _collect_records(records: list[Any], parsed: ParsedFile) -> None:
    """JSON records: keys as field names or either header; the row is the position from 1."""
    unknown: set[str] = set()
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            parsed.errors.append(
                RowError(position, None, _("Each submission must be a JSON object."))
            )
            continue
        values: dict[str, Any] = {}
        for name, value in record.items():
            key = _HEADER_ALIASES.get(_header_form(str(name)))
            if key is None:
                unknown.add(str(name))
            else:
                values[key] = value
                parsed.columns.setdefault(key, key)
        _add_row(position, values, parsed)
    for name in sorted(unknown):
        parsed.warnings.append(
            RowError(0, None, _("Unknown field “%(name)s”; it was ignored.", name=name))
        )
    _require_rows(parsed)


def _add_row(row_no: int, values: dict[str, Any], parsed: ParsedFile) -> None:
    if all(_blank(v) for v in values.values()):
        return
    if len(parsed.rows) >= MAX_ROWS:
        raise _FileError(
            RowError(
                row_no,
                None,
                _("Too many rows: at most %(max)d submissions per file.", max=MAX_ROWS),
            )
        )
    parsed.rows.append((row_no, values))


def _require_rows(parsed: ParsedFile) -> None:
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(0, None, _("The file holds no submissions.")))


# --- cell values ------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not _text(value))


def _text(value: Any) -> str | None:
    """A cell as trimmed text (integral numbers without '.0', CSV formula guards removed)."""
    if value is None:
        return None
    if isinstance(value, list):
        text = ";".join(str(v) for v in value if v is not None)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime) and value.time() == dt.time():
        text = value.date().isoformat()
    else:
        text = str(value)
    text = text.replace("\u3000", " ").strip()
    if text.startswith("'") and text[1:2] in _FORMULA_START:
        text = text[1:]
    return text or None


class _RowReader:
    """Turns one row's raw values into create_submission data, noting each problem."""

    def __init__(self, parsed: ParsedFile, row: int, raw: dict[str, Any]) -> None:
        self.parsed, self.row, self.raw = parsed, row, raw
        self.errors: list[RowError] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.row, self.parsed.label(key), message))

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for column in COLUMNS:
            value = self.raw.get(column.key)
            if _blank(value):
                if column.required and column.key not in self.parsed.missing:
                    self.error(column.key, _("A value is required."))
                data[column.key] = [] if column.kind == "list" else None
                continue
            data[column.key] = getattr(self, "_read_" + column.kind)(column.key, value)
        # Cross-field checks, shared with the form; a field already refused is not named twice.
        refused = {error.column for error in self.errors}
        data, problems = normalise(data)
        for key, message in problems:
            if self.parsed.label(key) not in refused and key not in self.parsed.missing:
                self.error(key, message)
        return data

    def _read_text(self, key: str, value: Any) -> str | None:
        text = _text(value)
        limit = _MAX_LENGTH.get(key)
        if text and limit and len(text) > limit:
            self.error(key, _("Too long: at most %(max)d characters.", max=limit))
        return text

    def _read_long_text(self, key: str, value: Any) -> str | None:
        return _text(value)

    def _read_list(self, key: str, value: Any) -> list[str]:
        items = (
            [str(v).strip() for v in value if v is not None and str(v).strip()]
            if isinstance(value, list)
            else split_list(value)
        )
        for item in items:
            if len(item) > _ITEM_MAX:
                self.error(
                    key,
                    _(
                        "“%(item)s” is too long: at most %(max)d characters per item.",
                        item=item[:20] + "…",
                        max=_ITEM_MAX,
                    ),
                )
        return items

    def _read_date(self, key: str, value: Any) -> dt.date | None:
        try:
            return parse_date(value)
        except (ValueError, OverflowError):
            self.error(
                key,
                _(
                    "“%(value)s” is not a date: write 2025-03-01, 2025/3/1 or 2025年3月1日.",
                    value=_text(value),
                ),
            )
            return None

    def _read_category(self, key: str, value: Any) -> int | None:
        code = category_by_name(_text(value) or "")
        if code is None:
            self.error(
                key,
                _(
                    "Unknown category “%(value)s”: use the codes 01-13 or their names.",
                    value=_text(value),
                ),
            )
        return code

    def _read_choice(
        self,
        key: str,
        value: Any,
        words: dict[str, str],
        values: Iterable[str],
        choices: Iterable[str],
    ) -> str | None:
        text = _text(value) or ""
        found = words.get(text) or words.get(text.casefold())
        if found is None and text.casefold() in set(values):
            found = text.casefold()
        if found is None:
            self.error(
                key,
                _(
                    "Unknown value “%(value)s”: use %(choices)s.",
                    value=text,
                    choices=" / ".join(choices),
                ),
            )
        return str(found) if found else None

    def _read_kind(self, key: str, value: Any) -> str | None:
        return self._read_choice(key, value, KIND_WORDS, set(Kind), KIND_ZH.values())

    def _read_review_type(self, key: str, value: Any) -> str | None:
        return self._read_choice(
            key, value, REVIEW_TYPE_WORDS, set(ReviewType), REVIEW_TYPE_ZH.values()
        )

    def _read_grade(self, key: str, value: Any) -> str | None:
        return self._read_choice(key, value, GRADE_WORDS, set(Grade), GRADE_ZH.values())


# --- validation -------------------------------------------------------------------------------


def validate(session: Session, parsed: ParsedFile) -> ImportReport:
    """Check every row, then repeated references in the file and against the database."""
    report = ImportReport(
        filename=parsed.filename, errors=list(parsed.errors), warnings=list(parsed.warnings)
    )
    rows: list[tuple[int, dict[str, Any], list[RowError]]] = []
    for row_no, raw in parsed.rows:
        reader = _RowReader(parsed, row_no, raw)
        rows.append((row_no, reader.read(), reader.errors))
    _check_references(session, rows, parsed)
    _note_new_institutions(session, rows, parsed, report)
    for row_no, data, errors in rows:
        report.errors.extend(errors)
        if not errors:
            report.rows.append(data)
            report.row_numbers.append(row_no)
    report.errors = report.sorted_errors()
    return report


def _check_references(
    session: Session, rows: list[tuple[int, dict[str, Any], list[RowError]]], parsed: ParsedFile
) -> None:
    from .operations import reference_taken

    first_seen: dict[str, int] = {}
    for row_no, data, errors in rows:
        reference = (data.get("reference") or "").strip()
        if not reference:
            continue
        label = parsed.label("reference")
        if reference in first_seen:
            errors.append(
                RowError(
                    row_no,
                    label,
                    _(
                        "“%(value)s” appears in both row %(first)d and row %(row)d.",
                        value=reference,
                        first=first_seen[reference],
                        row=row_no,
                    ),
                )
            )
        else:
            first_seen[reference] = row_no
        if reference_taken(session, reference):
            errors.append(
                RowError(
                    row_no,
                    label,
                    _(
                        "A submission with reference %(value)s is already registered.",
                        value=reference,
                    ),
                )
            )


def _note_new_institutions(
    session: Session,
    rows: list[tuple[int, dict[str, Any], list[RowError]]],
    parsed: ParsedFile,
    report: ImportReport,
) -> None:
    """Warn about applicants neither known nor an alias: usually a typo or a new short name."""
    seen: set[str] = set()
    for row_no, data, _errors in rows:
        name = data.get("applicant_institution")
        if not name or institutions.normalise_name(name) in seen:
            continue
        seen.add(institutions.normalise_name(name))
        if institutions.resolve(session, name) is None:
            report.warnings.append(
                RowError(
                    row_no,
                    parsed.label("applicant_institution"),
                    _(
                        "“%(name)s” is not a known institution or alias; it will be created. Check the "
                        "spelling, or add it as an alias of an existing institution first.",
                        name=name,
                    ),
                )
            )


# --- committing -------------------------------------------------------------------------------


def commit(session: Session, actor: User | None, report: ImportReport) -> list[Submission]:
    """Create every submission of a clean report inside one SAVEPOINT: all of them or none.

    Flushes but does not commit; the caller (request or CLI command) commits once.
    """
    if not report.ok:
        raise ImportRefused(
            _("The file has %(n)d error(s); nothing was imported.", n=len(report.errors))
        )
    created: list[Submission] = []
    current_row = 0
    audit.set_actor(session, actor, note=f"import {report.filename}"[:200])
    try:
        with savepoint(session):
            for row_no, data in zip(report.row_numbers, report.rows, strict=True):
                current_row = row_no  # named in the refusal when this row fails
                created.append(create_submission(session, actor, data))
    except (SubmissionError, SQLAlchemyError) as exc:
        log.warning("import of %r failed at row %r: %r", report.filename, current_row, exc)
        raise ImportRefused(
            _(
                "Row %(row)d could not be saved (%(error)s); nothing was imported.",
                row=current_row,
                error=str(exc)[:200],
            )
        ) from exc
    finally:
        audit.set_note(session, None)
    return created
