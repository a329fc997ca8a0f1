"""Export of a filtered list of experts as XLSX or CSV, in the import template's columns.

The columns, header names and value spellings are the importer's, so an exported file can be
edited and imported again. ID numbers and phones are included: only administrators export.
A list of more than EXPORT_JOB_THRESHOLD experts is written by the job `experts.export`
(`export_job`, see `core.exports`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import openpyxl
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ..core import exports
from ..core.jobs import JobContext
from .constants import category_label
from .importer import (
    COLUMNS,
    DATA_SHEET,
    GENDER_ZH,
    SPECIALTY_COLUMNS,
    STATUS_ZH,
    Column,
    csv_bytes,
    workbook_bytes,
    write_data_sheet,
)
from .models import Expert
from .queries import ExpertFilter

LIST_SEPARATOR = ";"
EXPORT_TASK = "experts.export"
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _english(locale: str | None) -> bool:
    return (locale or "").startswith("en")


def headers(locale: str | None = None) -> list[str]:
    """Chinese header names (the template's), or the English ones for an English locale."""
    return [c.en if _english(locale) else c.zh for c in COLUMNS]


def expert_row(expert: Expert, locale: str | None = None) -> list[Any]:
    """One expert as template cells; dates stay dates (the writer formats them)."""
    return [_value(expert, column, _english(locale)) for column in COLUMNS]


def _value(expert: Expert, column: Column, english: bool) -> Any:
    key = column.key
    if key == "institution":
        return expert.institution.name if expert.institution else None
    if key == "categories":
        locale = "en" if english else "zh"
        return LIST_SEPARATOR.join(category_label(c, locale) for c in expert.category_codes)
    if key in SPECIALTY_COLUMNS:
        return LIST_SEPARATOR.join(expert.specialties_of(SPECIALTY_COLUMNS[key])) or None
    value = getattr(expert, key)
    if key == "gender" and value:
        return value if english else GENDER_ZH.get(value, value)
    if key == "metrology_competent":
        return ("yes" if value else "no") if english else ("是" if value else "否")
    if key == "status":
        return value if english else STATUS_ZH.get(value, value)
    return value


def _rows(experts: Iterable[Expert], locale: str | None) -> Iterator[list[Any]]:
    return (expert_row(expert, locale) for expert in experts)


def export_xlsx(experts: Iterable[Expert], locale: str | None = None) -> bytes:
    """An XLSX workbook with one row per expert, re-importable after editing."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    write_data_sheet(ws, headers(locale), _rows(experts, locale))
    ws.auto_filter.ref = ws.dimensions
    return workbook_bytes(wb)


def export_csv(experts: Iterable[Expert], locale: str | None = None) -> bytes:
    """A CSV file (UTF-8 with BOM, so Excel shows the Chinese) with one row per expert."""
    return csv_bytes(headers(locale), _rows(experts, locale))


def build(experts: Iterable[Expert], fmt: str, locale: str | None = None) -> bytes:
    """The file of `fmt` ("xlsx": headers in the reader's language; "csv": the template's)."""
    return export_xlsx(experts, locale) if fmt == "xlsx" else export_csv(experts)


def statement(flt: ExpertFilter) -> Select[tuple[Expert]]:
    """The filtered experts with what a row shows loaded in a few queries, not one per expert."""
    return flt.statement().options(
        selectinload(Expert.institution),
        selectinload(Expert.categories),
        selectinload(Expert.specialties),
    )


def filename(fmt: str, today: dt.date | None = None) -> str:
    return f"experts-{(today or dt.date.today()).isoformat()}.{fmt}"


def export_job(
    ctx: JobContext, args: dict[str, list[str]], fmt: str, locale: str
) -> dict[str, Any]:
    """The task: the experts the list's filters (`args`) select, written as the file to download."""
    with force_locale(locale):
        experts = ctx.session.scalars(statement(ExpertFilter.from_args(MultiDict(args)))).all()
        rows = exports.counted(experts, ctx, len(experts), _("Writing rows"))
        return exports.save(ctx, build(rows, fmt, locale), filename(fmt), FORMATS[fmt])
