"""Stored files: one rule for every upload, download and import folder.

Uploads are saved under the upload folder (`UPLOAD_FOLDER`) in a feature's sub-folder with a
generated name, so nothing the uploader chose decides where a file lands; the database keeps
the path relative to the folder. Every path read back, served or deleted — and every file an
import folder names — goes through `resolve`, which refuses anything outside its folder: an
absolute path, `..`, or a symbolic link that leads out (the path is resolved first).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import secrets
from pathlib import Path
from typing import Any

from flask import abort, send_file
from werkzeug.utils import secure_filename

log = logging.getLogger(__name__)

_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")


class UnsafePath(ValueError):
    """The path names something outside its folder (or nothing at all)."""


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def safe_suffix(filename: str) -> str:
    """The file name's extension in lower case when it is a plain one ('.pdf'), else ''."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else ""


def resolve(root: str | Path, relative: str | Path) -> Path:
    """The absolute path of `relative` inside `root`; `UnsafePath` when it would leave `root`."""
    text = str(relative or "")
    if not text or "\x00" in text:
        raise UnsafePath(f"not a file name: {text!r}")
    base = Path(root).resolve()
    path = (base / text).resolve()
    if base not in path.parents:
        raise UnsafePath(f"outside {base}: {text!r}")
    return path


def write(root: str | Path, relative: str | Path, data: bytes) -> Path:
    """Write `data` at `relative` inside `root` (folders created); refuses a path outside it."""
    path = resolve(root, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def generated_name(filename: str, *, keep_name: bool = False) -> str:
    """A fresh random name with the upload's extension (`keep_name`: its sanitised name too)."""
    if keep_name:
        return f"{secrets.token_hex(6)}-{secure_filename(filename) or 'file'}"
    return f"{secrets.token_hex(16)}{safe_suffix(filename)}"


def save(
    root: str | Path, folder: str, filename: str, data: bytes, *, keep_name: bool = False
) -> str:
    """Save an upload under `root/folder` with a generated name; returns the relative path."""
    relative = Path(folder) / generated_name(filename, keep_name=keep_name)
    write(root, relative, data)
    return relative.as_posix()


def delete(root: str | Path, relative: str | None) -> bool:
    """Remove a stored file; False when there was none, or the path leads outside `root`.

    A path outside `root` is never touched (it is logged: only a tampered row holds one), and
    the row that named it may still go.
    """
    try:
        path = resolve(root, relative or "")
    except UnsafePath:
        if relative:
            log.warning("stored path outside the upload folder not deleted: %r", relative)
        return False
    if not path.is_file():
        return False
    path.unlink()
    return True


def send(
    root: str | Path,
    relative: str | None,
    *,
    name: str | None = None,
    mime: str | None = None,
    as_attachment: bool = True,
    max_age: int | None = None,
) -> Any:
    """The stored file as a response (404 when missing or outside `root`).

    `conditional=True` gives ETags and HTTP Range (206), which videos need.
    """
    try:
        path = resolve(root, relative or "")
    except UnsafePath:
        abort(404)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=mime or guess_mime(name or path.name),
        as_attachment=as_attachment,
        download_name=name or path.name,
        conditional=True,
        max_age=max_age,
    )
