"""Stored files: one rule for every upload, download and import folder.

Uploads are saved under the upload folder (`UPLOAD_FOLDER`) in a feature's sub-folder with a
generated name, so nothing the uploader chose decides where a file lands; the database keeps
the path relative to the folder. Every path read back, served or deleted — and every file an
import folder names — goes through `resolve`, which refuses anything outside its folder: an
absolute path, `..`, or a symbolic link that leads out (the path is resolved first).

Files are served by `send` with a type that cannot run in our origin (issue 12 item 12): only
PDF, plain images, video and audio are shown inline; anything else is a download, and a type a
browser would render or run (HTML, XHTML, SVG, XML, JavaScript, CSS...) is sent as
`application/octet-stream` — a `<script src>` or `<iframe>` on our origin cannot use an
uploaded .js or .html. The app adds `X-Content-Type-Options: nosniff` to every response, so
the browser keeps to the type it is given.
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

DOWNLOAD_TYPE = "application/octet-stream"
# Types a browser shows without running anything in our origin: served inline when asked.
INLINE_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/x-m4v",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
    }
)
# Text a browser only displays; every other text/* (html, javascript, xml, css...) is active.
_PASSIVE_TEXT = frozenset({"text/plain", "text/csv"})
# Other types a browser renders or runs: XML of any kind (+xml: SVG, XHTML...), scripts, HTML.
_ACTIVE_SUBTYPES = re.compile(r"xml|.*\+xml|.*(html|javascript|ecmascript|flash|x-sh\b).*")


class UnsafePath(ValueError):
    """The path names something outside its folder (or nothing at all)."""


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def served_type(mime: str | None, filename: str) -> str:
    """The Content-Type a stored file is sent with: its own, unless a browser could run it.

    `mime` may come from the uploader (a submission attachment's declared type), so it is not
    trusted: a type that could render or run in our origin becomes `application/octet-stream`.
    """
    base = (mime or guess_mime(filename)).split(";")[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", base):
        return DOWNLOAD_TYPE
    if base in INLINE_TYPES or base in _PASSIVE_TEXT:
        return base
    kind, subtype = base.split("/", 1)
    if kind in ("text", "multipart") or _ACTIVE_SUBTYPES.fullmatch(subtype):
        return DOWNLOAD_TYPE
    return base


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

    Inline only for `INLINE_TYPES` (a download otherwise, whatever the caller asked), with the
    type `served_type` allows. `conditional=True` gives ETags and HTTP Range (206), which
    videos need.
    """
    try:
        path = resolve(root, relative or "")
    except UnsafePath:
        abort(404)
    if not path.is_file():
        abort(404)
    mimetype = served_type(mime, name or path.name)
    return send_file(
        path,
        mimetype=mimetype,
        as_attachment=as_attachment or mimetype not in INLINE_TYPES,
        download_name=name or path.name,
        conditional=True,
        max_age=max_age,
    )
