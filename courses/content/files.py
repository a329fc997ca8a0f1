"""Stored course files: uploads saved under the upload folder, and read back safely."""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path

from werkzeug.utils import secure_filename


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def store_file(upload_root: str | Path, course_id: int, filename: str, data: bytes) -> str:
    """Save an uploaded file under the upload folder; returns its path relative to that folder."""
    safe = secure_filename(filename) or "file"
    relative = Path("courses") / str(course_id) / f"{uuid.uuid4().hex[:12]}-{safe}"
    target = Path(upload_root) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative.as_posix()


def resolve(upload_root: str | Path, relative: str) -> Path:
    """Absolute path of a stored file, refusing anything outside the upload folder."""
    root = Path(upload_root).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError(f"path outside the upload folder: {relative!r}")
    return path
