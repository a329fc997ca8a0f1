"""Flask glue of the search core: the app's index manager, the index registry, `flask search`.

The rest of `expertpool.core.search` knows nothing of Flask; this module (with `changes`, the
change log that keeps every host's indexes in step with the database) ties it to an app.
A feature declares each keyword index it owns in its `init_app`, with where its documents come
from::

    register_keyword_index(
        app, SPEC, documents=material_documents, count=material_count,
        changed=changed_material_documents, key_field="course_id",
    )

Each callable reads through the session it is given (inside an app context): `documents(session)`
yields every document, `count(session)` says how many in advance, `changed(session, keys)` gives
the current documents of the logged keys (a key with none left is absent or maps to []).
`changes.synced_index(name)` opens an index for searching, brought up to date first;
`get_index(name)` opens it as it is.
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from ..features import registry
from .hybrid import HybridConfig
from .index import IndexManager, IndexSpec, SearchIndex

log = logging.getLogger(__name__)

_EXTENSION = "expertpool.search"
# session.info key: a bulk loader sets it so that features skip their per-commit index upkeep,
# then rebuilds (`flask embeddings rebuild`, `flask search reindex`). The value is the one
# `flask demo load` already sets for the experts' sync.
SKIP_SYNC = "skip_matching_sync"
CONFIG_PREFIX = "SEARCH_"
# Keys of HybridConfig read from app settings, e.g. SEARCH_FUSION, SEARCH_RRF_K.
HYBRID_KEYS = {f.name: f"{CONFIG_PREFIX}{f.name.upper()}" for f in fields(HybridConfig)}

Documents = Callable[[Session], Iterable[Mapping[str, Any]]]
Count = Callable[[Session], int]
Changed = Callable[[Session, list[str]], Mapping[str, Iterable[Mapping[str, Any]]]]


@dataclass(frozen=True)
class RegisteredIndex:
    """A keyword index a feature owns: its spec and the source of truth for rebuilding it."""

    spec: IndexSpec
    documents: Documents
    count: Count | None = None
    changed: Changed | None = None  # None: any logged change rebuilds the whole index
    key_field: str | None = None  # the field a logged key names (None: the id field)


def register_keyword_index(
    app: Flask,
    spec: IndexSpec,
    documents: Documents,
    count: Count | None = None,
    *,
    changed: Changed | None = None,
    key_field: str | None = None,
) -> None:
    """Declare (or replace) the app's index `spec.name`.

    `documents(session)` yields every document the index should hold; `count(session)`, if
    given, says how many in advance so the rebuild's progress bar has a total;
    `changed(session, keys)` re-reads the documents of the keys a job logged
    (`changes.record_changes`); `key_field` is the field those keys name (a filter field when
    one key covers several documents, e.g. a course's passages).
    """
    registry(app, "keyword_indexes")[spec.name] = RegisteredIndex(
        spec, documents, count, changed, key_field
    )


def registered_indexes(app: Flask | None = None) -> dict[str, RegisteredIndex]:
    return registry(app or current_app, "keyword_indexes")


# -- the app's indexes ---------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Register `flask search`; the index manager is created on first use."""
    app.config.setdefault("SEARCH_INDEX_DIR", f"{app.instance_path}/search")
    app.cli.add_command(search_cli)


def get_index_manager(app: Flask | None = None) -> IndexManager:
    """The app's `IndexManager` at SEARCH_INDEX_DIR, one per app (each holds open searchers)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    manager = app.extensions.get(_EXTENSION)
    if manager is None:
        manager = IndexManager(
            app.config["SEARCH_INDEX_DIR"],
            lock_timeout=float(app.config.get("SEARCH_LOCK_TIMEOUT", 10.0)),
        )
        app.extensions[_EXTENSION] = manager
    return manager


def forget_index_manager(app: Flask) -> None:
    """Close the app's open indexes and drop its manager: the index folder was replaced."""
    manager = app.extensions.pop(_EXTENSION, None)
    if manager is not None:
        manager.close()


def get_index(name: str, app: Flask | None = None) -> SearchIndex:
    """The registered index `name` of the app (KeyError if no feature registered it)."""
    return get_index_manager(app).index(registered_indexes(app)[name].spec)


def hybrid_config(app: Flask | None = None, **overrides: Any) -> HybridConfig:
    """HybridConfig from the app's SEARCH_* settings; `overrides` are the caller's fixed choices.

    Settings given as environment variables arrive as text, so numbers are converted here.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    types_ = typing.get_type_hints(HybridConfig)
    values = {
        name: _coerce(types_[name], app.config[key])
        for name, key in HYBRID_KEYS.items()
        if key in app.config
    }
    return HybridConfig.from_mapping(values | overrides)


def _coerce(hint: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    options = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) else {hint}
    text = value.strip()
    if type(None) in options and text.lower() in ("", "none", "null"):
        return None
    for kind in (int, float):
        if kind in options:
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def index_exists(index: SearchIndex) -> bool:
    return index.current_generation() is not None


def rebuild_index(name: str, app: Flask | None = None, *, progress: bool | None = None) -> int:
    """Rebuild `name` from its feature's documents, here now and on every other app host at its
    next search (a "rebuild" entry in the change log); returns the number of documents."""
    from ...db import db
    from .changes import request_rebuild, sync

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _context_of(app):
        request_rebuild(db.session, name, apply_here=False)
        db.session.commit()
        return sync(name, app, force=True, progress=progress).documents


@contextmanager
def _context_of(app: Flask) -> Iterator[None]:
    """`app`'s context: the current one if it is `app`'s, else a new one."""
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        yield
        return
    with app.app_context():
        yield


# -- flask search ----------------------------------------------------------------------------

_SYNC_WORDS = {
    "current": "up to date",
    "applied": "brought up to date",
    "busy": "being updated by another process",
}

search_cli = AppGroup("search", help="Keyword search indexes (derived from the database).")


@search_cli.command("reindex")
@click.option("--index", "names", multiple=True, help="Only this index (repeatable).")
@click.option(
    "--if-missing",
    is_flag=True,
    help="Only build indexes this host lacks; bring the others up to date with the database.",
)
@click.option("--background", is_flag=True, help="Hand the rebuild to a job worker and return.")
@with_appcontext
def reindex_command(names: tuple[str, ...], if_missing: bool, background: bool) -> None:
    """Rebuild search indexes from the database (here, and on every other app host)."""
    known = registered_indexes()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise click.BadParameter(
            f"unknown index {', '.join(unknown)}; known: {', '.join(sorted(known)) or '-'}",
            param_hint="--index",
        )
    if background:
        from ..jobs.cli import start_in_background

        start_in_background("search.reindex", {"names": sorted(names)}, "search reindex")
        return
    from .changes import sync

    for name in names or sorted(known):
        if if_missing:  # builds what is missing and brings the rest up to date
            result = sync(name, force=True, progress=True)
            if result.action == "rebuilt":
                click.echo(f"{name}: {result.documents} documents indexed")
            else:
                count = get_index(name).doc_count()
                click.echo(f"{name}: exists ({count} documents), {_SYNC_WORDS[result.action]}")
            continue
        count = rebuild_index(name, progress=True)
        click.echo(
            f"{name}: {count} documents indexed (other app hosts rebuild at their next search)"
        )


@search_cli.command("status")
@with_appcontext
def status_command() -> None:
    """Documents per index, against what the database holds now."""
    from ...db import db
    from .changes import state

    manager = get_index_manager()
    click.echo(f"index folder: {manager.root}")
    known = registered_indexes()
    if not known:
        click.echo("no search indexes registered")
    for name in sorted(known):
        index = get_index(name)
        source = known[name]
        expected = source.count(db.session) if source.count else None
        if not index_exists(index):
            click.echo(
                f"  {name:<20} missing: built at the first search, or `flask search reindex`"
            )
            continue
        line = f"  {name:<20} {index.current_generation()}  {index.doc_count():>8} documents"
        if expected is not None:
            mark = "" if expected == index.doc_count() else "  (out of date: reindex)"
            line += f"  ({expected} in the database){mark}"
        version, epoch = state(db.session, name)
        mark = index.read_mark() or {}
        held = mark.get("version") if mark.get("epoch") == epoch else None
        line += (
            f"  change log: version {version}, this host holds {held if held is not None else '-'}"
        )
        click.echo(line)
