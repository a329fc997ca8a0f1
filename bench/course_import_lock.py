"""How long a course-folder import holds SQLite's write lock (issue 12, short write transactions).

    .venv/bin/python bench/course_import_lock.py [--folder courses/demo_content] [--runs 3]
                                                 [--before REF]

Runs what `flask courses import DIR` runs (`importer.parse_folder`, `importer.apply`, the
commit) on a fresh SQLite file, in this process (hashing encoder: the index job is not
measured, JOBS_EAGER off), and prints the whole import's time and how long its transaction held
the write lock: from its first BEGIN IMMEDIATE / INSERT / UPDATE / DELETE to the end of the
COMMIT (SQLAlchemy events). `--before REF` measures `git archive REF` first, the same way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("IMPORT_LOCK_CODE") or ROOT)
sys.path.insert(0, str(CODE))
importlib.import_module("expertpool")

from _before import run_before  # noqa: E402
from _model import machine  # noqa: E402

WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")  # what takes SQLite's write lock


def make_app(folder: Path) -> Any:
    from expertpool import create_app

    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench-" + "0" * 32,
            "EMBEDDING_MODEL": "hashing",
            "JOBS_EAGER": False,
            "SEARCH_INDEX_DIR": str(folder / "search"),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "LOG_LEVEL": "WARNING",
        },
        instance_path=str(folder / "instance"),
    )


def run_once(source: Path) -> tuple[float, float, int]:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from courses.operations import importer
    from expertpool.db import db

    folder = Path(tempfile.mkdtemp(prefix="course-lock-"))
    app = make_app(folder)
    first_write: list[float] = []
    committed: list[float] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not first_write and statement.lstrip().upper().startswith(WRITES):
            first_write.append(time.perf_counter())

    def note_commit(session: Any) -> None:
        if not session.in_nested_transaction() and first_write and not committed:
            committed.append(time.perf_counter())

    with app.app_context():
        db.create_all()
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", note)
        event.listen(Session, "after_commit", note_commit, insert=True)
        try:
            t0 = time.perf_counter()
            specs = importer.parse_folder(db.session, source)
            importer.apply(db.session, None, specs, upload_root=str(folder / "uploads"))
            db.session.commit()
            t1 = time.perf_counter()
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
            event.remove(Session, "after_commit", note_commit)
    return t1 - t0, committed[0] - first_write[0], len(specs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "courses" / "demo_content")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", metavar="REF", help="measure `git archive REF` first")
    args = parser.parse_args()
    if args.before:
        run_before(args.before, __file__)
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}; code {CODE}")
    for run in range(1, args.runs + 1):
        total, lock, n = run_once(args.folder.resolve())
        print(
            f"run {run}: {n} courses, import {total:.2f} s, write lock {lock:.2f} s "
            f"(first BEGIN IMMEDIATE/INSERT/UPDATE/DELETE to the COMMIT)",
            flush=True,
        )


if __name__ == "__main__":
    main()
