"""Bulk import of submissions from XLSX, CSV or JSON: parse, validate, then commit all or nothing.

Works like the expert import (`experts.importer`): `parse` reads raw cells, `validate` turns
each row into the data `operations.create_submission` takes and collects every problem with its
row number (spreadsheets: the header is row 1; JSON: the record's position in the list, from 1),
and `commit` creates every submission inside one SAVEPOINT or none at all. Reading files, cells
and row errors are shared with the expert import (`core.tabular`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import tabular
from ..core.importing import Progress, commit_rows
from ..core.tabular import (
    Column,
    FileError,
    ImportReport,
    ParsedTable,
    ReadRow,
    RowError,
    Table,
    split_list,
)
from ..experts.constants import category_by_name
from ..experts.importer import warn_unknown_institutions
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

DATA_SHEET = "申请"
HELP_SHEET = "说明"
MAX_ROWS = 5_000
FORMATS = (".xlsx", ".csv", ".json")


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
        help="申请单位所在省级行政区，全称或简称，如 河北省 / 河北（存为全称；可空，取单位省份）",
        example="河北省",
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
        "contact_people",
        "联系人",
        "Contacts",
        "list",
        help="申请方联系人姓名，多个用 ; 分隔（用于利益冲突回避）",
        example="陈立新",
    ),
    Column(
        "contact_emails",
        "联系人邮箱",
        "Contact e-mails",
        "list",
        help="联系人电子邮箱，多个用 ; 分隔（个人信息，加密保存，仅管理员可见；单位邮箱域名用于回避）",
        example="chenlixin@igge.cn",
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

_MAX_LENGTH = tabular.max_lengths(COLUMNS, Submission.__table__, applicant_institution=128)
_ITEM_MAX = 64

_HEADER_ALIASES = tabular.header_aliases(
    COLUMNS,
    {
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
    },
)
_NOT_XLSX = _l(
    "This is not an Excel .xlsx file. Open it in Excel and save it as .xlsx, or export CSV."
)
_TOO_MANY = _l("Too many rows: at most %(max)d submissions per file.")


@dataclass
class ParsedFile(ParsedTable):
    """The raw values of an import file, keyed by field, with file-level problems."""

    missing: set[str] = field(default_factory=set)  # required columns absent (told on row 1)

    column_by_key: ClassVar[dict[str, Column]] = COLUMN_BY_KEY


class ImportRefused(SubmissionError):
    """`commit` was asked to write a report with errors, or a row failed while writing."""


# --- templates --------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """The data sheet with Chinese headers, plus a 说明 sheet explaining each column."""
    return tabular.template_workbook(
        (DATA_SHEET, HELP_SHEET),
        COLUMNS,
        [
            "在“申请”工作表第 2 行起每行填写一项申请；列名可用中文或英文，未知的列会被忽略。"
            "任何一行有错误时整个文件都不会导入。"
        ],
        (14, 22, 6, 60, 30),
    )


def template_csv() -> bytes:
    return tabular.template_csv(COLUMNS)


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
            raise FileError(
                RowError(
                    0,
                    None,
                    _(
                        "Unsupported file type “%(ext)s”: upload an .xlsx, .csv or .json file.",
                        ext=ext or filename,
                    ),
                )
            )
        tabular.require_content(data)
        if ext == ".json":
            _collect_records(_read_json(data), parsed)
        elif ext == ".xlsx":
            _collect_table(tabular.read_xlsx(data, HELP_SHEET, _NOT_XLSX), parsed)
        else:
            _collect_table(_read_csv(data, encoding), parsed)
    except FileError as exc:
        parsed.errors.append(exc.error)
    return parsed


def _read_csv(data: bytes, encoding: str) -> Table:
    codec = "gb18030" if encoding.strip().lower() in ("gb18030", "gbk", "gb2312") else "utf-8"
    if data.startswith(tabular.BOM):
        codec = "utf-8"  # a byte-order mark settles it whatever was chosen
    return tabular.read_csv(tabular.decode(data, codec, _bad_byte))


def _bad_byte(codec: str, line: int) -> str:
    return _(
        "The file is not %(encoding)s text (first bad byte on line %(line)d). CSV files saved "
        "by Excel on Chinese Windows are usually GB18030: choose that encoding.",
        encoding=codec.upper(),
        line=line,
    )


def _read_json(data: bytes) -> list[Any]:
    document = tabular.read_json(data)
    if isinstance(document, dict) and isinstance(document.get("submissions"), list):
        document = document["submissions"]
    if not isinstance(document, list):
        raise FileError(
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


def _collect_table(table: Table, parsed: ParsedFile) -> None:
    header = tabular.header_row(table)
    indexes = tabular.map_headers(header, _HEADER_ALIASES, parsed, _text)
    parsed.missing.update(tabular.require_columns(COLUMNS, parsed))
    for row_no, cells in table:
        _add_row(row_no, tabular.row_values(cells, indexes), parsed)
    _require_rows(parsed)


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
            key = _HEADER_ALIASES.get(tabular.header_form(str(name)))
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
    tabular.add_row(parsed, row_no, values, MAX_ROWS, _TOO_MANY)


def _require_rows(parsed: ParsedFile) -> None:
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(0, None, _("The file holds no submissions.")))


# --- cell values ------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A cell as trimmed text; a JSON true/false stays "True"/"False" (the expert import's 1/0)."""
    return tabular.cell_text(str(value) if isinstance(value, bool) else value)


class _RowReader(tabular.RowReader):
    """Turns one row's raw values into create_submission data, noting each problem."""

    max_length = _MAX_LENGTH
    item_max = _ITEM_MAX
    date_problem = _l("“%(value)s” is not a date: write 2025-03-01, 2025/3/1 or 2025年3月1日.")
    text = staticmethod(_text)

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for column in COLUMNS:
            value = self.raw.get(column.key)
            if tabular.blank(value):
                if column.required and column.key not in self.parsed.missing:
                    self.error(column.key, _("A value is required."))
                data[column.key] = [] if column.kind == "list" else None
                continue
            data[column.key] = self.read_cell(column, value)
        # Cross-field checks, shared with the form; a field already refused is not named twice.
        refused = {error.column for error in self.errors}
        data, problems = normalise(data)
        for key, message in problems:
            if self.parsed.label(key) not in refused and key not in self.parsed.missing:
                self.error(key, message)
        return data

    def _read_list(self, key: str, value: Any) -> list[str]:
        return self.check_items(key, split_list(value))  # a JSON array item by item

    def _read_category(self, key: str, value: Any) -> int | None:
        code = category_by_name(self.text(value) or "")
        if code is None:
            self.error(
                key,
                _(
                    "Unknown category “%(value)s”: use the codes 01-13 or their names.",
                    value=self.text(value),
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
        text = self.text(value) or ""
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


def validate(
    session: Session, parsed: ParsedFile, progress: Progress | None = None
) -> ImportReport:
    """Check every row, then repeated references in the file and against the database."""
    report = ImportReport.start(parsed)
    rows = tabular.read_rows(parsed, _RowReader, report, progress)
    _check_references(session, rows, parsed)
    warn_unknown_institutions(
        session,
        ((item.row, item.data.get("applicant_institution")) for item in rows),
        parsed.label("applicant_institution"),
        report.warnings,
    )
    report.take(rows)
    return report


def _check_references(session: Session, rows: list[ReadRow], parsed: ParsedFile) -> None:
    from .operations import reference_taken

    label = parsed.label("reference")
    tabular.check_repeats(rows, "reference", label)
    for item in rows:
        reference = item.data.get("reference")
        if reference and reference_taken(session, reference):
            item.errors.append(
                RowError(
                    item.row,
                    label,
                    _(
                        "A submission with reference %(value)s is already registered.",
                        value=reference,
                    ),
                )
            )


# --- committing -------------------------------------------------------------------------------


def commit(
    session: Session, actor: User | None, report: ImportReport, progress: Progress | None = None
) -> list[Submission]:
    """Create every submission of a clean report inside one SAVEPOINT: all of them or none.

    Flushes but does not commit; the caller (request or CLI command) commits once.
    """
    return commit_rows(
        session,
        actor,
        report,
        lambda data, flush: create_submission(session, actor, data, flush=flush),
        ImportRefused,
        (SubmissionError, SQLAlchemyError),
        lambda exc: str(exc)[:200],
        progress,
    )
