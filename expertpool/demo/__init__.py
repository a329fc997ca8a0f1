"""The demo data set: `flask demo load` fills an empty database for `make run` and the tours.

This package loads institutions, accounts and experts; every other feature adds its own demo data
through a loader it registers in its `init_app` (`core.features.register_demo_loader`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The front door: `flask demo`."""
    from .cli import demo_cli

    app.cli.add_command(demo_cli)
