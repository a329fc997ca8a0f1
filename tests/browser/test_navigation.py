"""No dead ends: every page a role may use is reachable by following links from its home page.

A crawler signs in as each demo role in the browser, then follows the links (and GET forms)
of every rendered page, starting at `/`, and maps each address to its route. Every GET route the
role's access declaration admits must be reached, except the few listed below with the reason
nobody reaches them by clicking.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from expertpool.core.access import AUTHENTICATED, PUBLIC, access_of
from tests.browser.conftest import DEMO_LOGINS

# Routes that are not pages a signed-in person navigates to, and why.
NOT_NAVIGATED = {
    "static": "assets",
    "main.health": "monitoring probe",
    "accounts.login": "for signed-out visitors",
    "accounts.register": "for signed-out visitors",
    "api.experts": "JSON for other systems",
    "api.expert": "JSON for other systems",
}
PAGES_PER_ROUTE = 25  # instances of one route worth following (different objects)
MAX_FETCHES = 800
# Where a page points at another address: links, GET forms, and embedded media and images.
_TARGETS = {
    "a": "href",
    "area": "href",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
    "track": "src",
}


class _Links(HTMLParser):
    """Addresses a page links to, embeds, or sends a GET form to."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        attribute = _TARGETS.get(tag)
        if attribute and values.get(attribute):
            self.targets.append(values[attribute])
        if tag == "form" and (values.get("method") or "get").lower() == "get":
            self.targets.append(values.get("action") or "")


def _allowed_routes(app: Any, roles: set[str]) -> set[str]:
    wanted = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_NAVIGATED:
            continue
        access = access_of(app.view_functions[rule.endpoint]) or frozenset()
        if access & ({PUBLIC, AUTHENTICATED} | roles):
            wanted.add(rule.endpoint)
    return wanted


def crawl(request_context: Any, server: Any) -> tuple[set[str], list[str]]:
    """Routes reached from `/` by links, and the pages that answered with an error.

    Breadth first, with the first page of each route ahead of further pages of routes already
    seen, so a bounded crawl reaches every route before it wanders through every lesson.
    """
    adapter = server.app.url_map.bind("127.0.0.1")
    first, more = deque(["/"]), deque()
    queued = {"/"}
    per_route: dict[str, int] = {}
    reached: set[str] = set()
    errors: list[str] = []
    fetches = 0
    while (first or more) and fetches < MAX_FETCHES:
        path = (first or more).popleft()
        response = request_context.get(server.url + path, max_redirects=0)
        fetches += 1
        if response.status >= 400:
            errors.append(f"{path} -> {response.status}")
            continue
        if "text/html" not in response.headers.get("content-type", "") or response.status >= 300:
            continue
        parser = _Links()
        parser.feed(response.text())
        for target in parser.targets:
            url = urlsplit(urljoin(server.url + path, target))
            if f"{url.scheme}://{url.netloc}" != server.url or not url.path:
                continue
            try:
                endpoint, _ = adapter.match(url.path, method="GET")
            except HTTPException:
                errors.append(f"{path} links to unknown {url.path}")
                continue
            reached.add(endpoint)
            follow = url.path + (f"?{url.query}" if url.query else "")
            count = per_route.get(endpoint, 0)
            if follow in queued or count >= PAGES_PER_ROUTE:
                continue
            per_route[endpoint] = count + 1
            queued.add(follow)
            (more if count else first).append(follow)
    return reached, errors


@pytest.mark.parametrize("role", ["trainee", "expert", "admin"])
def test_every_page_of_a_role_is_reachable_from_its_home(journey: Any, role: str) -> None:
    journey.sign_in_as(role)
    server = journey.server
    with server.app_context():
        from sqlalchemy import select

        from expertpool.accounts.models import User
        from expertpool.db import db

        user = db.session.scalar(select(User).where(User.username == DEMO_LOGINS[role][0]))
        roles = set(user.roles)
    reached, errors = crawl(journey.page.context.request, server)
    missing = sorted(_allowed_routes(server.app, roles) - reached)
    assert not errors, errors
    assert not missing, f"{role} cannot reach by links: {missing}"
