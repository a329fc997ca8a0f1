"""Server warm-up: the store, the experts' vectors and the keyword index segments are loaded
before the first request, and a failing warm-up only logs."""

from __future__ import annotations

import logging

from expertpool.core.embeddings.store import _EXTENSION
from expertpool.matching import warmup
from expertpool.matching.sync import expert_keyword_index
from expertpool.matching.texts import EXPERT_INDEX


def test_warm_up_loads_store_matrix_and_keyword_segments(app, pool):
    app.extensions.pop(_EXTENSION, None)  # as in a fresh server process
    with app.app_context():
        scorer = expert_keyword_index()._term_scorer
        scorer._segments.clear()
    warmup.start_warm_up(app).join(timeout=120)
    store = app.extensions[_EXTENSION]
    assert EXPERT_INDEX in store._matrices and len(store._matrices[EXPERT_INDEX]) > 0
    assert scorer._segments and all(len(s.ids) for s in scorer._segments.values())


def test_warm_up_leaves_the_first_pages_nothing_to_build(app, pool):
    """What each worker would otherwise build on its first page of each kind is built once,
    before the fork: the templates, the pool snapshot, the centroids, the catalogues."""
    from expertpool.db import db
    from expertpool.matching.snapshot import _CACHE, PARTS, bump

    with app.app_context():
        for part in PARTS:  # as after the migrations: parts with stamps are cached
            bump(db.session, part)
        db.session.commit()
    app.extensions.pop(_EXTENSION, None)
    app.extensions.pop(_CACHE, None)
    app.jinja_env.cache.clear()
    warmup.warm_up(app)
    store = app.extensions[_EXTENSION]
    assert store._centroids[EXPERT_INDEX][0] is store._matrices[EXPERT_INDEX]
    assert {"experts", "papers", "specialties", "loads"} <= set(app.extensions[_CACHE])
    compiled = {key[1] for key in app.jinja_env.cache}
    assert {"matching/candidates.html", "courses/search.html", "base.html"} <= compiled


def test_a_template_that_does_not_compile_is_reported_and_skipped(app, tmp_path, caplog):
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"broken.html": "{% if %}", "fine.html": "{{ 1 }}"}), app.jinja_env.loader]
    )
    app.jinja_env.cache.clear()
    with caplog.at_level(logging.ERROR, logger="expertpool.matching.warmup"):
        count = warmup.compile_templates(app)
    compiled = {key[1] for key in app.jinja_env.cache}
    assert "fine.html" in compiled and "broken.html" not in compiled
    assert count == len(compiled) and "broken.html does not compile" in caplog.text


def test_failed_warm_up_is_logged_not_raised(app, monkeypatch, caplog):
    def broken(_app):
        raise RuntimeError("model folder missing")

    monkeypatch.setattr(warmup, "warm_up", broken)
    with caplog.at_level(logging.ERROR, logger="expertpool.matching.warmup"):
        thread = warmup.start_warm_up(app)
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert "warm-up failed" in caplog.text
