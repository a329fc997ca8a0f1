"""Flask glue of the search core: the app's index manager, the index registry, `flask search`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from expertpool.core.search import HybridConfig, IndexManager, IndexSpec
from expertpool.core.search.app import (
    get_index,
    get_index_manager,
    hybrid_config,
    register_keyword_index,
    registered_indexes,
)

SPEC = IndexSpec(name="test_notes", text_fields={"body": 1.0}, filter_fields=("kind",))
NOTES = [
    {"id": "1", "body": "土壤中重金属的测定", "kind": "a"},
    {"id": "2", "body": "乳粉中三聚氰胺的测定", "kind": "b"},
    {"id": "3", "body": "血清葡萄糖参考测量", "kind": "a"},
]


@pytest.fixture
def notes(app: Flask) -> Iterator[list[dict[str, Any]]]:
    """A registered index whose 'database' is this list (tests change it)."""
    rows = [dict(n) for n in NOTES]
    register_keyword_index(app, SPEC, lambda _session: iter(rows), lambda _session: len(rows))
    yield rows


def test_the_manager_lives_at_search_index_dir_once_per_app(app: Flask, tmp_path: Path) -> None:
    manager = get_index_manager()
    assert isinstance(manager, IndexManager)
    assert manager.root == Path(app.config["SEARCH_INDEX_DIR"])
    assert manager.root == Path(app.instance_path) / "search"  # the default
    assert get_index_manager(app) is manager
    other = Flask("other", instance_path=str(tmp_path / "other"))
    other.config["SEARCH_INDEX_DIR"] = str(tmp_path / "elsewhere")
    assert get_index_manager(other).root == tmp_path / "elsewhere"
    assert get_index_manager(other) is not manager


def test_features_register_their_indexes(app: Flask, notes: list[dict[str, Any]]) -> None:
    assert registered_indexes()[SPEC.name].spec == SPEC
    assert "materials" in registered_indexes()  # the training feature's, from its init_app
    assert "experts" in registered_indexes()  # matching's
    index = get_index(SPEC.name)
    assert index is get_index(SPEC.name) and index.spec == SPEC
    with pytest.raises(KeyError):
        get_index("nobody_registered_this")


def test_reindex_builds_from_the_feature_documents(
    app: Flask, runner: Any, notes: list[dict[str, Any]]
) -> None:
    result = runner.invoke(args=["search", "reindex", "--index", SPEC.name])
    assert result.exit_code == 0, result.output
    assert f"{SPEC.name}: 3 documents indexed" in result.output
    index = get_index(SPEC.name)
    assert [h.doc_id for h in index.search("三聚氰胺").hits] == ["2"]
    assert {h.doc_id for h in index.search("测定", filters={"kind": "a"}).hits} == {"1"}

    notes.pop(0)  # the database changed: a rebuild follows it exactly
    notes.append({"id": "4", "body": "水中氨氮", "kind": "b"})
    assert runner.invoke(args=["search", "reindex", "--index", SPEC.name]).exit_code == 0
    assert index.search("重金属").hits == []
    assert [h.doc_id for h in index.search("氨氮").hits] == ["4"]


def test_reindex_if_missing_only_builds_missing_indexes(
    app: Flask, runner: Any, notes: list[dict[str, Any]]
) -> None:
    first = runner.invoke(args=["search", "reindex", "--index", SPEC.name, "--if-missing"])
    assert f"{SPEC.name}: 3 documents indexed" in first.output
    notes.append({"id": "4", "body": "水中氨氮", "kind": "b"})
    again = runner.invoke(args=["search", "reindex", "--index", SPEC.name, "--if-missing"])
    assert again.exit_code == 0
    assert f"{SPEC.name}: exists (3 documents), up to date" in again.output
    assert get_index(SPEC.name).doc_count() == 3


def test_reindex_refuses_an_unknown_index(app: Flask, runner: Any) -> None:
    result = runner.invoke(args=["search", "reindex", "--index", "nope"])
    assert result.exit_code != 0 and "unknown index nope" in result.output


def test_reindex_without_a_name_builds_every_index(
    app: Flask, runner: Any, notes: list[dict[str, Any]]
) -> None:
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "materials: 0 documents indexed" in result.output
    assert f"{SPEC.name}: 3 documents indexed" in result.output


def test_status(app: Flask, runner: Any, notes: list[dict[str, Any]]) -> None:
    before = runner.invoke(args=["search", "status"]).output
    assert f"{SPEC.name}" in before and "missing" in before
    runner.invoke(args=["search", "reindex", "--index", SPEC.name])
    assert "3 documents  (3 in the database)" in runner.invoke(args=["search", "status"]).output
    notes.pop()
    after = runner.invoke(args=["search", "status"]).output
    assert "(2 in the database)  (out of date: reindex)" in after


def test_hybrid_config_from_settings(app: Flask) -> None:
    assert hybrid_config() == HybridConfig.from_mapping(
        {
            "fusion": app.config["SEARCH_FUSION"],
            "rrf_k": app.config["SEARCH_RRF_K"],
            "keyword_weight": app.config["SEARCH_KEYWORD_WEIGHT"],
            "semantic_weight": app.config["SEARCH_SEMANTIC_WEIGHT"],
            "normalization": app.config["SEARCH_NORMALIZATION"],
            "candidates": app.config["SEARCH_CANDIDATES"],
            "semantic_min_score": app.config["SEARCH_SEMANTIC_MIN_SCORE"],
            "keyword_match": app.config["SEARCH_KEYWORD_MATCH"],
            "snippet_chars": app.config["SEARCH_SNIPPET_CHARS"],
        }
    )
    # environment variables arrive as text
    app.config.update(
        SEARCH_FUSION="score",
        SEARCH_RRF_K="20",
        SEARCH_SEMANTIC_WEIGHT="0.7",
        SEARCH_SEMANTIC_MIN_SCORE="none",
        SEARCH_CANDIDATES="50",
    )
    config = hybrid_config(semantic_chunks_per_doc=1)
    assert (config.fusion, config.rrf_k, config.semantic_weight) == ("score", 20, 0.7)
    assert config.semantic_min_score is None and config.candidates == 50
    assert config.semantic_chunks_per_doc == 1  # the caller's own choice wins
    app.config["SEARCH_SEMANTIC_MIN_SCORE"] = "0.84"
    assert hybrid_config().semantic_min_score == 0.84
    app.config["SEARCH_FUSION"] = "borda"
    with pytest.raises(ValueError, match="unknown fusion"):
        hybrid_config()
