"""Encoders: the hashing stand-in, model resolution and caching, the real model's encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from expertpool.core.embeddings import encoder as enc_mod
from expertpool.core.embeddings.encoder import (
    Encoder,
    HashingEncoder,
    ModelNotFound,
    QueryCache,
    load_encoder,
    model_fingerprint,
    prompt_names,
    resolve_model_path,
)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_hashing_encoder_rows_are_unit_float32_and_deterministic() -> None:
    e = HashingEncoder(dim=64)
    texts = ["土壤中重金属的测定", "Melamine in milk powder", ""]
    a, b = e.encode_document(texts), HashingEncoder(dim=64).encode_query(texts)
    assert a.shape == (3, 64) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a[:2], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(a, b)  # same model, same vectors, in any process
    assert not a[2].any()  # nothing to hash: a zero row rather than NaN


def test_hashing_encoder_single_string_gives_a_vector() -> None:
    e = HashingEncoder()
    v = e.encode_query("同位素稀释质谱")
    assert v.shape == (256,)
    np.testing.assert_array_equal(v, e.encode_query(["同位素稀释质谱"])[0])
    assert e.encode_document([]).shape == (0, 256)


@pytest.mark.parametrize(
    ("query", "near", "far"),
    [
        ("土壤重金属铅镉测定", "土壤中铅和镉等重金属的测定方法", "血清葡萄糖参考测量程序"),
        ("melamine milk powder", "Melamine determination in milk powders", "coal sulfur content"),
    ],
)
def test_hashing_encoder_puts_similar_texts_closer(query: str, near: str, far: str) -> None:
    e = HashingEncoder()
    q, docs = e.encode_query(query), e.encode_document([near, far])
    assert cos(q, docs[0]) > cos(q, docs[1]) + 0.2


def test_hashing_encoder_satisfies_the_protocol() -> None:
    assert isinstance(HashingEncoder(), Encoder)
    assert HashingEncoder(128).model_id != HashingEncoder(256).model_id


def test_load_encoder_caches_per_setting(tmp_path: Path) -> None:
    a = load_encoder("hashing", tmp_path)
    assert load_encoder("hashing", tmp_path) is a
    small = load_encoder("hashing-32", tmp_path)
    assert small.dim == 32 and small is not a


def test_model_names_resolve_under_instance_models(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "models" / "my-model"
    folder.mkdir(parents=True)
    assert resolve_model_path("my-model", tmp_path) == folder
    assert resolve_model_path(str(folder), tmp_path / "elsewhere") == folder
    monkeypatch.chdir(tmp_path / "models")  # a same-named folder in the working directory
    with pytest.raises(ModelNotFound):
        resolve_model_path("my-model", tmp_path / "elsewhere")
    with pytest.raises(ModelNotFound, match="install-model"):
        resolve_model_path("multilingual-e5-small", tmp_path)
    with pytest.raises(ModelNotFound, match="EMBEDDING_MODEL=hashing"):
        load_encoder("no-such-model", tmp_path)


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="not a sentence-transformers model"):
        enc_mod.SentenceTransformerEncoder(tmp_path)


@pytest.mark.parametrize(
    ("prompts", "names"),
    [
        ({"query": "query: ", "passage": "passage: ", "document": ""}, ("query", "passage")),
        ({"query": "query: ", "document": "passage: "}, ("query", "document")),
        ({"query": "", "document": ""}, (None, None)),  # a model without prompts
    ],
)
def test_prompt_names_skip_empty_prompts(prompts, names) -> None:
    assert prompt_names(prompts) == names


def test_fingerprint_changes_with_config_or_weights(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 384}')
    (folder / "model.safetensors").write_bytes(b"x" * 100)
    first = model_fingerprint(folder)
    assert first.startswith("m-") and model_fingerprint(folder) == first
    (folder / "model.safetensors").write_bytes(b"y" * 100)  # same size: not re-hashed, by design
    assert model_fingerprint(folder) == first
    (folder / "model.safetensors").write_bytes(b"x" * 101)
    second = model_fingerprint(folder)
    (folder / "config.json").write_text('{"hidden_size": 768}')
    assert len({first, second, model_fingerprint(folder)}) == 3


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_sentence_transformer_encoder(e5_encoder, e5_model_dir: Path) -> None:
    import torch

    assert e5_encoder.dim == 384 and isinstance(e5_encoder, Encoder)
    assert e5_encoder.model_id == model_fingerprint(e5_model_dir)
    calls = []
    texts = ["标准物质均匀性检验", "  Homogeneity testing of reference materials  "]
    docs = e5_encoder.encode_document(
        texts, progress=lambda done, total: calls.append((done, total))
    )
    assert docs.shape == (2, 384) and docs.dtype == np.float32 and calls[-1] == (2, 2)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, rtol=1e-5)
    # outer whitespace is dropped, so it does not change the vector
    assert cos(e5_encoder.encode_document(texts[1].strip()), docs[1]) > 0.99999
    # the query and passage prompts are applied: same text, different vectors
    query = e5_encoder.encode_query(texts[0])
    assert query.shape == (384,) and cos(query, docs[0]) < 0.99
    assert cos(query, docs[1]) > 0.8  # and the two languages still meet
    # a repeated query comes from the cache, the same vector, and the caller may change its copy
    again = e5_encoder.encode_query("  " + texts[0])
    np.testing.assert_array_equal(again, query)
    again[:] = 0
    assert cos(e5_encoder.encode_query(texts[0]), query) > 0.99999
    assert torch.get_num_threads() <= 4


def test_query_cache_computes_each_text_once_and_forgets_the_oldest() -> None:
    cache = QueryCache(size=2)
    computed: list[str] = []

    def compute(text: str) -> np.ndarray:
        computed.append(text)
        return np.full(3, float(len(computed)), np.float32)

    first = cache.vector("query", "均匀性", compute)
    first[:] = -1  # the caller's copy; the cache keeps its own
    assert cache.vector("query", "均匀性", compute).tolist() == [1.0, 1.0, 1.0]
    cache.vector("passage", "均匀性", compute)  # another prompt is another vector
    cache.vector("query", "均匀性", compute)  # used again: now the passage one is the oldest
    cache.vector("query", "稳定性", compute)  # evicts the least recently used: passage
    cache.vector("query", "均匀性", compute)
    cache.vector("passage", "均匀性", compute)
    assert computed == ["均匀性", "均匀性", "稳定性", "均匀性"]
