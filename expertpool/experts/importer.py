"""Bulk import of experts from the XLSX/CSV template: parse, validate, then commit all or nothing.

`parse` reads the file into raw cells, `validate` turns each row into the plain data
`operations.create_expert` takes (collecting every problem with its spreadsheet row number, the
header being row 1), and `commit` creates all the experts inside one SAVEPOINT or none at all.
Reading files, cells and row errors are shared with the submission import (`core.tabular`); the
publication import (`publication_importer`) reads its files with `read_file` and a `Layout` of
its own, names experts with `IdentityCells` and commits through `commit_each`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import pii, tabular
from ..core.idnumbers import InvalidIdNumber, normalise_id_number
from ..core.importing import Progress, commit_rows
from ..core.names import name_key
from ..core.provinces import province_choices
from ..core.tabular import (
    Column,
    FileError,
    ImportReport,
    ParsedTable,
    ReadRow,
    RowError,
    Table,
    csv_bytes,
    parse_date,
    split_list,
    workbook_bytes,
)
from . import institutions
from .constants import EDUCATIONS, TITLE_GRADES, Status, category_by_name
from .models import Expert
from .operations import ExpertError, create_expert, invalid_id_number_message

# Re-exported: the exporter, the submission import and the tests use them from here.
__all__ = [
    "COLUMNS",
    "Column",
    "ImportReport",
    "RowError",
    "csv_bytes",
    "parse_date",
    "split_list",
    "workbook_bytes",
]


DATA_SHEET = "专家"
HELP_SHEET = "说明"
MAX_ROWS = 20_000  # far above the pool's size; stops a runaway file early
SQL_CHUNK = 500  # stay under SQLite's bound-parameter limit
FORMATS = (".xlsx", ".csv")

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

_PHONE = re.compile(r"[0-9+\-() ]{3,20}")

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
    Column(
        "province",
        "省份",
        "Province",
        "province",
        help="省级行政区全称或简称，如 北京市 / 北京、广西壮族自治区 / 广西（存为全称）",
        example="北京市",
    ),
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

_MAX_LENGTH = tabular.max_lengths(COLUMNS, Expert.__table__, institution=128)
_SPECIALTY_MAX = 64

_HEADER_ALIASES = tabular.header_aliases(
    COLUMNS,
    {
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
    },
)
CSV_NOTE = (
    "CSV 文件请保存为 UTF-8 编码；Excel 另存的“CSV（逗号分隔）”通常为 GB18030，"
    "导入时请选择 GB18030。"
)
_NOT_XLSX = _l(
    "This is not an Excel .xlsx file (perhaps an old "
    ".xls or a renamed file). Open it in Excel and save "
    "it as .xlsx, or export CSV."
)
_TOO_MANY = _l("Too many rows: at most %(max)d experts per file.")
_NO_ROWS = _l("The file holds no experts: fill in rows below the header row.")


# --- results ----------------------------------------------------------------------------------


@dataclass
class ParsedFile(ParsedTable):
    """The raw cells of an import file, keyed by field, with file-level problems."""

    column_by_key: ClassVar[dict[str, Column]] = COLUMN_BY_KEY


class ImportRefused(ExpertError):
    """`commit` was asked to write a report with errors, or a row failed while writing."""


# --- templates --------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """An empty data sheet with Chinese headers, plus a 说明 sheet explaining each column."""
    return tabular.template_workbook(
        (DATA_SHEET, HELP_SHEET),
        COLUMNS,
        [
            "填写说明：在“专家”工作表第 2 行起每行填写一位专家；标色列为必填。"
            "列的顺序可以调整，列名可用中文或英文；未知的列会被忽略。",
            CSV_NOTE,
        ],
        (14, 20, 6, 60, 28),
        {
            "gender": ["男", "女"],
            "metrology_competent": ["是", "否"],
            "status": list(STATUS_ZH.values()),
            "title_grade": list(TITLE_GRADES),
            "education": list(EDUCATIONS),
            "province": [name for name, _label in province_choices()],
        },
        MAX_ROWS,
    )


def template_csv() -> bytes:
    return tabular.template_csv(COLUMNS)


def write_data_sheet(ws: Any, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Headers (required ones shaded), then rows; ID and phone columns kept as text."""
    tabular.write_data_sheet(ws, COLUMNS, headers, rows)


# --- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What an XLSX/CSV import file of this feature holds (experts, publications): its columns,
    their header spellings and how many rows it may have."""

    columns: tuple[Column, ...]
    aliases: Mapping[str, str]  # folded header -> field key (`tabular.header_aliases`)
    max_rows: int
    too_many: Any  # lazy message with %(max)d
    no_rows: Any  # lazy message: the file has a header but no rows


EXPERT_FILE = Layout(COLUMNS, _HEADER_ALIASES, MAX_ROWS, _TOO_MANY, _NO_ROWS)
P = TypeVar("P", bound=ParsedTable)
T = TypeVar("T")


def parse(filename: str, data: bytes, encoding: str = "utf-8") -> ParsedFile:
    """Read an .xlsx or .csv import file into raw cells keyed by field."""
    return read_file(ParsedFile(filename=filename), data, encoding, EXPERT_FILE)


def read_file(parsed: P, data: bytes, encoding: str, layout: Layout) -> P:
    """Fill `parsed` (named after the upload) with the raw cells of the rows, keyed by field."""
    try:
        table = _read_table(parsed.filename, data, encoding, parsed)
        header = tabular.header_row(table)
        indexes = tabular.map_headers(header, layout.aliases, parsed)
        tabular.require_columns(layout.columns, parsed)
        _collect_rows(table, indexes, parsed, layout)
    except FileError as exc:
        parsed.errors.append(exc.error)
    return parsed


def _read_table(filename: str, data: bytes, encoding: str, parsed: ParsedTable) -> Table:
    ext = Path(filename).suffix.lower()
    if ext not in FORMATS:
        hint = _(" Save it from Excel as .xlsx.") if ext in (".xls", ".et", ".ods") else ""
        raise FileError(
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
    tabular.require_content(data)
    if ext == ".xlsx":
        return tabular.read_xlsx(data, HELP_SHEET, _NOT_XLSX)
    return tabular.read_csv(_decode(data, encoding, parsed))


def _decode(data: bytes, encoding: str, parsed: ParsedTable) -> str:
    chosen = _codec(encoding)
    if data.startswith(tabular.BOM):
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
    return tabular.decode(data, chosen, _bad_byte)


def _bad_byte(codec: str, line: int) -> str:
    if codec == "utf-8":
        return _(
            "The file is not UTF-8 text (first bad byte on line %(line)d). CSV files "
            "saved by Excel on Chinese Windows are usually GB18030: choose the "
            "GB18030 encoding and import again.",
            line=line,
        )
    return _(
        "The file is not %(encoding)s text (first bad byte on line %(line)d). "
        "Choose UTF-8, or save the file again from Excel.",
        encoding=codec.upper(),
        line=line,
    )


def _codec(encoding: str) -> str:
    key = encoding.strip().lower().replace("_", "-")
    if key in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if key in ("gb18030", "gbk", "gb2312", "cp936"):
        return "gb18030"  # a superset of GBK and GB2312
    raise FileError(
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


def _collect_rows(
    table: Table, indexes: dict[str, int], parsed: ParsedTable, layout: Layout
) -> None:
    for row_no, cells in table:
        values = tabular.row_values(cells, indexes)
        tabular.add_row(parsed, row_no, values, layout.max_rows, layout.too_many)
    if not parsed.rows:
        parsed.errors.append(RowError(0, None, str(layout.no_rows)))


# --- cell values ------------------------------------------------------------------------------


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


class IdentityCells(tabular.RowReader):
    """Cells that name a person: an ID number and an e-mail address (experts, publications)."""

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
        try:  # the operation's rule and message, with the row named
            return normalise_id_number(self.text(value))
        except InvalidIdNumber as exc:
            self.error(key, invalid_id_number_message(exc))
            return None

    def _read_email(self, key: str, value: Any) -> str | None:
        text = self.text(value) or ""
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


class _RowReader(IdentityCells):
    """Turns one row's raw cells into create_expert data, noting each problem."""

    max_length = _MAX_LENGTH
    item_max = _SPECIALTY_MAX
    date_problem = _l("“%(value)s” is not a date: write 2024-03-01, 2024/3/1 or 2024年3月1日.")

    def read(self) -> dict[str, Any]:
        return self._finish(self.read_cells(COLUMNS))

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

    def _read_gender(self, key: str, value: Any) -> str | None:
        text = self.text(value) or ""
        gender = GENDERS.get(text.casefold())
        if gender is None:
            self.error(key, _("Unknown gender “%(value)s”: write 男 or 女 (M or F).", value=text))
        return gender

    def _read_int(self, key: str, value: Any) -> int | None:
        text = self.text(value) or ""
        if not text.isdecimal() or int(text) > 80:
            self.error(key, _("“%(value)s” is not a whole number of years (0-80).", value=text))
            return None
        return int(text)

    def _read_bool(self, key: str, value: Any) -> bool:
        text = self.text(value) or ""
        if text.casefold() in TRUE_WORDS:
            return True
        if text.casefold() not in FALSE_WORDS:
            self.error(key, _("Write 是 or 否 (yes or no), not “%(value)s”.", value=text))
        return False

    def _read_list(self, key: str, value: Any) -> list[str]:
        return self.check_items(key, split_list(value))

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
        text = self.text(value) or ""
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

    def _read_phone(self, key: str, value: Any) -> str | None:
        text = self.text(value) or ""
        if not _PHONE.fullmatch(text):
            self.error(key, _("“%(value)s” is not a phone number.", value=text))
            return None
        return text


def validate(
    session: Session, parsed: ParsedFile, progress: Progress | None = None
) -> ImportReport:
    """Check every row, then duplicates in the file and against the database."""
    report = ImportReport.start(parsed)
    rows = tabular.read_rows(parsed, _RowReader, report, progress)
    # E-mail addresses compare without case (as the database check does); ID numbers exactly.
    tabular.check_repeats(rows, "id_number", parsed.label("id_number"))
    tabular.check_repeats(rows, "email", parsed.label("email"), str.lower)
    _check_database(session, rows, parsed)
    warn_unknown_institutions(
        session,
        ((item.row, item.data.get("institution")) for item in rows),
        parsed.label("institution"),
        report.warnings,
    )
    report.take(rows)
    return report


def _check_database(session: Session, rows: list[ReadRow], parsed: ParsedFile) -> None:
    ids = sorted({r.data["id_number"] for r in rows if r.data.get("id_number")})
    emails = sorted({r.data["email"].lower() for r in rows if r.data.get("email")})
    # ID numbers are stored encrypted: compared through their blind index (core/pii.py).
    by_hash = {pii.blind_index(pii.id_number_key(number)): number for number in ids}
    known_ids = {by_hash[h] for h in _existing(session, Expert.id_number_hash, sorted(by_hash))}
    known_emails = _existing(session, func.lower(Expert.email), emails)
    for item in rows:
        number, email = item.data.get("id_number"), item.data.get("email")
        if number and number in known_ids:
            item.errors.append(
                RowError(
                    item.row,
                    parsed.label("id_number"),
                    _(
                        "An expert with ID number %(value)s is already in the pool.",
                        value=pii.mask(number),
                    ),
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
    for chunk in chunks(values):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in pieces small enough for one IN (...) each."""
    for start in range(0, len(values), SQL_CHUNK):
        yield values[start : start + SQL_CHUNK]


def warn_unknown_institutions(
    session: Session, named: Iterable[tuple[int, str | None]], label: str, warnings: list[RowError]
) -> None:
    """Warn about institutions neither known nor an alias: usually a typo or a new short name.

    `named` gives each row's number and institution; the submission import uses this too.
    """
    seen: set[str] = set()
    for row_no, name in named:
        if not name or name_key(name) in seen:
            continue
        seen.add(name_key(name))
        if institutions.resolve(session, name) is None:
            warnings.append(
                RowError(
                    row_no,
                    label,
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
    return commit_each(
        session,
        actor,
        report,
        lambda data, flush: create_expert(session, actor, data, status=data["status"], flush=flush),
        progress,
    )


def commit_each(
    session: Session,
    actor: User | None,
    report: ImportReport,
    create: Callable[[dict[str, Any], bool], T],
    progress: Progress | None = None,
    written: Callable[[list[T]], None] | None = None,
) -> list[T]:
    """`core.importing.commit_rows` for this feature's imports: refused with ImportRefused."""
    return commit_rows(
        session,
        actor,
        report,
        create,
        ImportRefused,
        (ExpertError, SQLAlchemyError),
        short_error,
        progress,
        written,
    )


def short_error(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
