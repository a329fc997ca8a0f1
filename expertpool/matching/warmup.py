"""Load what the first matching request would otherwise wait for, in a background thread.

The first candidate page of a fresh server loads the embedding model (~7 s), the experts'
vector matrix and each keyword-index segment's ids and field lengths (1.3 s at 100k experts).
A server started with `WARM_UP=1` (`make run`, `make dev`, the systemd unit) does this before
anyone asks; command-line tasks, which also build the app, do not. Under gunicorn the master
waits for it before forking (`gunicorn.conf.py`), so every worker shares what it loaded.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

log = logging.getLogger(__name__)
PROBE = "标准物质 reference material"  # any text: the point is to load, not to find


def warm_up(app: Flask) -> None:
    from ..core.embeddings.store import get_store
    from ..core.search.changes import sync_all
    from .sync import expert_keyword_index
    from .texts import EXPERT_INDEX

    with app.app_context():
        sync_all(app)  # this host's keyword indexes follow the database (built if missing)
        store = get_store(app)
        store.score_all(EXPERT_INDEX, store.encoder.encode_query(PROBE))
        expert_keyword_index().term_scores(PROBE)


def start_warm_up(app: Flask) -> threading.Thread:
    """Warm up in a daemon thread; a failure is logged, never fatal (requests load lazily)."""

    def run() -> None:
        try:
            warm_up(app)
            log.info("warm-up done: embedding model, expert vectors and keyword index loaded")
        except Exception:
            log.exception("warm-up failed; the first requests will load what they need")

    thread = threading.Thread(target=run, name="expertpool-warm-up", daemon=True)
    thread.start()
    return thread
