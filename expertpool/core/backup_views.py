"""The system administrator's backups page: the archives on this host and how to make one.

Backups are made and restored with `flask backup` (a terminal on the server, where the archive
and the restore's downtime are handled); the page lists what is there, it downloads nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

from .access import Role, roles_required
from .backup import default_archive_path

bp = Blueprint("backups", __name__, template_folder="templates")


@dataclass(frozen=True)
class Archive:
    name: str
    size: int
    modified: dt.datetime


def archives(folder: Path) -> list[Archive]:
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.tar.gz"):
        stat = path.stat()
        found.append(
            Archive(path.name, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))
        )
    return sorted(found, key=lambda a: a.modified, reverse=True)


@roles_required(Role.SYSADMIN)
def backups() -> Any:
    folder = default_archive_path(current_app).parent
    return render_template("backup/list.html", archives=archives(folder), folder=folder)


bp.add_url_rule("/admin/backups", "backups", backups)
