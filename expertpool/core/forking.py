"""Fork safety: what a process forked from a loaded app must not share with its parent.

gunicorn (`gunicorn.conf.py`, `preload_app`) builds the app and warms it up once, in its master
process, then forks the workers: the embedding model, the experts' vectors and the keyword-index
segments are then shared copy-on-write instead of loaded once per worker. Two things must not
be shared that way:

- database connections. A pooled connection is a socket (PostgreSQL) or a file handle (SQLite)
  with per-connection state; two processes using one interleave their messages. Every forked
  child therefore starts with an empty pool: `engine.dispose(close=False)`, SQLAlchemy's recipe
  for forks, which drops the inherited connections without closing them, so the parent's stay
  usable. The master also closes its own before forking (`before_fork`): it never queries again.
- torch's intra-op threads. Each worker would start one per core; W workers then run W x cores
  threads on the same cores. `gunicorn.conf.py` sets TORCH_THREADS to `cores // workers` (at
  least one); a forked child applies it to the torch it inherited, and the encoder
  (`core/embeddings/encoder.py`) uses it when a process loads the model itself.

`track(app)` (run by the core's `init_app`) remembers the app's engines, and the hook runs in
every child forked by anything (gunicorn, multiprocessing, a test), through `os.register_at_fork`.
"""

from __future__ import annotations

import gc
import os
import sys
import weakref

from flask import Flask
from sqlalchemy import Engine

from ..db import db

TORCH_THREADS = "TORCH_THREADS"  # environment: torch intra-op threads of one process
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_installed = False


def track(app: Flask) -> None:
    """Give the children forked after this point fresh pools for `app`'s engines."""
    global _installed
    with app.app_context():
        _engines.update(db.engines.values())
    if not _installed:
        os.register_at_fork(after_in_child=after_fork_in_child)
        _installed = True


def after_fork_in_child() -> None:
    """New, empty connection pools; TORCH_THREADS for a torch inherited from the parent."""
    for engine in list(_engines):
        engine.dispose(close=False)
    threads = torch_threads()
    torch = sys.modules.get("torch")  # never imported here just for this
    if threads and torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def before_fork() -> None:
    """In the parent, once everything to share is loaded: close its connections, freeze gc.

    `gc.freeze()` moves every object allocated so far out of the collector's reach, so a
    child's garbage collections do not write to (and so copy) the pages they live on.
    """
    for engine in list(_engines):
        engine.dispose()
    gc.freeze()


def torch_threads() -> int | None:
    """TORCH_THREADS from the environment (None when unset or not a positive number)."""
    raw = os.environ.get(TORCH_THREADS, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None
