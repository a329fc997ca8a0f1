"""Real-browser tests: Debian's Chromium driven by Playwright against a live server of the app.

One server per test session, set up the way `make run` sets up a machine (migrations, demo data,
embeddings, search indexes) in a throwaway instance folder, served by Werkzeug in a thread. Each
test gets a fresh browser context (no cookies), so journeys start signed out at the login page.

Every page a journey visits is photographed into `artifacts/browser/<test>/` and checked with
axe-core (WCAG 2.1 A/AA rules); a failing test keeps its last screenshot there as well.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "artifacts" / "browser"))
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags for a root user on a closed network: no sandbox (root), no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
DEMO_EXPERTS = 120  # enough for every list, chart and match; the full 320 only slows set-up

DEMO_LOGINS = {
    "admin": ("admin", "Demo-2026!pool"),
    "expert": ("expert1", "Demo-2026!expert"),
    "trainee": ("tech_li", "Demo-2026!tech"),  # one course done, one under way
    # separation of duties (三员分立): one demo account per duty role
    "sysadmin": ("sysadmin", "Demo-2026!system"),
    "secadmin": ("secadmin", "Demo-2026!security"),
    "auditor": ("auditor", "Demo-2026!audit"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """All browser tests share one server: keep them on one xdist worker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@dataclass
class LiveServer:
    app: Flask
    url: str

    def app_context(self) -> Any:
        return self.app.app_context()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    from expertpool import create_app

    instance = tmp_path_factory.mktemp("browser-instance")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{instance / 'app.db'}",
            "SECRET_KEY": "browser-test-secret",
            "EMBEDDING_MODEL": "hashing",
            "JOBS_EAGER": True,  # jobs run right after the commit that adds them
            "RATELIMIT_ENABLED": False,
        },
        instance_path=str(instance),
    )
    runner = app.test_cli_runner()
    with app.app_context():
        upgrade()
    for args in (
        ["demo", "load", "--experts", str(DEMO_EXPERTS)],
        ["embeddings", "rebuild"],
        ["search", "reindex"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, url)
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(or set CHROMIUM to a Chromium binary)"
        )
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # the folder shows the latest run only
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class Journey:
    """A person's walk through the app: every page seen is photographed and checked by axe."""

    page: Any
    server: LiveServer
    folder: Path
    shots: int = 0
    problems: list[str] = field(default_factory=list)
    seen_urls: list[str] = field(default_factory=list)
    locale: str = "zh_CN"
    dialogs: list[str] = field(default_factory=list)

    def t(self, message: str, **values: Any) -> str:
        """`message` as the interface shows it in the journey's language (from the catalogue)."""
        from flask_babel import force_locale, gettext

        with self.server.app.test_request_context(), force_locale(self.locale):
            return gettext(message, **values)

    def text(self, lazy: Any) -> str:
        """A lazily translated label (an enumeration's) as the interface shows it."""
        from flask_babel import force_locale

        with self.server.app.test_request_context(), force_locale(self.locale):
            return str(lazy)

    def button(self, message: str, **values: Any) -> Any:
        return self.page.get_by_role("button", name=self.t(message, **values), exact=True)

    def link(self, message: str, **values: Any) -> Any:
        return self.page.get_by_role("link", name=self.t(message, **values), exact=True)

    def menu(self, menu: str, item: str) -> None:
        """Open a menu of the navigation bar and follow one of its items."""
        navigation = self.page.get_by_role("navigation").first
        navigation.get_by_role("button", name=self.t(menu), exact=True).click()
        self.click(navigation.get_by_role("link", name=self.t(item), exact=True))

    def use_english(self) -> None:
        """Switch the interface language with the navigation bar's selector, as a person would."""
        with self.page.expect_navigation():
            self.page.get_by_label(self.t("Language")).select_option("en")
        self.locale = "en"
        self.seen()

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path)
        self.seen()

    def click(self, locator: Any) -> None:
        """Click something that loads a new page, then check that page."""
        with self.page.expect_navigation():
            locator.click()
        self.seen()

    def click_and_confirm(self, locator: Any, expect: str | None = None) -> str:
        """Click an irreversible action, read the confirmation dialog it opens, and confirm.

        Returns what the dialog said; `expect`, if given, must be part of it.
        """
        locator.click()
        dialog = self.page.get_by_role("alertdialog")
        dialog.wait_for(state="visible")
        said = dialog.inner_text()
        if expect is not None:
            assert expect in said, said
        self.seen("confirm")
        with self.page.expect_navigation():
            dialog.locator("[data-role=ok]").click()
        self.seen()
        return said

    def seen(self, label: str | None = None) -> None:
        """Photograph the current page and run the accessibility rules on it."""
        self.page.wait_for_load_state("load")
        self.seen_urls.append(self.page.url)
        self.photo(label)
        for violation in self.axe():
            self.problems.append(
                f"{self.page.url}: {violation['impact']} {violation['id']} — "
                f"{violation['help']} at {violation['nodes']}"
            )

    def photo(self, label: str | None = None) -> Path:
        self.shots += 1
        name = label or _slug(self.page.url.removeprefix(self.server.url))
        path = self.folder / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """Serious or critical WCAG 2.1 A/AA violations on the current page."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        found = self.page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {
                    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }""",
            WCAG_TAGS,
        )
        return [v for v in found if v["impact"] in BLOCKING_IMPACTS]

    def sign_in(self, username: str, password: str) -> None:
        self.goto("/login")
        self.page.locator("input[name=username]").fill(username)
        self.page.locator("input[name=password]").fill(password)
        self.click(self.page.locator("main form").get_by_role("button"))

    def sign_in_as(self, role: str) -> None:
        self.sign_in(*DEMO_LOGINS[role])

    def assert_clean(self) -> None:
        """No accessibility violation, script error or CSP refusal on any page seen."""
        assert not self.problems, "\n".join(self.problems)


def _slug(path: str, limit: int = 60) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")[:limit] or "home"


@pytest.fixture
def journey(
    request: pytest.FixtureRequest, chromium: Any, live_server: LiveServer
) -> Iterator[Journey]:
    folder = ARTIFACTS / _slug(request.node.name, limit=200)  # parameters tell tests apart
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # Reduced motion: charts are drawn at once, so each photograph shows the finished page.
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", reduced_motion="reduce"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    walk = Journey(page, live_server, folder)
    # A browser's own confirm() box, if a page still uses one, is answered "OK" like a person
    # who read it; the text is kept so a test can check what the person was asked.
    page.on("dialog", lambda dialog: (walk.dialogs.append(dialog.message), dialog.accept()))
    page.on("pageerror", lambda error: walk.problems.append(f"{page.url}: script error {error}"))
    page.on(
        "console",
        lambda msg: (
            walk.problems.append(f"{page.url}: console {msg.type}: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    yield walk
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        walk.photo("failure")
        (folder / "failure.json").write_text(
            json.dumps({"url": page.url, "seen": walk.seen_urls}, ensure_ascii=False, indent=1)
        )
    context.close()
