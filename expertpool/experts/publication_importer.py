"""Bulk import of experts' publications from the XLSX/CSV template: parse, validate, commit.

Works like the expert import (`experts.importer`, whose file reading it shares): `parse` reads
the raw cells, `validate` finds each row's expert (by e-mail or ID number, both unique in the
pool) and turns the row into the values of the publication form, collecting every problem with
its spreadsheet row number (the header is row 1), and `commit` adds every publication through
the form's operation (`operations.add_part`) inside one SAVEPOINT, or none. Each publication is
audited under its expert, and the change events re-embed and re-index those experts once the
file is committed, as for a publication added by hand.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from ..accounts.models import User
from ..core import pii, tabular
from ..core.assignment.names import match
from ..core.importing import Progress
from ..core.names import name_key
from ..core.tabular import Column, ImportReport, ReadRow, RowError
from . import importer
from .constants import YEARS
from .importer import (
    CSV_NOTE,
    FORMATS,
    HELP_SHEET,
    IdentityCells,
    ImportRefused,
    Layout,
    chunks,
    commit_each,
    read_file,
)
from .models import Expert, Publication
from .operations import add_part, stamp_files

DATA_SHEET = "论文"
MAX_ROWS = 20_000
AUTHOR_MAX = 128  # characters in one author's name
LANGUAGES = {
    "zh": "zh",
    "中文": "zh",
    "汉语": "zh",
    "中": "zh",
    "chinese": "zh",
    "en": "en",
    "英文": "en",
    "英语": "en",
    "英": "en",
    "english": "en",
}
__all__ = ["COLUMNS", "FORMATS", "parse", "validate", "commit", "ImportRefused"]

COLUMNS: tuple[Column, ...] = (
    Column(
        "expert",
        "专家",
        "Expert",
        "expert",
        required=True,
        help="库中专家的电子邮箱或 18 位身份证号（两者均唯一；身份证号请以文本格式填写）",
        example="zhangwei@example.cn",
    ),
    Column(
        "title",
        "题名",
        "Title",
        required=True,
        help="论文、专著或标准的题名",
        example="土壤中铅同位素比值的测定",
    ),
    Column(
        "year",
        "年份",
        "Year",
        "year",
        help=f"发表年份（{YEARS[0]}-{YEARS[1]}）；同一专家同题名同年份的论文不可重复",
        example="2023",
    ),
    Column("venue", "期刊/会议", "Venue", help="期刊、会议或出版社", example="分析化学"),
    Column(
        "language",
        "语言",
        "Language",
        "language",
        help="中文 / 英文（zh / en）；留空时题名含汉字为中文，否则为英文",
        example="中文",
    ),
    Column(
        "authors",
        "作者",
        "Authors",
        "authors",
        help="全部作者，按论文署名照写，含专家本人；多个用 ; 或 ； 分隔（用于合著回避）",
        example="张伟;欧阳建国;Li Hong",
    ),
    Column("abstract", "摘要", "Abstract", "long_text", help="摘要", example=""),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

_MAX_LENGTH = tabular.max_lengths(COLUMNS, Publication.__table__)
_HEADER_ALIASES = tabular.header_aliases(
    COLUMNS,
    {
        "专家邮箱": "expert",
        "电子邮箱": "expert",
        "邮箱": "expert",
        "email": "expert",
        "身份证号": "expert",
        "idnumber": "expert",
        "题目": "title",
        "论文题目": "title",
        "标题": "title",
        "发表年份": "year",
        "期刊": "venue",
        "journal": "venue",
        "作者列表": "authors",
    },
)
PUBLICATION_FILE = Layout(
    COLUMNS,
    _HEADER_ALIASES,
    MAX_ROWS,
    _l("Too many rows: at most %(max)d publications per file."),
    _l("The file holds no publications: fill in rows below the header row."),
)
_ID_LIKE = re.compile(r"[0-9]{15,17}[0-9Xx]?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class ParsedFile(importer.ParsedFile):
    """The raw cells of a publication file, keyed by field, with file-level problems."""

    column_by_key = COLUMN_BY_KEY


# --- templates --------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """The 论文 data sheet with Chinese headers, plus a 说明 sheet explaining each column."""
    return tabular.template_workbook(
        (DATA_SHEET, HELP_SHEET),
        COLUMNS,
        [
            "填写说明：在“论文”工作表第 2 行起每行填写一篇论文；标色列为必填。"
            "专家须已在库中；任何一行有错误时整个文件都不会导入。",
            CSV_NOTE,
        ],
        (14, 20, 6, 60, 28),
        {"language": ["中文", "英文"]},
        MAX_ROWS,
    )


def template_csv() -> bytes:
    return tabular.template_csv(COLUMNS)


def parse(filename: str, data: bytes, encoding: str = "utf-8") -> ParsedFile:
    """Read an .xlsx or .csv publication file into raw cells keyed by field."""
    return read_file(ParsedFile(filename=filename), data, encoding, PUBLICATION_FILE)


# --- validation -------------------------------------------------------------------------------


class _RowReader(IdentityCells):
    """Turns one row's raw cells into the publication form's values, noting each problem."""

    max_length = _MAX_LENGTH
    item_max = AUTHOR_MAX

    def read(self) -> dict[str, Any]:
        data = self.read_cells(COLUMNS)
        if data["language"] is None:
            data["language"] = "zh" if _HAN.search(data["title"] or "") else "en"
        data["authors"] = data["authors"] or []
        return data

    def _read_expert(self, key: str, value: Any) -> tuple[str, str] | None:
        """("email", address) or ("id_number", number): how the row names its expert."""
        text = self.text(value) or ""
        if "@" in text:
            email = self._read_email(key, value)
            return ("email", email) if email else None
        if isinstance(value, float) or _ID_LIKE.fullmatch(text):
            number = self._read_id_number(key, value)
            return ("id_number", number) if number else None
        self.error(
            key,
            _(
                "“%(value)s” is neither an e-mail address nor an ID number: name the expert "
                "by either.",
                value=text,
            ),
        )
        return None

    def _read_year(self, key: str, value: Any) -> int | None:
        text = self.text(value) or ""
        if not text.isdecimal() or not YEARS[0] <= int(text) <= YEARS[1]:
            self.error(
                key,
                _(
                    "“%(value)s” is not a year from %(first)d to %(last)d.",
                    value=text,
                    first=YEARS[0],
                    last=YEARS[1],
                ),
            )
            return None
        return int(text)

    def _read_language(self, key: str, value: Any) -> str | None:
        text = self.text(value) or ""
        language = LANGUAGES.get(text.casefold())
        if language is None:
            self.error(
                key, _("Unknown language “%(value)s”: write 中文 or 英文 (zh or en).", value=text)
            )
        return language

    def _read_authors(self, key: str, value: Any) -> list[str]:
        return self.check_items(key, tabular.split_list(value))


def validate(
    session: Session, parsed: ParsedFile, progress: Progress | None = None
) -> ImportReport:
    """Check every row, find its expert, then refuse repeats in the file and in the files."""
    report = ImportReport.start(parsed)
    rows = tabular.read_rows(parsed, _RowReader, report, progress)
    names = _find_experts(session, rows, parsed)
    _check_repeats(session, rows, parsed, names)
    _warn_absent_expert(rows, parsed, names, report.warnings)
    report.take(rows)
    return report


def _find_experts(session: Session, rows: list[ReadRow], parsed: ParsedFile) -> dict[int, str]:
    """Set each row's expert_id from its e-mail or ID number; the experts' names by id."""
    wanted = [r.data["expert"] for r in rows if r.data.get("expert")]
    emails = sorted({value.lower() for how, value in wanted if how == "email"})
    hashes = {
        pii.blind_index(pii.id_number_key(value)): value for how, value in wanted if how != "email"
    }
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for column, how, values, named in (
        (func.lower(Expert.email), "email", emails, dict(zip(emails, emails, strict=True))),
        (Expert.id_number_hash, "id_number", sorted(hashes), hashes),
    ):
        for chunk in chunks(values):
            stmt = select(column, Expert.id, Expert.name).where(column.in_(chunk))
            for key, expert_id, name in session.execute(stmt):
                found[(how, named[key])] = (expert_id, name)
    names: dict[int, str] = {}
    for item in rows:
        how, value = item.data.pop("expert", None) or (None, None)
        expert = found.get((how, value.lower() if how == "email" else value)) if how else None
        if expert is not None:
            item.data["expert_id"], item.data["expert_name"] = expert
            names[expert[0]] = expert[1]
        elif how == "email":
            item.errors.append(
                RowError(
                    item.row,
                    parsed.label("expert"),
                    _("No expert with e-mail %(value)s is in the pool.", value=value),
                )
            )
        elif how:
            item.errors.append(
                RowError(
                    item.row,
                    parsed.label("expert"),
                    _("No expert with ID number %(value)s is in the pool.", value=pii.mask(value)),
                )
            )
    return names


def _paper_key(expert_id: int, title: str, year: int | None) -> tuple[int, str, int | None]:
    return expert_id, name_key(title), year


def _check_repeats(
    session: Session, rows: list[ReadRow], parsed: ParsedFile, names: dict[int, str]
) -> None:
    """One expert's publication of the same title (compared as `name_key`) and year is refused
    when the file has it twice or the expert's file already has it."""
    known: set[tuple[int, str, int | None]] = set()
    for chunk in chunks(sorted(names)):
        stmt = select(Publication.expert_id, Publication.title, Publication.year).where(
            Publication.expert_id.in_(chunk)
        )
        known.update(_paper_key(*row) for row in session.execute(stmt))
    first_seen: dict[tuple[int, str, int | None], int] = {}
    label = parsed.label("title")
    for item in rows:
        data = item.data
        if not data.get("expert_id") or not data.get("title"):
            continue
        key = _paper_key(data["expert_id"], data["title"], data.get("year"))
        if key in known:
            message = _(
                "%(expert)s already has “%(title)s” (%(year)s) in their file.",
                expert=names[data["expert_id"]],
                title=data["title"],
                year=data.get("year") or "—",
            )
        elif key in first_seen:
            message = _(
                "The same publication of this expert (title and year) is also in row %(first)d.",
                first=first_seen[key],
            )
        else:
            first_seen[key] = item.row
            continue
        item.errors.append(RowError(item.row, label, message))


def _warn_absent_expert(
    rows: list[ReadRow], parsed: ParsedFile, names: dict[int, str], warnings: list[RowError]
) -> None:
    """Warn when no author is (even possibly, e.g. in pinyin) the expert: co-authorship is read
    from the list, the expert included, so a list without them is likely incomplete."""
    for item in rows:
        name = names.get(item.data.get("expert_id") or 0)
        authors = item.data.get("authors") or []
        if not name or not authors or any(match(name, a) for a in authors):
            continue
        message = _(
            "The authors do not include %(name)s: list every author, the expert included.",
            name=name,
        )
        warnings.append(RowError(item.row, parsed.label("authors"), message))


# --- committing -------------------------------------------------------------------------------


def commit(
    session: Session, actor: User | None, report: ImportReport, progress: Progress | None = None
) -> list[Publication]:
    """Add every publication of a clean report inside one SAVEPOINT: all of them or none.

    Flushes but does not commit; the caller (request, job or CLI command) commits once.
    """
    experts: dict[int, Expert] = {}
    for chunk in chunks(sorted({data["expert_id"] for data in report.rows})):
        stmt = select(Expert).where(Expert.id.in_(chunk)).options(lazyload("*"))
        experts.update((e.id, e) for e in session.scalars(stmt))

    def create(data: dict[str, Any], flush: bool) -> Publication:
        values = {c.key: data[c.key] for c in COLUMNS if c.key != "expert"}
        return add_part(
            session, actor, experts[data["expert_id"]], "publication", values, flush=flush
        )

    return commit_each(
        session,
        actor,
        report,
        create,
        progress,
        lambda created: stamp_files(session, (p.expert_id for p in created)),
    )
