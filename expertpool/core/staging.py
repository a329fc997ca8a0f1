"""Uploads kept between an import's dry-run preview and its confirmation.

The preview stores the file under a random token, with its encoding and row count beside it;
the confirmation names only the token, so nothing else on disk can be reached, and the file is
checked again before anything is written. A confirmation that runs as a background job records
a `StagedImport`; the job marks it consumed in the transaction that writes the rows, so the file
is imported once however often the job runs (a double click, a worker killed after its commit).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import JSON, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import db, utcnow
from . import storage
from .features import listen

_DISCARD = "staging_discard"  # session.info: staged files to delete once the session commits


class StagedImport(db.Model):
    """A staged file whose import was handed to a background job."""

    __tablename__ = "staged_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # the importing feature: experts, courses, ...
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    rows: Mapped[int | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # set in the transaction that wrote the rows: a second run finds it and writes nothing
    consumed_at: Mapped[dt.datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


def _folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage(prefix: str, filename: str, data: bytes, encoding: str, rows: int | None = None) -> str:
    """Keep `data` (with its encoding and, when known, its row count); returns its token."""
    token = secrets.token_hex(16)
    storage.write(_folder(), f"{prefix}{token}{storage.safe_suffix(filename)}", data)
    storage.write(_folder(), f"{prefix}{token}.enc", encoding.encode())
    if rows is not None:
        storage.write(_folder(), f"{prefix}{token}.rows", str(rows).encode())
    return token


def staged(prefix: str, token: str, suffixes: Collection[str]) -> tuple[Path, str] | None:
    """The staged file for `token` and its encoding, or None (expired or never staged)."""
    if not token.isalnum():
        return None
    matches = [p for p in _folder().glob(f"{prefix}{token}.*") if p.suffix in suffixes]
    if not matches:
        return None
    encoding_file = matches[0].with_suffix(".enc")
    encoding = encoding_file.read_text() if encoding_file.exists() else "utf-8"
    return matches[0], encoding


def staged_rows(path: Path) -> int | None:
    """The row count the preview found in the staged file, or None when it was not kept."""
    try:
        return int(path.with_suffix(".rows").read_text())
    except (OSError, ValueError):
        return None


def discard(path: Path) -> None:
    for each in (path, path.with_suffix(".enc"), path.with_suffix(".rows")):
        each.unlink(missing_ok=True)


# -- imports handed to a job ---------------------------------------------------------------------


def hand_over(
    session: Session, kind: str, token: str, filename: str, rows: int | None, actor: Any
) -> StagedImport:
    """Record that the staged file `token` is imported by a job (the caller adds the job and
    sets `job_id`). The token is unique: a second hand-over of one file fails on it."""
    record = StagedImport(
        kind=kind,
        token=token,
        filename=filename[:255],
        rows=rows,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(record)
    session.flush()
    return record


def find_import(session: Session, token: str) -> StagedImport | None:
    return session.scalar(select(StagedImport).where(StagedImport.token == token))


def claim(session: Session, record: StagedImport) -> bool:
    """Take `record` for this transaction before writing its rows; False when another run has.

    A conditional UPDATE: on PostgreSQL a second run waits for the first one's commit and then
    finds the row taken; on SQLite the write lock serialises them the same way.
    """
    taken = session.execute(
        update(StagedImport)
        .where(StagedImport.id == record.id, StagedImport.consumed_at.is_(None))
        .values(consumed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(taken)


def consumed(session: Session, record: StagedImport, path: Path, result: dict[str, Any]) -> None:
    """Keep what the import did on `record`; its staged file goes once the transaction commits."""
    record.result = result
    session.info.setdefault(_DISCARD, []).append(path)
    session.flush()


def _discard_after_commit(session: Session) -> None:
    for path in session.info.pop(_DISCARD, []):
        discard(path)


def _forget(session: Session) -> None:
    session.info.pop(_DISCARD, None)


def connect() -> None:
    listen("after_commit", _discard_after_commit)
    listen("after_rollback", _forget)
