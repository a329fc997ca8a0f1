"""The fuzz suite's site (one per session: the demo data takes ~40 s to load) and its session summary (cases sent per route).

Profiles (registered in tests/conftest.py): "fuzz" by default (20 examples per route, fixed
seed), `--hypothesis-profile=long` for a deeper random run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.fuzz.site import CASES, Site


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One xdist worker runs the whole suite: each module builds its site once."""
    for item in items:
        if "tests/fuzz/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("fuzz"))


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = Site(Path(tmp_path_factory.mktemp("fuzz")))
    yield built
    built.close()


@pytest.fixture(scope="session")
def fuzz_settings(pytestconfig: pytest.Config) -> settings:
    """The profile named with --hypothesis-profile, else "fuzz"."""
    return settings.get_profile(pytestconfig.getoption("hypothesis_profile", None) or "fuzz")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CASES:
        return
    by_class: dict[str, int] = {}
    for (_, status), n in CASES.items():
        by_class[status] = by_class.get(status, 0) + n
    routes = len({endpoint for endpoint, _ in CASES})
    terminalreporter.write_sep("-", "fuzz suite")
    terminalreporter.write_line(
        f"{sum(by_class.values())} requests to {routes} endpoints: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items()))
    )
