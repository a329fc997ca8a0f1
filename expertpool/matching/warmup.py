"""Load what the first requests would otherwise wait for, in a background thread.

The first candidate page of a fresh server loads the embedding model (~7 s), the experts'
vector matrix and each keyword-index segment's ids and field lengths (1.3 s at 100k experts).
A server started with `WARM_UP=1` (`make run`, `make dev`, the systemd unit) does this before
anyone asks; command-line tasks, which also build the app, do not. Under gunicorn the master
waits for it before forking (`gunicorn.conf.py`), so every worker shares what it loaded.

Beyond the model and the indexes, each worker used to pay its own first page of each kind:
compiling its templates (~80 ms a page), the pool snapshot and its co-authors (~140 ms), the
centroids, the course-material retriever, the translations. In the load bench (issue 11) those
first requests of five workers were a third of the slow tail in the window's first seconds
(a candidates page 325 ms cold against 67 ms warm, one process, BENCHMARKS.md). The master
does them all once now, and the workers inherit the results.
"""

from __future__ import annotations

import datetime as dt
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
        store.centroids(EXPERT_INDEX)
        expert_keyword_index().term_scores(PROBE)
        _pool_and_courses(app)
    compile_templates(app)
    _translations(app)


def _pool_and_courses(app: Flask) -> None:
    """The pool snapshot (its parts stay cached while their stamps hold) and the course
    material retriever with its keyword and vector parts."""
    from courses.search.queries import MaterialQuery, search_materials

    from ..db import db
    from ..reviews.eligibility import rules_from_config
    from .snapshot import Pool

    try:
        Pool.load(db.session, dt.date.today(), rules_from_config(app.config))
        search_materials(db.session, MaterialQuery(q=PROBE))
    finally:
        db.session.remove()


def compile_templates(app: Flask) -> int:
    """Compile every page template now (Jinja compiles each on its first use, per process);
    returns how many. A template that fails to compile is left for its page to report."""
    env = app.jinja_env
    count = 0
    for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt"))):
        try:
            env.get_template(name)
        except Exception:  # a broken template must fail its own page, not the server's start
            log.exception("template %s does not compile", name)
            continue
        count += 1
    return count


def _translations(app: Flask) -> None:
    """Each locale's message catalogue (Flask-Babel reads one on its first request)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"):
        for locale in app.config.get("LANGUAGES", ("zh_CN", "en")):
            with force_locale(locale):
                gettext("Sign in")


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
