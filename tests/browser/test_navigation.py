"""No dead ends: every page a role may use is reachable by following links from its home page.

A crawler signs in as each demo role in the browser, then follows the links (and GET forms)
of every rendered page, starting at `/`, and maps each address to its route. Every GET route the
role's access declaration admits must be reached, except the few listed below with the reason
nobody reaches them by clicking.
"""

from __future__ import annotations

import heapq
import itertools
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from expertpool.core.access import AUTHENTICATED, PUBLIC, access_of
from tests.browser.conftest import DEMO_LOGINS

# Routes that are not pages a signed-in person navigates to, and why.
NOT_NAVIGATED = {
    "static": "assets",
    "main.health": "monitoring probe",
    "main.ready": "monitoring probe",
    "accounts.login": "for signed-out visitors",
    "accounts.register": "for signed-out visitors",
    "api.experts": "JSON for other systems",
    "api.expert": "JSON for other systems",
    "jobs.progress": "JSON a progress bar polls (static/js/jobs.js), not a page",
    "experts.import_job": "the redirect after confirming a large import (a POST) leads there",
    "experts.import_publications_job": "the redirect after confirming a large import leads there",
    "submissions.import_job": "the redirect after confirming a large import (a POST) leads there",
    "courses.admin_import_job": "the redirect after uploading course folders (a POST) leads there",
    "exports.status": "the redirect after asking for a large export (a POST) leads there",
    "exports.download": "linked from exports.status once the file is ready",
}
# Per role: a route that role may open but reaches under another address, and why.
SAME_PAGE_ELSEWHERE = {
    "expert": {"experts.edit": "an expert's own file is /me/file, the same page, in their menu"},
}
PAGES_PER_ROUTE = 250  # instances of one route worth following (different objects)
MAX_FETCHES = 2000
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


def _allowed_routes(app: Any, roles: set[str], role: str) -> set[str]:
    wanted = set()
    elsewhere = SAME_PAGE_ELSEWHERE.get(role, {})
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_NAVIGATED:
            continue
        if rule.endpoint in elsewhere:
            continue
        access = access_of(app.view_functions[rule.endpoint]) or frozenset()
        if access & ({PUBLIC, AUTHENTICATED} | roles):
            wanted.add(rule.endpoint)
    return wanted


def crawl(request_context: Any, server: Any, wanted: set[str]) -> tuple[set[str], list[str]]:
    """Routes reached from `/` by links, and the pages that answered with an error.

    The least-visited route's pages come first (a page of a route not yet seen before a tenth
    lesson), and the crawl stops once every wanted route is reached.
    """
    adapter = server.app.url_map.bind("127.0.0.1")
    order = itertools.count()
    queue: list[tuple[int, int, str]] = [(0, next(order), "/")]
    queued = {"/"}  # paths, without their query
    per_route: dict[str, int] = {}
    reached: set[str] = set()
    errors: list[str] = []
    fetches = 0
    while queue and fetches < MAX_FETCHES and not wanted <= reached:
        _, _, path = heapq.heappop(queue)
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
            # One page per address: filter, sort and page variants of a list add no new links.
            follow = url.path + (f"?{url.query}" if url.query else "")
            count = per_route.get(endpoint, 0)
            if url.path in queued or count >= PAGES_PER_ROUTE:
                continue
            per_route[endpoint] = count + 1
            queued.add(url.path)
            heapq.heappush(queue, (count, next(order), follow))
    return reached, errors


def give_a_history(server: Any, username: str) -> set[str]:
    """What a person who has used the platform has: a course under way, a quiz attempt handed
    in, and for an administrator a review round proposed. Returns the person's roles."""
    from courses import operations as ops
    from courses import queries
    from courses.demo import right_answers
    from courses.models import Course
    from expertpool.accounts.models import User
    from expertpool.core import audit
    from expertpool.db import db

    with server.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        audit.set_actor(db.session, user)
        basics = db.session.scalar(select(Course).where(Course.slug == "a-rm-basics"))
        enrollment = _enrollment(db.session, user, basics) or ops.enrol(db.session, user, basics)
        if not enrollment.is_completed:  # lessons, a failed attempt, then a pass
            for lesson in basics.lessons:
                ops.mark_done(db.session, enrollment, lesson)
            for answers in ({}, None):
                attempt = ops.start_attempt(db.session, enrollment)
                if answers is None:
                    answers = right_answers(queries.questions_of(db.session, attempt))
                ops.submit_attempt(db.session, attempt, answers)
        taken = {e.course_id for e in queries.enrollments_of(db.session, user.id)}
        started = next(
            c
            for c in db.session.scalars(select(Course).order_by(Course.slug))
            if c.is_published
            and c.id not in taken
            and [p.slug for p in c.prerequisites] == [basics.slug]
        )
        enrollment = ops.enrol(db.session, user, started)
        ops.mark_done(db.session, enrollment, started.lessons[0])
        if user.is_admin:
            _propose_a_round(db.session, user, server.app.config)
        db.session.commit()
        return set(user.roles)


def _enrollment(session: Any, user: Any, course: Any) -> Any:
    return next((e for e in learning_of(session, user) if e.course_id == course.id), None)


def learning_of(session: Any, user: Any) -> list[Any]:
    from courses import queries

    return queries.enrollments_of(session, user.id)


def _propose_a_round(session: Any, user: Any, config: Any) -> None:
    """A round over a submission of its own (other tests may have given every demo one a panel)."""
    from expertpool.matching import rounds
    from expertpool.reviews.eligibility import rules_from_config
    from expertpool.submissions.operations import create_submission

    submission = create_submission(
        session,
        user,
        {
            "kind": "rm_certification",
            "review_type": "new",
            "grade": "second",
            "title": "导航检查：水中硝酸盐氮标准溶液",
            "rm_name": "水中硝酸盐氮标准溶液",
            "category": 8,
            "analytes": ["硝酸盐氮"],
            "applicant_institution": "国家海洋环境监测中心",
        },
    )
    rounds.propose(session, user, "导航检查", [submission], rules_from_config(config))


@pytest.mark.parametrize("role", ["trainee", "expert", "admin", "sysadmin", "secadmin", "auditor"])
def test_every_page_of_a_role_is_reachable_from_its_home(journey: Any, role: str) -> None:
    server = journey.server
    roles = give_a_history(server, DEMO_LOGINS[role][0])
    journey.sign_in_as(role)
    wanted = _allowed_routes(server.app, roles, role)
    reached, errors = crawl(journey.page.context.request, server, wanted)
    missing = sorted(wanted - reached)

    assert not errors, errors
    assert not missing, f"{role} cannot reach by links: {missing}"
