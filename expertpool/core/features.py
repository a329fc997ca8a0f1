"""How a feature plugs into the app: one front door, `init_app(app)`, and what it may register.

Every feature package (`expertpool.accounts`, ..., `courses`) exposes `init_app(app)`; the app
factory calls them in the order of `expertpool.FEATURES`, which is the layer order
(see `.importlinter`). Nothing registers itself by being imported: a feature's `init_app`
registers its blueprint, CLI group, session listeners, signal receivers, search and embedding
sources, demo loader and what it shows on other features' pages (`contribute`), using the functions here and in `core.search.app` / `core.embeddings`.

Registries live on the app (`app.extensions`), so two apps in one process (the tests build many)
never see each other's registrations. SQLAlchemy's session events are the exception: they attach
to the `Session` class, process-wide, so `listen` attaches each function once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

# (session, acting administrator, show progress) -> None
DemoLoader = Callable[[Session, Any, bool], None]


def registry(app: Flask, name: str) -> dict[str, Any]:
    """The app's registry `name` (insertion-ordered: features register in layer order)."""
    return app.extensions.setdefault(f"expertpool.{name}", {})


def listen(identifier: str, fn: Callable[..., Any], target: Any = Session) -> None:
    """Attach a session event handler once per process (init_app runs once per app)."""
    if not event.contains(target, identifier, fn):
        event.listen(target, identifier, fn)


# -- demo data -------------------------------------------------------------------------------


def register_demo_loader(app: Flask, name: str, loader: DemoLoader) -> None:
    """`flask demo load` calls `loader(session, admin, progress)` after the experts are in.

    Loaders run in registration order, i.e. layer order: a feature's demo data may rely on the
    demo data of the features below it (reviews' history needs the submissions').
    """
    registry(app, "demo_loaders")[name] = loader


def demo_loaders(app: Flask | None = None) -> list[DemoLoader]:
    return list(registry(app or current_app, "demo_loaders").values())


# -- slots: what a feature shows on another feature's page ---------------------------------------


def contribute(app: Flask, slot: str, provider: Callable[[Any], Any]) -> None:
    """Add `provider(obj)` to the named slot of a page another feature owns.

    The owner declares its slots and what a provider returns (see `slot_values`); e.g. the
    experts feature's `experts.file.sections` takes `(template, context)` sections, which is how
    `courses` adds the training records to the expert's technical file without the experts
    templates knowing the courses feature. A provider returns None to add nothing.
    """
    providers = registry(app, "slots").setdefault(slot, [])
    if provider not in providers:
        providers.append(provider)


def slot_values(slot: str, obj: Any) -> list[Any]:
    """What each provider of `slot` contributes for `obj`, in registration (layer) order."""
    providers = registry(current_app, "slots").get(slot, [])
    return [value for value in (p(obj) for p in providers) if value is not None]


def init_app(app: Flask) -> None:
    """Templates render a slot as `{% for x in slot_values('name', obj) %}`."""
    app.jinja_env.globals["slot_values"] = slot_values
