"""Every host's keyword index follows the database's change log (`core.search.changes`).

Two apps on one SQLite file, each with its own instance folder, stand for two app hosts. The
index's documents come from a list standing for the database; the change log is real.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from expertpool import create_app
from expertpool.core.search import IndexSpec
from expertpool.core.search.app import get_index, rebuild_index, register_keyword_index
from expertpool.core.search.changes import (
    PRUNE_EVERY,
    SearchIndexChange,
    SearchIndexState,
    prune,
    record_changes,
    renew_epochs,
    sync,
    synced_index,
)
from expertpool.db import db

SPEC = IndexSpec(name="test_notes", text_fields={"body": 1.0}, filter_fields=("group",))
ROWS = {
    "1": {"id": "1", "body": "土壤中重金属的测定", "group": "g1"},
    "2": {"id": "2", "body": "乳粉中三聚氰胺的测定", "group": "g1"},
    "3": {"id": "3", "body": "血清葡萄糖参考测量", "group": "g2"},
}


class Notes:
    """The 'database' of the test index, and how often each host re-read it."""

    def __init__(self) -> None:
        self.rows = {k: dict(v) for k, v in ROWS.items()}
        self.full_reads = 0
        self.keys_read: list[list[str]] = []

    def documents(self, _session: Any) -> Iterator[dict[str, Any]]:
        self.full_reads += 1
        yield from (dict(r) for r in self.rows.values())

    def changed(self, _session: Any, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
        self.keys_read.append(sorted(keys))
        return {k: [dict(self.rows[k])] for k in keys if k in self.rows}

    def register(self, app: Flask) -> None:
        register_keyword_index(
            app, SPEC, self.documents, lambda _s: len(self.rows), changed=self.changed
        )


@pytest.fixture
def notes(app: Flask) -> Notes:
    """The index registered on host A (`app`), with a first change logged: the database's
    first change of an index creates its state, which any host that built the index before
    then rebuilds once (its mark has no epoch); these tests start after that."""
    n = Notes()
    n.register(app)
    _log(app, upserted=["1"])
    assert n.full_reads == 1  # host A built its index right after that commit
    return n


def _host(app: Flask, folder: Path, notes: Notes, **config: Any) -> Flask:
    """Another app host on the same database, with its own instance folder."""
    other = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "test-secret",
            "EMBEDDING_MODEL": "hashing",
            "SERVER_NAME": "localhost",
            "SEARCH_SYNC_SECONDS": 0,
            **config,
        },
        instance_path=str(folder),
    )
    notes.register(other)
    return other


@pytest.fixture
def host_b(app: Flask, notes: Notes, tmp_path: Path) -> Flask:
    return _host(app, tmp_path / "host-b", notes)


def _found(app: Flask, word: str) -> list[str]:
    with app.app_context():
        return sorted(h.doc_id for h in synced_index(SPEC.name).search(word).hits)


def _log(app: Flask, **changes: Any) -> None:
    """A job's transaction on host `app`: the change log gets these keys."""
    with app.app_context():
        record_changes(db.session, SPEC.name, **changes)
        db.session.commit()


def _generation(app: Flask) -> str | None:
    with app.app_context():
        return get_index(SPEC.name).current_generation()


def test_a_host_without_an_index_builds_it_and_then_applies_only_the_changed_keys(
    app, notes, host_b
):
    assert _found(host_b, "三聚氰胺") == ["2"]  # built from the database at the first search
    assert notes.full_reads == 2
    built = _generation(host_b)

    notes.rows["2"]["body"] = "蜂蜜中氯霉素的测定"
    notes.rows["4"] = {"id": "4", "body": "水中氨氮的测定", "group": "g2"}
    del notes.rows["3"]
    _log(app, upserted=["2", "4"], deleted=["3"])

    assert _found(host_b, "氯霉素") == ["2"]
    assert _found(host_b, "三聚氰胺") == []
    assert _found(host_b, "氨氮") == ["4"]
    assert _found(host_b, "葡萄糖") == []
    assert _generation(host_b) == built  # applied in place, not rebuilt
    assert notes.full_reads == 2  # host A's build and host B's, nothing more
    assert notes.keys_read[-1] == ["2", "3", "4"]


def test_the_host_that_committed_applies_at_once_and_never_twice(app, notes):
    notes.rows["1"]["body"] = "土壤中铅的测定"
    _log(app, upserted=["1"])
    reads = len(notes.keys_read)
    assert reads == 1  # applied right after the commit
    with app.app_context():
        assert sorted(h.doc_id for h in get_index(SPEC.name).search("铅").hits) == ["1"]
        assert sync(SPEC.name).action == "current"  # nothing left to apply
    assert len(notes.keys_read) == reads


def test_a_restarted_host_keeps_its_index_and_catches_up(app, notes, host_b, tmp_path):
    _found(host_b, "测定")
    built = _generation(host_b)
    notes.rows["3"]["body"] = "血清中肌酐的测定"
    _log(app, upserted=["3"])
    restarted = _host(app, tmp_path / "host-b", notes)  # a new process, the same folder
    reads = notes.full_reads
    assert _found(restarted, "肌酐") == ["3"]
    assert notes.full_reads == reads and _generation(restarted) == built


def test_a_host_rebuilds_when_the_log_it_needs_was_pruned(app, notes, host_b):
    _found(host_b, "测定")
    built = _generation(host_b)
    notes.rows["1"]["body"] = "土壤中汞的测定"
    _log(app, upserted=["1"])
    with app.app_context():  # the entry is now older than the kept days
        db.session.execute(update(SearchIndexChange).values(created_at=dt.datetime(2020, 1, 1)))
        assert prune(db.session, SPEC.name, keep_days=7) == 2  # the fixture's and this one
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(SearchIndexChange)) == 0
    assert _found(host_b, "汞") == ["1"]
    assert _generation(host_b) != built


def test_the_log_is_pruned_as_it_is_written(app, notes):
    with app.app_context():  # the fixture's entry (version 1) grows old
        db.session.execute(update(SearchIndexChange).values(created_at=dt.datetime(2020, 1, 1)))
        db.session.execute(update(SearchIndexState).values(version=PRUNE_EVERY - 1))
        record_changes(db.session, SPEC.name, upserted=["2"])  # version PRUNE_EVERY
        db.session.commit()
        kept = db.session.scalars(select(SearchIndexChange.doc_key)).all()
        state = db.session.get(SearchIndexState, SPEC.name)
        assert kept == ["2"] and state.pruned_through == 1


def test_a_restored_database_makes_every_host_rebuild(app, notes, host_b):
    _found(host_b, "测定")
    built = _generation(host_b)
    with app.app_context():
        record_changes(db.session, SPEC.name, upserted=["1"])
        db.session.commit()
        assert renew_epochs(db.session) == 1
        db.session.commit()
    reads = notes.full_reads
    _found(host_b, "测定")
    assert notes.full_reads == reads + 1 and _generation(host_b) != built


def test_reindex_on_one_host_rebuilds_every_host(app, notes, host_b):
    _found(host_b, "测定")
    notes.rows["5"] = {"id": "5", "body": "大米中镉的测定", "group": "g1"}  # a bulk load: no log
    assert _found(host_b, "镉") == []
    with app.app_context():
        assert rebuild_index(SPEC.name) == 4
    assert _found(host_b, "镉") == ["5"]


def test_searches_check_the_database_at_most_every_sync_interval(app, notes, tmp_path):
    slow = _host(app, tmp_path / "host-c", notes, SEARCH_SYNC_SECONDS=60)
    clock = [1e9]  # far past the real monotonic clock of the first check
    _found(slow, "测定")  # the first check: builds the index
    slow.extensions["expertpool.search.sync"].clock = lambda: clock[0]
    _found(slow, "测定")  # checks again, and starts the interval on the fake clock
    notes.rows["1"]["body"] = "土壤中砷的测定"
    _log(app, upserted=["1"])
    clock[0] += 59
    assert _found(slow, "砷") == []  # checked within the interval: not yet
    clock[0] += 2
    assert _found(slow, "砷") == ["1"]


def test_a_failed_update_leaves_the_search_working(app, notes, host_b, caplog):
    _found(host_b, "测定")
    notes.rows["1"]["body"] = "土壤中锌的测定"
    _log(app, upserted=["1"])

    def broken(_session: Any, _keys: list[str]) -> dict[str, Any]:
        raise RuntimeError("database gone")

    register_keyword_index(host_b, SPEC, notes.documents, changed=broken)
    assert _found(host_b, "重金属") == ["1"]  # the old document is served: no error
    assert _found(host_b, "三聚氰胺") == ["2"]
    assert "not brought up to date" in caplog.text
