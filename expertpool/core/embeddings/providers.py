"""Registry of text providers: where ``flask embeddings rebuild`` gets the texts to embed.

A feature registers, in its ``init_app``, a callable yielding :class:`TextRecord` tuples for
everything it wants searchable::

    register_text_provider(app, "experts", expert_texts, indexes=("experts",))

``indexes`` names the indexes the provider fills completely, so a rebuild may delete rows
there that the provider no longer yields even when it yields nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from flask import Flask, current_app

from ..features import registry


class TextRecord(NamedTuple):
    index_name: str
    source_type: str
    source_id: int
    chunk: str  # key within the source, e.g. 'profile' or 'pub:12'
    text: str
    lang: str | None = None  # 'zh', 'en', ...; None: guessed from the text


TextSource = Callable[[], Iterable[TextRecord | tuple]]


@dataclass(frozen=True)
class TextProvider:
    name: str
    fn: TextSource
    indexes: tuple[str, ...] = ()

    def records(self) -> Iterable[TextRecord]:
        for rec in self.fn():
            yield rec if isinstance(rec, TextRecord) else TextRecord(*rec)


def register_text_provider(
    app: Flask, name: str, fn: TextSource, indexes: Iterable[str] = ()
) -> TextSource:
    """Register (or replace) the app's provider called ``name``."""
    registry(app, "text_providers")[name] = TextProvider(name, fn, tuple(indexes))
    return fn


def text_providers(app: Flask | None = None) -> dict[str, TextProvider]:
    return dict(registry(app or current_app, "text_providers"))
