"""Course folders uploaded as a ZIP file and imported by a background job (`courses.import_folder`).

The administrators' page stages the upload and adds the job; the job unpacks the archive into a
scratch folder (members that would land outside it, links, and archives that unpack to more than
`MAX_UNPACKED_BYTES` or hold more than `MAX_MEMBERS` entries are refused before anything is
written), checks every course with `importer.parse_folder`, prepares them (`importer.prepare`:
rendering, PDF text, files stored; no lock) and writes them all with `importer.apply` in one
short transaction, or nothing. The staged upload is claimed just before those rows, and marked
consumed in that transaction, so a second run of the job imports nothing. `flask courses import
DIR` stays inline.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from expertpool.accounts.models import User
from expertpool.core import staging, storage
from expertpool.core.exports import counted
from expertpool.core.jobs import JobContext, JobFailed

from . import importer

T = TypeVar("T")
IMPORT_TASK = "courses.import_folder"
STAGE_PREFIX = "course-"
SUFFIXES = (".zip",)
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # parse_folder holds every file in memory
MAX_MEMBERS = 5000
_UTF8_NAMES = 0x800  # the ZIP flag that says member names are UTF-8


class UnsafeZip(ValueError):
    """An archive that is not a ZIP file, or would unpack outside its folder or too large."""


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; archives made on Chinese Windows store GBK names without saying so."""
    if info.flag_bits & _UTF8_NAMES:
        return info.filename
    raw = info.filename.encode("cp437")
    for codec in ("utf-8", "gb18030"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return info.filename


def unpack_zip(archive: Path, into: Path) -> Path:
    """Unpack `archive` into the folder `into`; returns the folder that holds the courses."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise UnsafeZip(_("The archive holds more than %(n)d files.", n=MAX_MEMBERS))
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise UnsafeZip(_("The archive unpacks to more than %(n)d MB.", n=_mb()))
            written = 0
            for info in members:
                written += _unpack_member(zf, info, into, MAX_UNPACKED_BYTES - written)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise UnsafeZip(_("This is not a readable ZIP file (%(error)s).", error=exc)) from exc
    return _course_root(into)


def _unpack_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, into: Path, room: int) -> int:
    """Write one member inside `into` (refusing links and escapes); returns the bytes written."""
    name = _member_name(info)
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeZip(
            _("The archive holds a link (%(name)s); links are not accepted.", name=name)
        )
    try:
        target = storage.resolve(into, name)
    except storage.UnsafePath as exc:
        raise UnsafeZip(_("“%(name)s” would unpack outside its folder.", name=name)) from exc
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(info) as source, target.open("wb") as out:
        # the sizes a member declares may lie: count what really comes out
        while chunk := source.read(1024 * 1024):
            written += len(chunk)
            if written > room:
                raise UnsafeZip(_("The archive unpacks to more than %(n)d MB.", n=_mb()))
            out.write(chunk)
    return written


def _mb() -> int:
    return MAX_UNPACKED_BYTES // (1024 * 1024)


def _course_root(folder: Path) -> Path:
    """The folder whose course folders to import: down through lone wrapping folders."""
    while not importer.course_folders(folder):
        inside = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        if len(inside) != 1 or not inside[0].is_dir():
            break
        folder = inside[0]
    return folder


# -- the job ---------------------------------------------------------------------------------------


def import_job(
    ctx: JobContext,
    import_id: int,
    replace: bool = False,
    draft: bool = False,
    locale: str | None = None,
) -> dict[str, Any]:
    """The task: unpack, check every course, then write them all in one transaction or none."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return _import(ctx, import_id, replace, draft)


def _import(ctx: JobContext, import_id: int, replace: bool, draft: bool) -> dict[str, Any]:
    session = ctx.session
    record = session.get(staging.StagedImport, import_id)
    found = staging.staged(STAGE_PREFIX, record.token, SUFFIXES) if record else None
    if record is not None and record.consumed_at is not None:  # imported by an earlier run
        if found:
            staging.discard(found[0])
        return dict(record.result or {})
    if record is None or found is None:
        raise JobFailed(_("The preview expired. Upload the file again."))
    path = found[0]
    scratch = Path(tempfile.mkdtemp(prefix="course-import-"))
    try:
        specs = _check(ctx, path, scratch, replace)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the specs hold the files' contents
    ctx.check_cancelled()
    upload_root = current_app.config["UPLOAD_FOLDER"]
    actor = session.get(User, record.created_by_id) if record.created_by_id else None
    # Rendered and the files stored first, with progress; the claim (a write: on SQLite the
    # write lock from there to the commit) comes just before the rows are written.
    importer.prepare(
        session, specs, upload_root=upload_root, progress=_counting(ctx, _("Saving courses"))
    )

    def claim() -> None:
        ctx.check_cancelled()
        if not staging.claim(session, record):
            raise RuntimeError(f"staged import {import_id} taken by another run")  # retried

    result = importer.apply(
        session, actor, specs, upload_root=upload_root, publish=not draft, before_write=claim
    )
    outcome = {"created": result.created, "updated": result.updated}
    staging.consumed(session, record, path, outcome)
    return outcome


def _check(ctx: JobContext, path: Path, scratch: Path, replace: bool) -> list[Any]:
    """Unpack and check everything; a problem fails the job with the list of them."""
    try:
        root = unpack_zip(path, scratch)
        return importer.parse_folder(
            ctx.session, root, replace=replace, progress=_counting(ctx, _("Checking courses"))
        )
    except UnsafeZip as exc:
        raise JobFailed(str(exc), {"message": str(exc)}) from exc
    except importer.ImportFailed as failed:
        message = _("%(n)d problem(s) found; nothing was imported.", n=len(failed.problems))
        problems = [[p.file, p.field, p.message] for p in failed.problems]
        raise JobFailed(message, {"message": message, "problems": problems}) from None


def _counting(ctx: JobContext, stage: str) -> Any:
    def wrap(items: Iterable[T]) -> Iterable[T]:
        items = list(items)
        return counted(items, ctx, len(items), stage)

    return wrap
