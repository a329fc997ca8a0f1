"""Bulk import of experts from the XLSX/CSV template: parse, validate, then commit all or nothing.

`parse` reads the file into raw cells, `validate` turns each row into the plain data
`operations.create_expert` takes (collecting every problem with its spreadsheet row number, the
header being row 1), and `commit` creates all the experts inside one SAVEPOINT or none at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..db import savepoint
from . import institutions
from .constants import EDUCATIONS, TITLE_GRADES, Status, category_by_name
from .models import Expert
from .operations import ExpertError, create_expert

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with the spreadsheet row number just handled

DATA_SHEET = "专家"
HELP_SHEET = "说明"
MAX_ROWS = 20_000  # far above the pool's size; stops a runaway file early
SQL_CHUNK = 500  # stay under SQLite's bound-parameter limit

STATUS_ZH: dict[str, str] = {
    Status.APPLICANT: "申请",
    Status.VETTING: "审核中",
    Status.ACTIVE: "在库",
    Status.SUSPENDED: "暂停",
    Status.RETIRED: "退休",
    Status.REMOVED: "退库",
}
GENDERS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}
GENDER_ZH = {"M": "男", "F": "女"}
TRUE_WORDS = {"是", "yes", "y", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "no", "n", "false", "0", "×", "✗"}
SPECIALTY_COLUMNS = {"analytes": "analyte", "matrices": "matrix", "techniques": "technique"}

# ; ； ， 、 always separate; an ASCII comma too, except between digits ("1,2-二氯乙烷").
_SEPARATORS = re.compile(r"[;；，、]|(?<!\d),|,(?!\d)")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_PHONE = re.compile(r"[0-9+\-() ]{3,20}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Column:
    """One template column: its field, both header names and how its cells are read."""

    key: str
    zh: str
    en: str
    kind: str = "text"  # text | gender | date | int | bool | list | categories | status | ...
    required: bool = False
    help: str = ""  # shown on the template's 说明 sheet (the template is Chinese)
    example: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "Name", required=True, help="专家姓名", example="张伟"),
    Column("gender", "性别", "Gender", "gender", help="男 / 女（或 M / F）", example="男"),
    Column(
        "birth_date",
        "出生日期",
        "Birth date",
        "date",
        help="日期：2024-03-01、2024/3/1 或 2024年3月1日",
        example="1975-06-12",
    ),
    Column(
        "id_number",
        "身份证号",
        "ID number",
        "id_number",
        required=True,
        help="18 位居民身份证号（末位可为 X），请以文本格式填写",
        example="110105197506120013",
    ),
    Column("phone", "手机", "Phone", "phone", help="手机或座机号码", example="13800138000"),
    Column(
        "email",
        "电子邮箱",
        "E-mail",
        "email",
        required=True,
        help="电子邮箱，不可重复",
        example="zhangwei@example.cn",
    ),
    Column(
        "institution",
        "工作单位",
        "Institution",
        required=True,
        help="单位全称或已登记的简称（如“中国计量院”）",
        example="中国计量科学研究院",
    ),
    Column("department", "部门", "Department", help="所在部门", example="化学计量与分析科学研究所"),
    Column("province", "省份", "Province", help="省、自治区、直辖市", example="北京"),
    Column("city", "城市", "City", help="城市", example="北京"),
    Column("title", "职称", "Title", help="如 研究员、正高级工程师、教授", example="研究员"),
    Column(
        "title_grade",
        "职称级别",
        "Title grade",
        help="正高级 / 副高级 / 中级 / 初级",
        example="正高级",
    ),
    Column(
        "education",
        "学历",
        "Education",
        help="博士研究生 / 硕士研究生 / 大学本科 / 大专",
        example="博士研究生",
    ),
    Column(
        "years_experience",
        "从业年限",
        "Years of experience",
        "int",
        help="从事标准物质研制、测量或检测的年数（整数）",
        example="20",
    ),
    Column(
        "categories",
        "审评类别",
        "Categories",
        "categories",
        required=True,
        help="GBW 类别代码或名称，多个用 ; 分隔，如 08;10 或 环境化学；食品",
        example="08;10",
    ),
    Column("analytes", "分析物", "Analytes", "list", help="多个用 ; 分隔", example="铅;镉;汞"),
    Column("matrices", "基体", "Matrices", "list", help="多个用 ; 分隔", example="土壤;大米"),
    Column(
        "techniques",
        "技术",
        "Techniques",
        "list",
        help="多个用 ; 分隔",
        example="ICP-MS;同位素稀释质谱",
    ),
    Column(
        "metrology_competent",
        "计量统计能力",
        "Metrology competent",
        "bool",
        help="能否审评均匀性、稳定性、定值与不确定度：是 / 否",
        example="是",
    ),
    Column(
        "status",
        "状态",
        "Status",
        "status",
        help="申请 / 审核中 / 在库 / 暂停 / 退休 / 退库，留空为“申请”",
        example="在库",
    ),
    Column(
        "term_start",
        "聘期开始",
        "Term start",
        "date",
        help="日期，格式同出生日期",
        example="2024-01-01",
    ),
    Column(
        "term_end",
        "聘期结束",
        "Term end",
        "date",
        help="日期，不得早于聘期开始",
        example="2028-12-31",
    ),
    Column(
        "summary",
        "简介",
        "Summary",
        "long_text",
        help="专业简介",
        example="长期从事环境与食品中重金属标准物质的研制与定值。",
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

# Maximum lengths of text fields, from the model so the two cannot drift apart.
_MAX_LENGTH = {
    c.key: getattr(Expert.__table__.c[c.key].type, "length", None)
    for c in COLUMNS
    if c.key in Expert.__table__.c
}
_MAX_LENGTH["institution"] = 128
_SPECIALTY_MAX = 64


def _header_form(text: str) -> str:
    """Fold a header so '电子邮箱*', 'E-mail', 'e_mail' and ' EMAIL ' compare equal."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip().rstrip("*").strip()
    return re.sub(r"[\s_\-]+", "", folded)


def _header_aliases() -> dict[str, str]:
    aliases = {_header_form(name): c.key for c in COLUMNS for name in (c.zh, c.en, c.key)}
    extra = {
        "邮箱": "email",
        "手机号": "phone",
        "手机号码": "phone",
        "电话": "phone",
        "单位": "institution",
        "类别": "categories",
        "years": "years_experience",
        "experience": "years_experience",
        "metrology": "metrology_competent",
        "idcard": "id_number",
        "身份证": "id_number",
        "gbwcategories": "categories",
    }
    aliases.update({_header_form(k): v for k, v in extra.items()})
    return aliases


_HEADER_ALIASES = _header_aliases()


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


@dataclass
class ParsedFile:
    """The raw cells of an import file, keyed by field, with file-level problems."""

    filename: str
    headers: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field key -> header as written
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    def label(self, key: str) -> str:
        """The column's header as the file wrote it (the Chinese name when absent)."""
        return self.columns.get(key) or COLUMN_BY_KEY[key].zh


@dataclass
class ImportReport:
    """Validated rows ready for `create_expert`, or the reasons they are not."""

    filename: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # spreadsheet row of each entry of rows
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def sorted_errors(self) -> list[RowError]:
        return sorted(self.errors, key=lambda e: (e.row, e.column or ""))


class ImportRefused(ExpertError):
    """`commit` was asked to write a report with errors, or a row failed while writing."""


class _FileError(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


# --- templates --------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """An empty data sheet with Chinese headers, plus a 说明 sheet explaining each column."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    write_data_sheet(ws, [c.zh for c in COLUMNS], [])
    _add_choices(ws)
    _write_help_sheet(wb.create_sheet(HELP_SHEET))
    return workbook_bytes(wb)


def template_csv() -> bytes:
    """The header line only, UTF-8 with a BOM so Excel recognises the encoding."""
    return csv_bytes([c.zh for c in COLUMNS], [])


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # Excel would run "=..." as a formula; the importer drops this quote again.
    return "'" + text if text.startswith(_FORMULA_START) else text


_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FDE9D9")
_TEXT_KINDS = {"id_number", "phone"}


def write_data_sheet(ws: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Headers (required ones shaded), then rows; ID and phone columns kept as text."""
    for index, (column, header) in enumerate(zip(COLUMNS, headers, strict=True), start=1):
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
        for col_index, (column, value) in enumerate(zip(COLUMNS, row, strict=True), start=1):
            cell = ws.cell(row=row_index, column=col_index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
            if column.kind == "date" and value is not None:
                cell.number_format = "yyyy-mm-dd"
            elif column.kind in _TEXT_KINDS:
                cell.number_format = "@"
    ws.freeze_panes = "A2"


def _add_choices(ws: Any) -> None:
    """Drop-down lists for the columns with a fixed vocabulary."""
    choices = {
        "gender": ["男", "女"],
        "metrology_competent": ["是", "否"],
        "status": list(STATUS_ZH.values()),
        "title_grade": list(TITLE_GRADES),
        "education": list(EDUCATIONS),
    }
    for index, column in enumerate(COLUMNS, start=1):
        if column.key in choices:
            rule = DataValidation(
                type="list", formula1='"' + ",".join(choices[column.key]) + '"', allow_blank=True
            )
            letter = get_column_letter(index)
            rule.add(f"{letter}2:{letter}{MAX_ROWS}")
            ws.add_data_validation(rule)


def _write_help_sheet(ws: Any) -> None:
    ws.append(["列名", "英文列名", "必填", "说明", "示例"])
    for cell in ws[1]:
        cell.font = _HEADER_FONT
    for column in COLUMNS:
        ws.append(
            [column.zh, column.en, "是" if column.required else "", column.help, column.example]
        )
    ws.append([])
    ws.append(
        [
            "填写说明：在“专家”工作表第 2 行起每行填写一位专家；标色列为必填。"
            "列的顺序可以调整，列名可用中文或英文；未知的列会被忽略。"
        ]
    )
    ws.append(
        [
            "CSV 文件请保存为 UTF-8 编码；Excel 另存的“CSV（逗号分隔）”通常为 GB18030，"
            "导入时请选择 GB18030。"
        ]
    )
    for letter, width in zip("ABCDE", (14, 20, 6, 60, 28), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def workbook_bytes(wb: Any) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- parsing ----------------------------------------------------------------------------------


def parse(filename: str, data: bytes, encoding: str = "utf-8") -> ParsedFile:
    """Read an .xlsx or .csv import file into raw cells keyed by field."""
    parsed = ParsedFile(filename=filename)
    try:
        table = _read_table(filename, data, encoding, parsed)
        header = next(table, None)
        if header is None or all(_blank(v) for v in header[1]):
            raise _FileError(
                RowError(
                    0,
                    None,
                    _(
                        "The file is empty: the first row must hold "
                        "the column names of the template."
                    ),
                )
            )
        indexes = _map_headers(header[1], parsed)
        _collect_rows(table, indexes, parsed)
    except _FileError as exc:
        parsed.errors.append(exc.error)
    return parsed


def _read_table(
    filename: str, data: bytes, encoding: str, parsed: ParsedFile
) -> Iterator[tuple[int, Sequence[Any]]]:
    ext = Path(filename).suffix.lower()
    if ext not in (".xlsx", ".csv"):
        hint = _(" Save it from Excel as .xlsx.") if ext in (".xls", ".et", ".ods") else ""
        raise _FileError(
            RowError(
                0,
                None,
                _(
                    "Unsupported file type “%(ext)s”: upload an .xlsx or .csv file.",
                    ext=ext or filename,
                )
                + hint,
            )
        )
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise _FileError(RowError(0, None, _("The file is empty.")))
    if ext == ".xlsx":
        return _read_xlsx(data)
    return _read_csv(data, encoding, parsed)


def _read_xlsx(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _FileError(
            RowError(
                0,
                None,
                _(
                    "This is not an Excel .xlsx file (perhaps an old "
                    ".xls or a renamed file). Open it in Excel and save "
                    "it as .xlsx, or export CSV."
                ),
            )
        )
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = [ws for ws in wb.worksheets if ws.title != HELP_SHEET] or wb.worksheets
        # Read eagerly: read-only workbooks keep the archive open until closed.
        rows = list(enumerate(sheets[0].iter_rows(values_only=True), start=1)) if sheets else []
        wb.close()
    except Exception as exc:  # any damage inside the archive is the uploader's problem to fix
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
    text = _decode(data, encoding, parsed)
    try:
        rows = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as exc:
        raise _FileError(
            RowError(0, None, _("The CSV file could not be read: %(error)s", error=str(exc)))
        ) from exc
    return iter(rows)


def _decode(data: bytes, encoding: str, parsed: ParsedFile) -> str:
    chosen = _codec(encoding)
    if data.startswith(b"\xef\xbb\xbf"):
        chosen_is_utf8 = chosen == "utf-8"
        chosen = "utf-8"  # a BOM settles it whatever was chosen
        if not chosen_is_utf8:
            parsed.warnings.append(
                RowError(
                    0,
                    None,
                    _(
                        "The file is UTF-8 (it starts with a "
                        "byte-order mark); it was read as UTF-8."
                    ),
                )
            )
    elif chosen == "gb18030" and _is_utf8_text(data):
        parsed.warnings.append(
            RowError(0, None, _("The file is UTF-8, not GB18030; it was read as UTF-8."))
        )
        chosen = "utf-8"
    try:
        return data.decode("utf-8-sig" if chosen == "utf-8" else chosen)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if chosen == "utf-8":
            message = _(
                "The file is not UTF-8 text (first bad byte on line %(line)d). CSV files "
                "saved by Excel on Chinese Windows are usually GB18030: choose the "
                "GB18030 encoding and import again.",
                line=line,
            )
        else:
            message = _(
                "The file is not %(encoding)s text (first bad byte on line %(line)d). "
                "Choose UTF-8, or save the file again from Excel.",
                encoding=chosen.upper(),
                line=line,
            )
        raise _FileError(RowError(line, None, message)) from exc


def _codec(encoding: str) -> str:
    key = encoding.strip().lower().replace("_", "-")
    if key in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if key in ("gb18030", "gbk", "gb2312", "cp936"):
        return "gb18030"  # a superset of GBK and GB2312
    raise _FileError(
        RowError(
            0,
            None,
            _("Unknown encoding “%(encoding)s”: choose UTF-8 or GB18030.", encoding=encoding),
        )
    )


def _is_utf8_text(data: bytes) -> bool:
    """Valid UTF-8 with non-ASCII bytes: GB18030 Chinese text practically never is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not data.isascii()


def _map_headers(header: Sequence[Any], parsed: ParsedFile) -> dict[str, int]:
    """Field key -> column index; unknown columns are warned about, duplicates refused."""
    indexes: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = _text(raw)
        if not name:
            continue
        parsed.headers.append(name)
        key = _HEADER_ALIASES.get(_header_form(name))
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
    for column in COLUMNS:
        if column.required and column.key not in indexes:
            parsed.errors.append(
                RowError(
                    1,
                    column.zh,
                    _("Required column “%(zh)s” (%(en)s) is missing.", zh=column.zh, en=column.en),
                )
            )
    return indexes


def _collect_rows(
    table: Iterator[tuple[int, Sequence[Any]]], indexes: dict[str, int], parsed: ParsedFile
) -> None:
    for row_no, cells in table:
        values = {key: cells[i] if i < len(cells) else None for key, i in indexes.items()}
        if all(_blank(v) for v in values.values()):
            continue
        if len(parsed.rows) >= MAX_ROWS:
            raise _FileError(
                RowError(
                    row_no,
                    None,
                    _("Too many rows: at most %(max)d experts per file.", max=MAX_ROWS),
                )
            )
        parsed.rows.append((row_no, values))
    if not parsed.rows:
        parsed.errors.append(
            RowError(0, None, _("The file holds no experts: fill in rows below the header row."))
        )


# --- cell values ------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str | None:
    """A cell as trimmed text: integral numbers without '.0', CSV formula guards removed."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "1" if value else "0"
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


def split_list(value: Any) -> list[str]:
    """'08;10', '环境化学；食品', 'a、b，c' -> items, trimmed, empty ones and repeats dropped."""
    text = _text(value)
    if not text:
        return []
    items = (item.strip() for item in _SEPARATORS.split(text))
    return list(dict.fromkeys(item for item in items if item))


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
    match = _DATE.fullmatch(_text(value) or "")
    if not match:
        raise ValueError(value)
    year, month, day = (int(g) for g in match.groups())
    return dt.date(year, month, day)


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number (GB 11643)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def id_number_problem(number: str) -> str | None:
    """Why `number` is not a valid 18-character resident ID number, or None when it is."""
    if len(number) != 18:
        return _("must have 18 characters (it has %(n)d)", n=len(number))
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return _("must be 17 digits followed by a digit or X")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _("holds an impossible birth date (%(date)s)", date=number[6:14])
    if id_check_digit(number[:17]) != number[17]:
        return _(
            "the check digit is wrong (expected %(digit)s): check for a typing error",
            digit=id_check_digit(number[:17]),
        )
    return None


def _status_lookup() -> dict[str, str]:
    table = {s.value: s.value for s in Status}
    table.update({zh: code for code, zh in STATUS_ZH.items()})
    table.update(
        {
            "under vetting": Status.VETTING,
            "在库专家": Status.ACTIVE,
            "审核": Status.VETTING,
            "申请中": Status.APPLICANT,
        }
    )
    return table


_STATUSES = _status_lookup()


# --- validation -------------------------------------------------------------------------------


@dataclass
class _Row:
    row: int
    data: dict[str, Any]
    errors: list[RowError]


class _RowReader:
    """Turns one row's raw cells into create_expert data, noting each problem."""

    def __init__(self, parsed: ParsedFile, row: int, raw: dict[str, Any]) -> None:
        self.parsed, self.row, self.raw = parsed, row, raw
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(RowError(self.row, self.parsed.label(key), message))

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for column in COLUMNS:
            value = self.raw.get(column.key)
            if _blank(value):
                if column.required and column.key in self.parsed.columns:
                    self.error(column.key, _("A value is required."))
                data[column.key] = None
                continue
            data[column.key] = getattr(self, "_read_" + column.kind)(column.key, value)
        return self._finish(data)

    def _finish(self, data: dict[str, Any]) -> dict[str, Any]:
        data["specialties"] = {kind: data.pop(key) or [] for key, kind in SPECIALTY_COLUMNS.items()}
        data["categories"] = data["categories"] or []
        data["metrology_competent"] = bool(data["metrology_competent"])
        data["status"] = data["status"] or Status.APPLICANT.value
        start, end = data["term_start"], data["term_end"]
        if start and end and end < start:
            self.error(
                "term_end",
                _(
                    "The term ends (%(end)s) before it starts (%(start)s).",
                    end=end.isoformat(),
                    start=start.isoformat(),
                ),
            )
        self._compare_birth_date(data)
        return data

    def _compare_birth_date(self, data: dict[str, Any]) -> None:
        number, birth = data["id_number"], data["birth_date"]
        if number and birth and number[6:14] != birth.strftime("%Y%m%d"):
            self.warnings.append(
                RowError(
                    self.row,
                    self.parsed.label("birth_date"),
                    _(
                        "The birth date differs from the one in the ID number (%(date)s).",
                        date=number[6:14],
                    ),
                )
            )

    def _read_text(self, key: str, value: Any) -> str | None:
        text = _text(value)
        limit = _MAX_LENGTH.get(key)
        if text and limit and len(text) > limit:
            self.error(key, _("Too long: at most %(max)d characters.", max=limit))
        return text

    def _read_long_text(self, key: str, value: Any) -> str | None:
        return _text(value)

    def _read_gender(self, key: str, value: Any) -> str | None:
        text = _text(value) or ""
        gender = GENDERS.get(text.casefold())
        if gender is None:
            self.error(key, _("Unknown gender “%(value)s”: write 男 or 女 (M or F).", value=text))
        return gender

    def _read_date(self, key: str, value: Any) -> dt.date | None:
        try:
            return parse_date(value)
        except (ValueError, OverflowError):
            self.error(
                key,
                _(
                    "“%(value)s” is not a date: write 2024-03-01, 2024/3/1 or 2024年3月1日.",
                    value=_text(value),
                ),
            )
            return None

    def _read_int(self, key: str, value: Any) -> int | None:
        text = _text(value) or ""
        if not text.isdecimal() or int(text) > 80:
            self.error(key, _("“%(value)s” is not a whole number of years (0-80).", value=text))
            return None
        return int(text)

    def _read_bool(self, key: str, value: Any) -> bool:
        text = _text(value) or ""
        if text.casefold() in TRUE_WORDS:
            return True
        if text.casefold() not in FALSE_WORDS:
            self.error(key, _("Write 是 or 否 (yes or no), not “%(value)s”.", value=text))
        return False

    def _read_list(self, key: str, value: Any) -> list[str]:
        items = split_list(value)
        for item in items:
            if len(item) > _SPECIALTY_MAX:
                self.error(
                    key,
                    _(
                        "“%(item)s” is too long: at most %(max)d characters per item.",
                        item=item[:20] + "…",
                        max=_SPECIALTY_MAX,
                    ),
                )
        return items

    def _read_categories(self, key: str, value: Any) -> list[int]:
        codes: list[int] = []
        for item in split_list(value):
            code = category_by_name(item)
            if code is None:
                self.error(
                    key,
                    _(
                        "Unknown category “%(value)s”: use the codes 01-13 or their names.",
                        value=item,
                    ),
                )
            elif code not in codes:
                codes.append(code)
        return sorted(codes)

    def _read_status(self, key: str, value: Any) -> str | None:
        text = _text(value) or ""
        status = _STATUSES.get(text.casefold()) or _STATUSES.get(text)
        if status is None:
            self.error(
                key,
                _(
                    "Unknown status “%(value)s”: use %(choices)s.",
                    value=text,
                    choices=" / ".join(STATUS_ZH.values()),
                ),
            )
        return status

    def _read_id_number(self, key: str, value: Any) -> str | None:
        if isinstance(value, float):
            self.error(
                key,
                _(
                    "The ID number was stored as a number and lost digits: format the "
                    "column as text and type it again."
                ),
            )
            return None
        number = re.sub(r"\s", "", _text(value) or "").upper()
        problem = id_number_problem(number)
        if problem:
            self.error(key, _("Invalid ID number: %(problem)s.", problem=problem))
            return None
        return number

    def _read_email(self, key: str, value: Any) -> str | None:
        text = _text(value) or ""
        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            self.error(
                key,
                _(
                    "“%(value)s” is not a valid e-mail address (%(reason)s).",
                    value=text,
                    reason=str(exc).rstrip("."),
                ),
            )
            return None

    def _read_phone(self, key: str, value: Any) -> str | None:
        text = _text(value) or ""
        if not _PHONE.fullmatch(text):
            self.error(key, _("“%(value)s” is not a phone number.", value=text))
            return None
        return text


def normalise_row(
    parsed: ParsedFile, row: int, raw: dict[str, Any]
) -> tuple[dict[str, Any], list[RowError], list[RowError]]:
    """One row's create_expert data, its errors and its warnings (no database needed)."""
    reader = _RowReader(parsed, row, raw)
    data = reader.read()
    return data, reader.errors, reader.warnings


def validate(
    session: Session, parsed: ParsedFile, progress: Progress | None = None
) -> ImportReport:
    """Check every row, then duplicates in the file and against the database."""
    report = ImportReport(
        filename=parsed.filename, errors=list(parsed.errors), warnings=list(parsed.warnings)
    )
    rows: list[_Row] = []
    for row_no, raw in parsed.rows:
        data, errors, warnings = normalise_row(parsed, row_no, raw)
        rows.append(_Row(row_no, data, errors))
        report.warnings.extend(warnings)
        if progress:
            progress(row_no)
    for key in ("id_number", "email"):
        _check_repeats(rows, key, parsed)
    _check_database(session, rows, parsed)
    _note_new_institutions(session, rows, parsed, report)
    for item in rows:
        report.errors.extend(item.errors)
        if not item.errors:
            report.rows.append(item.data)
            report.row_numbers.append(item.row)
    report.errors = report.sorted_errors()
    return report


def _unique_key(key: str, value: str) -> str:
    # E-mail addresses compare without case (as the database check does); ID numbers exactly.
    return value.lower() if key == "email" else value


def _check_repeats(rows: list[_Row], key: str, parsed: ParsedFile) -> None:
    first_seen: dict[str, int] = {}
    label = parsed.label(key)
    for item in rows:
        value = item.data.get(key)
        if not value:
            continue
        folded = _unique_key(key, value)
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


def _check_database(session: Session, rows: list[_Row], parsed: ParsedFile) -> None:
    ids = sorted({r.data["id_number"] for r in rows if r.data.get("id_number")})
    emails = sorted({r.data["email"].lower() for r in rows if r.data.get("email")})
    known_ids = _existing(session, Expert.id_number, ids)
    known_emails = _existing(session, func.lower(Expert.email), emails)
    for item in rows:
        number, email = item.data.get("id_number"), item.data.get("email")
        if number and number in known_ids:
            item.errors.append(
                RowError(
                    item.row,
                    parsed.label("id_number"),
                    _("An expert with ID number %(value)s is already in the pool.", value=number),
                )
            )
        if email and email.lower() in known_emails:
            item.errors.append(
                RowError(
                    item.row,
                    parsed.label("email"),
                    _("An expert with e-mail %(value)s is already in the pool.", value=email),
                )
            )


def _existing(session: Session, column: Any, values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), SQL_CHUNK):
        chunk = values[start : start + SQL_CHUNK]
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _note_new_institutions(
    session: Session, rows: list[_Row], parsed: ParsedFile, report: ImportReport
) -> None:
    """Warn about institutions neither known nor an alias: usually a typo or a new short name."""
    seen: set[str] = set()
    for item in rows:
        name = item.data.get("institution")
        if not name or institutions.normalise_name(name) in seen:
            continue
        seen.add(institutions.normalise_name(name))
        if institutions.resolve(session, name) is None:
            report.warnings.append(
                RowError(
                    item.row,
                    parsed.label("institution"),
                    _(
                        "“%(name)s” is not a known institution or alias; it will be created. Check the "
                        "spelling, or add it as an alias of an existing institution first.",
                        name=name,
                    ),
                )
            )


# --- committing -------------------------------------------------------------------------------


def commit(
    session: Session, actor: User | None, report: ImportReport, progress: Progress | None = None
) -> list[Expert]:
    """Create every expert of a clean report inside one SAVEPOINT: all of them or none.

    Flushes but does not commit; the caller (request or CLI command) commits once.
    """
    if not report.ok:
        raise ImportRefused(
            _("The file has %(n)d error(s); nothing was imported.", n=len(report.errors))
        )
    created: list[Expert] = []
    row_no = 0
    # The audit log names whoever imports, with the file as the note of every change.
    audit.set_actor(session, actor, note=f"import {report.filename}"[:200])
    try:
        with savepoint(session):
            for row_no, data in zip(report.row_numbers, report.rows, strict=True):
                created.append(create_expert(session, actor, data, status=data["status"]))
                if progress:
                    progress(row_no)
    except (ExpertError, SQLAlchemyError) as exc:
        log.warning("import of %r failed at row %r: %r", report.filename, row_no, exc)
        raise ImportRefused(
            _(
                "Row %(row)d could not be saved (%(error)s); nothing was imported.",
                row=row_no,
                error=_short(exc),
            )
        ) from exc
    finally:
        audit.set_note(session, None)
    return created


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
