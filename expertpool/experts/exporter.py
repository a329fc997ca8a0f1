"""Export of a filtered list of experts as XLSX or CSV, in the import template's columns.

The columns, header names and value spellings are the importer's, so an exported file can be
edited and imported again. Only administrators export; ID numbers and phones are masked
("1101**********1234") unless the administrator asks for them in full (`full_personal`), and
every export is audited (`core.audit.record_export`, by the controller, the command and the
download of a job's file).
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
from sqlalchemy.orm import selectinload, undefer_group
from werkzeug.datastructures import MultiDict

from ..core import exports, pii
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
from .models.experts import PERSONAL_GROUP
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


PERSONAL = frozenset({"id_number", "phone"})


def expert_row(expert: Expert, locale: str | None = None, full_personal: bool = False) -> list[Any]:
    """One expert as template cells; dates stay dates (the writer formats them)."""
    english = _english(locale)
    return [_value(expert, column, english, full_personal) for column in COLUMNS]


def _value(expert: Expert, column: Column, english: bool, full_personal: bool = False) -> Any:
    key = column.key
    if key in PERSONAL and not full_personal:
        return pii.mask(getattr(expert, key)) or None
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


def _rows(
    experts: Iterable[Expert], locale: str | None, full_personal: bool = False
) -> Iterator[list[Any]]:
    return (expert_row(expert, locale, full_personal) for expert in experts)


def export_xlsx(
    experts: Iterable[Expert], locale: str | None = None, full_personal: bool = False
) -> bytes:
    """An XLSX workbook with one row per expert, re-importable after editing."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    write_data_sheet(ws, headers(locale), _rows(experts, locale, full_personal))
    ws.auto_filter.ref = ws.dimensions
    return workbook_bytes(wb)


def export_csv(
    experts: Iterable[Expert], locale: str | None = None, full_personal: bool = False
) -> bytes:
    """A CSV file (UTF-8 with BOM, so Excel shows the Chinese) with one row per expert."""
    return csv_bytes(headers(locale), _rows(experts, locale, full_personal))


def build(
    experts: Iterable[Expert], fmt: str, locale: str | None = None, full_personal: bool = False
) -> bytes:
    """The file of `fmt` ("xlsx": headers in the reader's language; "csv": the template's)."""
    if fmt == "xlsx":
        return export_xlsx(experts, locale, full_personal)
    return export_csv(experts, full_personal=full_personal)


def statement(flt: ExpertFilter) -> Select[tuple[Expert]]:
    """The filtered experts with what a row shows loaded in a few queries, not one per expert."""
    return flt.statement().options(
        selectinload(Expert.institution),
        selectinload(Expert.categories),
        selectinload(Expert.specialties),
        undefer_group(PERSONAL_GROUP),
    )


def filename(fmt: str, today: dt.date | None = None) -> str:
    return f"experts-{(today or dt.date.today()).isoformat()}.{fmt}"


def export_job(
    ctx: JobContext,
    args: dict[str, list[str]],
    fmt: str,
    locale: str,
    full_personal: bool = False,
) -> dict[str, Any]:
    """The task: the experts the list's filters (`args`) select, written as the file to download
    (audited when downloaded, `core.exports.download`)."""
    with force_locale(locale):
        experts = ctx.session.scalars(statement(ExpertFilter.from_args(MultiDict(args)))).all()
        rows = exports.counted(experts, ctx, len(experts), _("Writing rows"))
        data = build(rows, fmt, locale, full_personal)
        result = exports.save(ctx, data, filename(fmt), FORMATS[fmt], rows=len(experts))
        return {**result, "full_personal": full_personal}
