"""The declared layer order is enforced, and features plug in only through their front door."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import expertpool

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the code and its import contracts, to break on purpose."""
    for package in ("expertpool", "courses"):
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "translations", "templates", "static"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")


def test_the_layer_contracts_hold_on_this_tree(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "importer", "imported"),
    [
        # the core importing a feature
        (
            "expertpool.core.textlists",
            "from expertpool.experts import queries as _q",
            "expertpool.core.textlists",
            "expertpool.experts.queries",
        ),
        # a feature importing one above it, even inside a function
        (
            "expertpool.experts.queries",
            "def _late():\n    from expertpool.reviews import operations  # noqa",
            "expertpool.experts.queries",
            "expertpool.reviews.operations",
        ),
        # the training feature (outside expertpool/) importing submissions
        (
            "courses.constants",
            "import expertpool.submissions.models",
            "courses.constants",
            "expertpool.submissions.models",
        ),
        # the pure assignment core importing the database layer
        (
            "expertpool.core.assignment.panel",
            "from expertpool.db import db",
            "expertpool.core.assignment.panel",
            "expertpool.db",
        ),
    ],
)
def test_an_import_against_the_layer_order_fails_the_lint(
    tree: Path, module: str, statement: str, importer: str, imported: str
) -> None:
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert f"{importer} -> {imported}" in result.stdout


def test_the_factory_initialises_features_in_layer_order() -> None:
    position = {name: i for i, layer in enumerate(_layers()) for name in layer}
    ranks = [position[feature.__name__] for feature in expertpool.FEATURES]
    # layers are listed top first: the factory starts at the bottom and climbs
    assert ranks == sorted(ranks, reverse=True)
    assert {f.__name__ for f in expertpool.FEATURES} == {
        name for layer in _layers()[:-2] for name in layer if name != "expertpool.models"
    }


def test_importing_every_module_registers_nothing() -> None:
    """Session listeners and event receivers appear only when a feature's init_app runs."""
    script = """
import importlib, pkgutil, sys
from sqlalchemy import event
from sqlalchemy.orm import Session
import expertpool, courses
from expertpool.core import signals

for package in (expertpool, courses):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)

from sqlalchemy.orm.events import SessionEvents
ours = []
for name in dir(SessionEvents):
    if not name.startswith("_"):
        listeners = getattr(Session.dispatch, name, None)
        for fn in [f for fns in getattr(listeners, "_clslevel", {}).values() for f in fns]:
            if getattr(fn, "__module__", "").startswith(("expertpool", "courses")):
                ours.append(f"{name}:{fn.__module__}.{fn.__name__}")
receivers = [s.name for s in signals.events.values() if s.receivers]
print(ours, receivers)
sys.exit(1 if ours or receivers else 0)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_app_connects_the_listeners_and_receivers(app) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from courses.search import index as material_index
    from expertpool.core import audit, signals
    from expertpool.core.search import changes
    from expertpool.experts import tracking
    from expertpool.matching import snapshot
    from expertpool.reviews import operations as review_ops

    assert event.contains(Session, "after_flush", audit._collect)
    assert event.contains(Session, "after_flush", tracking._note_changes)
    assert event.contains(Session, "before_commit", material_index._stage)
    assert event.contains(Session, "after_commit", changes._apply_after_commit)
    assert event.contains(Session, "after_flush", snapshot._note_flush)
    assert event.contains(Session, "before_commit", snapshot._bump_before_commit)
    assert signals.expert_files_changed.has_receivers_for(object())
    receivers = {r() for r in signals.submission_withdrawn.receivers.values()}
    assert review_ops.on_submission_withdrawn in receivers
