"""The site the fuzz suite attacks: the real app with the demo data, one client per role, a crawl.

`Site` builds the app once per test module (CSRF on, as in production), loads a small demo data
set (every feature's: experts, courses, submissions, reviews), signs in an administrator, an
expert and a trainee, and crawls the pages each of them can reach. The crawl gives, per endpoint,
real path values (ids and slugs that exist) and the forms that post to it (field names, defaults,
choices), so a new route or a new form field is fuzzed without editing this suite.

`Site.request` sends one request as a role and returns the response; it fails the test on a
server error and on a refused request (4xx) that changed the database (`PRAGMA data_version`
moves when another connection commits).
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, Rule

from expertpool import create_app
from expertpool.core.access import AUTHENTICATED, PUBLIC, access_of
from expertpool.db import db

# The business roles and the three duty roles (三员分立: each held by an account of its own).
ROLES = ("admin", "expert", "trainee", "sysadmin", "secadmin", "auditor")
ANONYMOUS = "anonymous"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _f(name: str, kind: str = "text", value: str = "") -> dict[str, Any]:
    return {"name": name, "kind": kind, "value": value, "options": [], "multiple": False}


# POST routes with neither a form the crawl finds nor a FlaskForm in the view: the fields they
# read (a page's script posts them, or they take nothing but the CSRF token).
SCRIPTED_POSTS: dict[str, list[dict[str, Any]]] = {
    "courses.lesson_position": [_f("position", "number", "12.5")],
    "jobs.cancel": [_f("next", "hidden")],
    "jobs.retry": [_f("next", "hidden")],
    "experts.export": [],
    "experts.import_commit": [_f("token", "hidden")],
    "experts.import_publications_commit": [_f("token", "hidden")],
    "submissions.import_commit": [_f("token", "hidden")],
    "courses.transcript_export": [],
    "courses.admin_learner_export": [],
    "assessment.export": [],
    "matching.retry_round": [_f("version", "hidden", "1")],
    "matching.cancel_round": [_f("version", "hidden", "1")],
    # buttons whose form carries nothing but the token (on pages the crawl may not reach)
    "accounts.end_my_session": [],
    "accounts.end_my_other_sessions": [],
    "accounts.end_user_sessions": [],
    "accounts.unlock_user": [],
    "audit.verify_start": [],
    "jobs.start": [],
}

# Every request the suite sent, by endpoint and status class (printed at the end of the session).
CASES: Counter[tuple[str, str]] = Counter()


def app_config(tmp: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp / 'fuzz.db'}",
        "SECRET_KEY": "fuzz-secret",
        "WTF_CSRF_ENABLED": True,  # as in production: every POST carries the form's token
        "RATELIMIT_ENABLED": False,
        "EMBEDDING_MODEL": "hashing",
        "JOBS_EAGER": True,
        "SERVER_NAME": "localhost",
        # No last-seen bookkeeping during the run: `PRAGMA data_version` then speaks of data only
        # (a refused request that touched its session's last-seen time is not a change).
        "SESSION_TOUCH_SECONDS": 10**9,
    }


def rules_of(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def methods_of(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def collection_app() -> Flask:
    """The real app, built at collection time only to read its url_map (no data)."""
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-routes-"))
    return create_app(app_config(tmp), instance_path=str(tmp / "instance"))


@dataclass
class Form:
    """A form found on a page: where it posts and its fields as the page renders them."""

    action: str
    fields: list[dict[str, Any]]


@dataclass
class Field:
    name: str
    kind: str  # text, textarea, select, checkbox, radio, file, hidden, number, date, ...
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False


class _PageParser(HTMLParser):
    """Links and forms of one HTML page (stdlib parser: tolerant, no dependency)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[tuple[str, str, dict[str, Field]]] = []
        self._form: dict[str, Field] | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {}
            self.forms.append((a.get("method", "get").lower(), a.get("action", ""), self._form))
        elif self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._select.options.append(a.get("value", ""))
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            old = self._form.get(a["name"])
            if old and kind in ("checkbox", "radio"):
                old.options.append(a.get("value", "on"))
                old.multiple = old.multiple or kind == "checkbox"
                return
            self._form[a["name"]] = Field(
                a["name"],
                kind,
                a.get("value", ""),
                [a.get("value", "on")] if kind in ("checkbox", "radio") else [],
            )
        elif tag == "select":
            self._select = Field(a["name"], "select", multiple="multiple" in a)
            self._form[a["name"]] = self._select
        elif tag == "textarea":
            self._textarea = Field(a["name"], "textarea")
            self._form[a["name"]] = self._textarea
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Site:
    def __init__(self, tmp: Path) -> None:
        self.app = create_app(app_config(tmp), instance_path=str(tmp / "instance"))
        self.db_path = tmp / "fuzz.db"
        with self.app.app_context():
            db.create_all()
            self.accounts = _load_demo()
            self.actor_ids = _user_ids([name for name, _ in self.accounts.values()])
        self.watch = sqlite3.connect(self.db_path)
        self.adapter: MapAdapter = self.app.url_map.bind("localhost")
        self.clients: dict[str, FlaskClient] = {ANONYMOUS: self.app.test_client()}
        self.tokens: dict[str, str] = {}
        for role in ROLES:
            self.clients[role] = self.app.test_client()
            self.login(role)
        # per endpoint: path values seen in links (real ids, slugs), forms posting there, and
        # query names its GET forms use
        self.samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.forms: dict[str, list[Form]] = defaultdict(list)
        self.query_names: dict[str, set[str]] = defaultdict(set)
        self.visited: dict[str, set[str]] = defaultdict(set)
        for role in (ANONYMOUS, *ROLES):
            self.crawl(role)

    # --- sessions ------------------------------------------------------------------------

    def login(self, role: str) -> None:
        client = self.clients[role]
        page = client.get("/login")
        if page.status_code == 302:  # still signed in: only the token may have changed
            self.tokens[role] = _token(client.get("/").text)
            return
        username, password = self.accounts[role]
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": _token(page.text)},
        )
        assert response.status_code == 302, f"{role} cannot sign in: {response.status_code}"
        self.tokens[role] = _token(client.get("/").text)

    def anonymous_token(self) -> str:
        """A CSRF token for the anonymous client (its session keeps the one it was given)."""
        if ANONYMOUS not in self.tokens:
            self.tokens[ANONYMOUS] = _token(self.clients[ANONYMOUS].get("/login").text)
        return self.tokens[ANONYMOUS]

    def roles_for(self, endpoint: str) -> list[str]:
        """Who may use `endpoint` (its access declaration): the roles the suite sends it as."""
        view = self.app.view_functions[endpoint]
        access = access_of(view) or frozenset({PUBLIC})
        if PUBLIC in access:
            return [ANONYMOUS, *ROLES]
        if AUTHENTICATED in access:
            return list(ROLES)
        return [r for r in ROLES if r in access]

    # --- the crawl -----------------------------------------------------------------------

    def match(self, url: str, method: str = "GET") -> tuple[str, dict[str, Any]] | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return None
        try:
            endpoint, args = self.adapter.match(parts.path, method=method)
        except HTTPException:
            return None
        return endpoint, args

    def crawl(self, role: str, per_endpoint: int = 3, limit: int = 400) -> None:
        """Visit the pages `role` reaches from the GET routes without arguments (breadth first)."""
        client = self.clients[role]
        queue = deque(r.rule for r in rules_of(self.app) if not r.arguments and "GET" in r.methods)
        seen: set[str] = set()
        visits: Counter[str] = Counter()
        while queue and len(seen) < limit:
            url = queue.popleft()
            found = self.match(url)
            if url in seen or found is None or found[0] == "static":
                continue
            endpoint, args = found
            if visits[endpoint] >= per_endpoint:
                continue
            seen.add(url)
            visits[endpoint] += 1
            response = client.get(url)
            response.close()  # a file download (evidence, attachments) holds its file open
            if response.status_code != 200:
                continue
            self.visited[role].add(endpoint)
            if args and args not in self.samples[endpoint]:
                self.samples[endpoint].append(args)
            if response.mimetype == "text/html":
                self._read_page(url, response.text, queue)

    def _read_page(self, url: str, html: str, queue: deque[str]) -> None:
        parser = _PageParser()
        parser.feed(html)
        for href in parser.links:
            queue.append(urljoin(url, href).split("#")[0].replace("http://localhost", ""))
        for method, action, fields in parser.forms:
            target = urljoin(url, action or url).replace("http://localhost", "")
            found = self.match(target, "POST" if method == "post" else "GET")
            if found is None:
                continue
            endpoint, args = found
            if method == "get":
                self.query_names[endpoint] |= {f for f in fields if f != "csrf_token"}
                continue
            if args and args not in self.samples[endpoint]:
                self.samples[endpoint].append(args)
            known = self.forms[endpoint]
            if len(known) < 4 and all(f.action != target for f in known):
                known.append(Form(target, [vars(f) for f in fields.values()]))

    def post_forms(self, endpoint: str) -> list[Form] | None:
        """The forms to fuzz `endpoint` with: found on pages, else its FlaskForm, else scripted."""
        if self.forms.get(endpoint):
            return self.forms[endpoint]
        fields = view_form_fields(self.app, endpoint)
        if fields is None:
            fields = SCRIPTED_POSTS.get(endpoint)
        return None if fields is None else [Form("", fields)]

    # --- requests ------------------------------------------------------------------------

    def request(self, role: str, method: str, url: str, endpoint: str, **kwargs: Any) -> Any:
        """Send one request as `role`; fail on a 5xx or on a 4xx that changed the database."""
        client = self.clients[role]
        if kwargs.get("content_type") == "multipart/form-data":
            kwargs = _encoded(kwargs)
        before = self._data_version()
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as exc:  # TESTING propagates the view's exception: that is a 500
            CASES[(endpoint, "5xx")] += 1
            raise AssertionError(f"500 from {method} {url!r} as {role}: {exc!r}") from exc
        response.get_data()  # read it all, then close it (a file sent from disk stays open)
        response.close()
        status = response.status_code
        CASES[(endpoint, f"{status // 100}xx")] += 1
        assert status < 500, f"{status} from {method} {url!r} as {role}"
        if 400 <= status < 500:
            assert self._data_version() == before, (
                f"{method} {url!r} as {role} was refused ({status}) but changed the database"
            )
        if role != ANONYMOUS and urlsplit(response.headers.get("Location", "")).path == "/login":
            self.login(role)  # the request signed the role out (logout): sign in again
        return response

    def _data_version(self) -> int:
        return self.watch.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self.watch.close()


def _encoded(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The multipart body encoded in memory: the test client spools a body over 500 KB to a
    temporary file it never closes (a ResourceWarning, an error under filterwarnings=error)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    def value(v: Any) -> Any:
        if isinstance(v, tuple):
            return FileStorage(stream=v[0], filename=v[1])
        return [value(x) for x in v] if isinstance(v, list) else v

    fields = {k: value(v) for k, v in (kwargs.get("data") or {}).items()}
    boundary, body = encode_multipart(fields)
    return {
        **kwargs,
        "data": body,
        "content_type": f"multipart/form-data; boundary={boundary}",
    }


def _token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def _user_ids(usernames: list[str]) -> set[int]:
    from sqlalchemy import select

    from expertpool.accounts.models import User

    return set(db.session.scalars(select(User.id).where(User.username.in_(usernames))))


def _load_demo() -> dict[str, tuple[str, str]]:
    """The demo data set (20 experts): its first administrator, expert and trainee, and the three
    duty accounts."""
    from expertpool.core import audit
    from expertpool.demo import loader

    audit.set_actor(db.session, None, note="fuzz demo data")
    result = loader.load(db.session, n_experts=20, progress=False)
    db.session.commit()
    accounts = {
        role: (result[key][0]["username"], result[key][0]["password"])
        for role, key in (("admin", "admins"), ("expert", "experts"), ("trainee", "trainees"))
    }
    for duty in result["duties"]:
        accounts[duty["role"]] = (duty["username"], duty["password"])
    return accounts


_KINDS = {
    "FileField": "file",
    "MultipleFileField": "file",
    "BooleanField": "checkbox",
    "SelectField": "select",
    "SelectMultipleField": "select",
    "RadioField": "radio",
    "IntegerField": "number",
    "DecimalField": "number",
    "FloatField": "number",
    "DateField": "date",
    "TextAreaField": "textarea",
    "HiddenField": "hidden",
    "PasswordField": "password",
}


def view_form_fields(app: Flask, endpoint: str) -> list[dict[str, Any]] | None:
    """The fields of the FlaskForm class the view builds (None when it builds none).

    The fallback for a POST route whose form the crawl found on no page (one shown only in a
    state the demo data lacks): the form class is found among the names the view's code uses.
    """
    from flask_wtf import FlaskForm

    view = app.view_functions[endpoint]
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    names = set(view.__code__.co_names)
    found: list[type] = []
    for name in names:
        obj = view.__globals__.get(name)
        candidates = [obj]
        if isinstance(obj, ModuleType):  # `forms.ReviewForm`
            candidates += [getattr(obj, n, None) for n in names]
        found += [c for c in candidates if isinstance(c, type) and issubclass(c, FlaskForm)]
    if not found:
        return None
    fields: dict[str, dict[str, Any]] = {}
    with app.test_request_context():
        for cls in found:
            try:
                form = cls(meta={"csrf": False})
            except TypeError:
                continue
            for f in form:
                choices = [
                    str(c[0]) for c in (getattr(f, "choices", None) or []) if isinstance(c, tuple)
                ]
                fields[f.name] = {
                    "name": f.name,
                    "kind": _KINDS.get(type(f).__name__, "text"),
                    "value": "" if f.data is None or isinstance(f.data, list) else str(f.data),
                    "options": choices,
                    "multiple": type(f).__name__ == "SelectMultipleField",
                }
    return list(fields.values())
