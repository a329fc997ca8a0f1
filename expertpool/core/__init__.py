"""The shared core: access control, audit log, events, search, embeddings, backups, shared rules.

The core knows no feature: features import it, never the other way round (`.importlinter`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The core's front door, run before any feature's: its listeners, CLI and template globals."""
    from . import (
        audit,
        auditing,
        backup_views,
        bulk,
        embeddings,
        errorpages,
        exports,
        features,
        forking,
        jobs,
        maintenance,
        pagination,
        pii,
        requests,
        staging,
    )
    from .backup_cli import backup_cli
    from .embeddings import store
    from .search import app as search
    from .search import changes as search_changes

    requests.init_app(app)  # first: the `int` converter every feature's id routes use
    forking.track(app)
    pii.init_app(app)
    audit.connect()
    bulk.connect()
    staging.connect()
    store.connect_listeners()
    search_changes.connect_listeners()
    embeddings.init_app(app)
    search.init_app(app)
    features.init_app(app)
    jobs.init_app(app)
    maintenance.init_app(app)
    exports.init_app(app)
    errorpages.init_app(app)
    auditing.init_app(app)
    app.register_blueprint(backup_views.bp)
    app.jinja_env.globals["page_window"] = pagination.page_window
    app.cli.add_command(backup_cli)
