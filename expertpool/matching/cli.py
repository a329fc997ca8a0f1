"""`flask match ...`: OpenReview-format affinities and assignment CSV export/import."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
from flask.cli import AppGroup
from tqdm import tqdm

from ..core import audit
from ..db import db

match_cli = AppGroup("match", help="Expert matching: affinities, assignments.")


@match_cli.command("affinity")
@click.option(
    "--archives",
    "archives_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of ~<reviewer id>.jsonl files (one paper per line).",
)
@click.option(
    "--submissions",
    "submissions_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON list (or object keyed by id) of submissions.",
)
@click.option("--output", "output_file", required=True, type=click.Path(path_type=Path))
@click.option(
    "--aggregation",
    type=click.Choice(["mean_top_k", "max", "softmax"]),
    default=None,
    help="Per-reviewer aggregation of paper scores [default: MATCH_AGGREGATION].",
)
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="[default: MATCH_TOP_K]")
@click.option("--no-keyword", is_flag=True, help="Leave out the keyword (BM25F) part.")
@click.option("--no-semantic", is_flag=True, help="Leave out the semantic (embedding) part.")
@click.option(
    "--no-centroid",
    is_flag=True,
    help="Semantic part from the best papers only, without each reviewer's centroid "
    "[default: MATCH_CENTROID_WEIGHT].",
)
def affinity_command(
    archives_dir: Path,
    submissions_file: Path,
    output_file: Path,
    aggregation: str | None,
    top_k: int | None,
    no_keyword: bool,
    no_semantic: bool,
    no_centroid: bool,
) -> None:
    """Compute {reviewer: {submission: score}} in OpenReview's expertise format, with the
    application's scoring (semantic + keyword; categories and specialties do not apply)."""
    from dataclasses import replace

    from flask import current_app

    from ..core.embeddings.store import calibration_vectors, get_store
    from . import openreview
    from .scoring import ScoringConfig

    if no_keyword and no_semantic:
        raise click.ClickException("--no-keyword and --no-semantic together leave nothing to score")
    try:
        archives = openreview.read_archives(archives_dir)
        submissions = openreview.read_submissions(submissions_file)
    except openreview.FormatError as exc:
        raise click.ClickException(str(exc)) from exc
    cfg = ScoringConfig.from_mapping(current_app.config)
    cfg = replace(cfg, aggregation=aggregation or cfg.aggregation, top_k=top_k or cfg.top_k)
    if no_centroid:
        cfg = replace(cfg, centroid_weight=0.0)
    store = get_store()
    calibration = calibration_vectors(store.encoder) if store.fairness else None
    papers = sum(len(p) for p in archives.values())
    click.echo(f"{len(archives)} reviewers, {papers} papers, {len(submissions)} submissions")
    with tqdm(total=len(submissions), desc="submissions", unit="sub") as bar:
        try:
            scores = openreview.affinity(
                archives,
                submissions,
                store.encoder,
                calibration,
                cfg,
                progress=bar.update,
                semantic=not no_semantic,
                keyword=not no_keyword,
            )
        except ValueError as exc:  # e.g. the part left on is weighted 0 in the settings
            raise click.ClickException(str(exc)) from exc
    output_file.write_text(json.dumps(scores, ensure_ascii=False, indent=1), "utf-8")
    click.echo(f"Wrote {output_file}")


@match_cli.command("export-assignments")
@click.argument("output_file", type=click.Path(path_type=Path))
@click.option("--round", "round_id", type=int, default=None)
def export_assignments(output_file: Path, round_id: int | None) -> None:
    """Write assignments as CSV (submission, expert, role, rank, affinity, status, due date)."""
    from .assignments_csv import export_csv

    output_file.write_bytes(export_csv(db.session, round_id))
    db.session.commit()  # the export's audit row
    click.echo(f"Wrote {output_file}")


@match_cli.command("import-assignments")
@click.argument("input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-user", "username", required=True, help="The administrator responsible.")
@click.option("--dry-run", is_flag=True)
def import_assignments(input_file: Path, username: str, dry_run: bool) -> None:
    """Create panels from a CSV (same columns as the export); all rows or none."""
    from sqlalchemy import select

    from ..accounts.models import User
    from .assignments_csv import commit, parse

    actor = db.session.scalar(select(User).where(User.username == username))
    if actor is None or not actor.is_admin:
        raise click.ClickException(f"{username}: no such administrator")
    plan, errors = parse(db.session, io.StringIO(input_file.read_text("utf-8-sig")))
    for error in errors:
        click.echo(f"  {error}", err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} errors: nothing imported")
    if dry_run:
        click.echo(f"{sum(len(m) + len(a) for m, a in plan.values())} rows valid (dry run)")
        return
    audit.set_actor(db.session, actor, note=f"import {input_file.name}")
    created = commit(db.session, actor, plan)
    db.session.commit()
    click.echo(f"{len(created)} assignments created")
