"""A person's own data (PIPL): everything the platform holds about them, as JSON or XLSX.

The accounts feature owns the page and declares the slot `accounts.my_data`: each feature that
holds data about a person contributes `provider(user) -> list[Section] | None` in its
`init_app` (experts: the technical file; reviews: invitations and reviews written; courses:
enrolments, quiz attempts, certificates), so this module knows no feature above it. The person
sees their own ID number and phone in full. Every download is audited
(`core.audit.record_export`, subject the user).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from sqlalchemy import inspect

from ..core import cells
from ..core.features import slot_values
from .models import User

SLOT = "accounts.my_data"
# Slot of what a person may ask to correct: providers return `Corrections` (or None).
CORRECTIONS_SLOT = "accounts.corrections"
EXPORT_NAME = "accounts.my_data"
_SKIPPED = ("password_hash", "version")
_SHEET_CHARS = 31


@dataclass
class Section:
    """One kind of record about the person: a key (JSON, sheet name), a label, its rows."""

    key: str
    label: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def row_of(obj: Any, **extra: Any) -> dict[str, Any]:
    """A model row's columns (encrypted ones decrypted: it is the person's own; no blind
    indexes, password hashes or version counters), plus `extra`."""
    mapper = inspect(obj).mapper
    data = {
        attr.key: getattr(obj, attr.key)
        for attr in mapper.column_attrs
        if attr.key not in _SKIPPED and not attr.key.endswith("_hash")
    }
    data.update(extra)
    return data


def rows_of(objs: Iterable[Any], **extra: Any) -> list[dict[str, Any]]:
    return [row_of(obj, **extra) for obj in objs]


@dataclass
class Corrections:
    """What one feature lets a person ask to correct, how to file it, and their requests.

    `fields` are (key, label) pairs offered by the form (keys unique across features);
    `file(session, user, key, value, reason)` files a request or raises `OperationError`;
    `requests` are the person's requests as the page lists them: dicts with `field` (label),
    `value` (masked when personal), `status`, `created_at`, `decided_at`, `decision_reason`."""

    fields: list[tuple[str, str]]
    file: Callable[..., Any]
    requests: list[dict[str, Any]] = field(default_factory=list)


def account_corrections(user: User) -> Corrections:
    from flask_babel import gettext as _
    from sqlalchemy import select

    from ..db import db
    from . import operations as ops
    from .models import CorrectionRequest

    labels = {
        "name": _("Full name"),
        "email": _("E-mail"),
        "organisation": _("Organisation"),
        "province": _("Province"),
    }
    items = db.session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.user_id == user.id)
        .order_by(CorrectionRequest.id.desc())
    )
    requests = [
        {
            "field": labels.get(r.field, r.field),
            "value": r.value,
            "status": r.status,
            "created_at": r.created_at,
            "decided_at": r.decided_at,
            "decision_reason": r.decision_reason,
        }
        for r in items
    ]
    fields = [(f"account.{k}", labels[k]) for k in ops.CORRECTABLE]

    def file(session: Any, who: User, key: str, value: str, reason: str) -> Any:
        return ops.request_correction(session, who, key.removeprefix("account."), value, reason)

    return Corrections(fields, file, requests)


def corrections(user: User) -> list[Corrections]:
    return [account_corrections(user), *slot_values(CORRECTIONS_SLOT, user)]


def account_sections(user: User) -> list[Section]:
    """The accounts feature's own part: the account and its roles."""
    from flask_babel import gettext as _
    from sqlalchemy import select

    from ..db import db
    from .models import CorrectionRequest

    requests = db.session.scalars(
        select(CorrectionRequest)
        .where(CorrectionRequest.user_id == user.id)
        .order_by(CorrectionRequest.id)
    )
    return [
        Section("account", _("Account"), [row_of(user, roles=sorted(user.roles))]),
        Section("correction_requests", _("Correction requests"), rows_of(requests)),
    ]


def collect(user: User) -> list[Section]:
    """Every section about `user`: the account first, then each feature's, in layer order."""
    sections = account_sections(user)
    for contributed in slot_values(SLOT, user):
        sections.extend(contributed)
    return sections


def row_count(sections: list[Section]) -> int:
    return sum(len(s.rows) for s in sections)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json(user: User, sections: list[Section]) -> bytes:
    document = {
        "user_id": user.id,
        "username": user.username,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sections": {s.key: {"label": s.label, "rows": _plain(s.rows)} for s in sections},
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _cell(value: Any) -> Any:
    """A plain value for a cell (lists and mappings as JSON); `cells.append_row` cleans it."""
    value = _plain(value)
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return value


def to_xlsx(sections: list[Section]) -> bytes:
    """One sheet per section: a header row of field names, then the rows."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for section in sections:
        ws = wb.create_sheet(section.key[:_SHEET_CHARS])
        columns: list[str] = []
        for row in section.rows:
            columns.extend(k for k in row if k not in columns)
        cells.append_row(ws, columns or [section.label])
        for row in section.rows:
            cells.append_row(ws, [_cell(row.get(c)) for c in columns])  # core/cells.py rule
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
