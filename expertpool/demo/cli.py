"""`flask demo load`: the demo data set used by `make run`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core import audit
from ..core.search.app import SKIP_SYNC
from ..db import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) when data exists.")
@click.option("--experts", "n_experts", default=320, show_default=True)
def load(if_empty: bool, n_experts: int) -> None:
    """Load demo institutions, experts, accounts and courses into an empty database."""
    from . import loader  # the data module is large: import it only when loading

    if not loader.is_empty(db.session):
        if if_empty:
            click.echo("Database already has data: demo data not loaded.")
            _print_accounts(loader.existing_demo_accounts(db.session))
            return
        raise click.ClickException(
            "The database is not empty; demo data is only loaded into an empty database."
        )
    audit.set_actor(db.session, None, note="demo data")
    # Embeddings and keyword indexes are built in bulk afterwards, with progress bars
    # (`flask embeddings rebuild`, `flask search reindex`), not expert by expert at commit.
    db.session.info[SKIP_SYNC] = True
    result = loader.load(db.session, n_experts=n_experts)
    db.session.commit()
    db.session.info.pop(SKIP_SYNC, None)
    click.echo(f"Loaded {result['expert_count']} experts.")
    click.echo("Next: `flask embeddings rebuild` and `flask search reindex` (make run does both).")
    _print_accounts(result)


def _print_accounts(result: dict) -> None:
    click.echo("\nDemo accounts (username / password):")
    groups = (
        ("administrator", "admins"),
        ("system admin", "duties:sysadmin"),
        ("security admin", "duties:secadmin"),
        ("auditor", "duties:auditor"),
        ("expert", "experts"),
        ("trainee", "trainees"),
    )
    for title, key in groups:
        key, _, role = key.partition(":")
        for item in result.get(key, []):
            if not role or item.get("role") == role:
                click.echo(f"  {title:<14} {item['username']:<16} {item['password']}")
