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


def test_failed_warm_up_is_logged_not_raised(app, monkeypatch, caplog):
    def broken(_app):
        raise RuntimeError("model folder missing")

    monkeypatch.setattr(warmup, "warm_up", broken)
    with caplog.at_level(logging.ERROR, logger="expertpool.matching.warmup"):
        thread = warmup.start_warm_up(app)
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert "warm-up failed" in caplog.text
