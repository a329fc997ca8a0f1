"""The virtual users of bench/load.py, in their own process: importing locust patches it (gevent).

    python bench/_load_users.py DRIVER.json SAMPLES.jsonl

DRIVER.json (written by bench/load.py): host, users, duration, think [min, max], mix, spawn_rate,
seed, accounts (the seed's accounts.json). Every user signs in first; the measured window opens
when all have (or after SIGN_IN_TIMEOUT_S), lasts `duration` seconds, and closes when the
requests started in it have answered. SAMPLES.jsonl: a first line of facts about the run, then
one line per request started in the window (bench/load.py `Sample`).

Each request is one click's: redirects are not followed by the client but requested by the
journey, as the browser would, without a pause; between clicks a user waits `think` seconds.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, task
from locust.env import Environment
from locust.exception import StopUser

# isort: split
from load import Form, form_to, parse_forms  # after locust: gevent patches first

SIGN_IN_TIMEOUT_S = 600.0
DRAIN_TIMEOUT_S = 300.0  # the window closes; requests still running get this long to answer
REDIRECTS = (301, 302, 303)

COURSE_QUERIES = [
    "标准物质定值",
    "均匀性检验",
    "稳定性研究",
    "测量不确定度评定",
    "计量溯源性",
    "有证标准物质证书",
    "基体标准物质",
    "审评要点",
    "homogeneity",
    "uncertainty budget",
    "ISO 17034",
    "定值 协作",
]
DECLINE_REASONS = ["审评期间出差，时间冲突。", "与申请单位有合作项目，主动回避。"]


class Run:
    """What all users of this process share: accounts, the window, the samples."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.accounts = cfg["accounts"]
        self.think = tuple(cfg["think"])
        self.given: Counter[str] = Counter()  # accounts handed out per role
        self.signed_in = 0
        self.login_failures = 0
        self.t0: float | None = None
        self.t_end: float | None = None
        self.in_flight = 0
        self.samples: list[dict[str, Any]] = []

    def account(self, role: str) -> tuple[int, str]:
        n = self.given[role]
        self.given[role] += 1
        names = self.accounts[role]
        return n, names[n % len(names)]

    def record(self, **sample: Any) -> None:
        started = sample.pop("started")
        if self.t0 is None or started < self.t0 or (self.t_end and started >= self.t_end):
            return
        self.samples.append({**sample, "at": round(started - self.t0, 3)})


RUN: Run


def _path(url: str) -> str:
    return urlsplit(url).path


def page_name(path: str) -> str:
    """The journey step a followed redirect lands on."""
    rules = [
        (r"^/courses/[^/]+/lessons/\d+$", "lesson"),
        (r"^/courses/[^/]+/quiz/attempts/\d+$", "quiz attempt"),
        (r"^/courses/[^/]+/quiz$", "quiz page"),
        (r"^/courses/[^/]+$", "course page"),
        (r"^/(me/file|experts/\d+/edit)$", "my file"),
        (r"^/reviews/invitations$", "invitations"),
        (r"^/reviews/assignments/\d+/review$", "review form"),
        (r"^/submissions/\d+$", "submission detail"),
        (r"^/submissions/\d+/candidates$", "candidates"),
    ]
    for pattern, name in rules:
        if re.match(pattern, path):
            return name
    return "other " + re.sub(r"\d+", "<n>", path)


class Person(FastHttpUser):
    abstract = True
    role = ""
    network_timeout = 300.0
    connection_timeout = 60.0

    def wait_time(self) -> float:
        return self.rng.uniform(*RUN.think)

    # --- requests ---

    def call(
        self,
        method: str,
        url: str,
        name: str,
        *,
        data: list[tuple[str, str]] | None = None,
        expect: tuple[int, ...] = (200,),
        kind: str | None = None,
    ) -> Any:
        """One request, timed and checked; the response, or None when it went wrong."""
        if RUN.t_end is not None and time.monotonic() >= RUN.t_end:
            raise StopUser()  # the window has closed: no new requests
        kind = kind or ("page" if method == "GET" else "write")
        headers = {}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        RUN.in_flight += 1
        try:
            t = time.perf_counter()
            with self.client.request(
                method,
                url,
                name=name,
                data=body,
                headers=headers,
                allow_redirects=False,
                catch_response=True,
            ) as resp:
                ms = (time.perf_counter() - t) * 1000.0
                status = int(resp.status_code or 0)
                problem = self.problem(resp, status, expect)
                if problem:
                    resp.failure(problem)
                else:
                    resp.success()
        finally:
            RUN.in_flight -= 1
        RUN.record(
            role=self.role,
            name=name,
            kind=kind,
            ms=round(ms, 2),
            status=status,
            error=problem,
            rid=resp.headers.get("X-Request-ID", "") if status else "",
            started=started,
        )
        return None if problem else resp

    @staticmethod
    def problem(resp: Any, status: int, expect: tuple[int, ...]) -> str:
        if status == 0:
            return f"no response ({type(getattr(resp, 'error', None)).__name__})"
        if status not in expect:
            return f"HTTP {status}"
        if status in REDIRECTS and _path(resp.headers.get("Location", "")).startswith("/login"):
            return "sent to sign-in"
        return ""

    def follow(self, resp: Any, name: str | None = None) -> Any:
        """Request the page a redirect names, as the browser does at once."""
        path = _path(resp.headers.get("Location", ""))
        query = urlsplit(resp.headers.get("Location", "")).query
        return self.call("GET", path + (f"?{query}" if query else ""), name or page_name(path))

    def submit(self, form: Form, name: str, values: list[tuple[str, str]] | None = None) -> Any:
        return self.call(
            "POST",
            form.action,
            name,
            data=form.values() if values is None else values,
            expect=REDIRECTS,
        )

    def pause(self) -> None:
        """A person reads the page before the next click."""
        gevent.sleep(self.rng.uniform(*RUN.think))

    # --- life cycle ---

    def on_start(self) -> None:
        n, username = RUN.account(self.role)
        self.rng = random.Random(f"{RUN.cfg['seed']}-{self.role}-{n}")
        ok = self.sign_in(username, RUN.accounts["password"])
        RUN.signed_in += 1
        RUN.login_failures += 0 if ok else 1
        while RUN.t0 is None:  # everyone starts when the window opens, not in the sign-in rush
            gevent.sleep(0.2)
        gevent.sleep(self.rng.uniform(0, RUN.think[1]))  # not all in step

    def sign_in(self, username: str, password: str) -> bool:
        page = self.call("GET", "/login", "sign-in page", kind="login")
        form = form_to(parse_forms(page.text), r"^$|/login") if page else None
        if form is None:
            return False
        values = [(k, v) for k, v in form.values() if k not in ("username", "password")]
        values += [("username", username), ("password", password)]
        return (
            self.call("POST", "/login", "sign in", data=values, expect=REDIRECTS, kind="login")
            is not None
        )


class Trainee(Person):
    role = "trainee"

    def on_start(self) -> None:
        self.slugs: list[str] = [RUN.accounts["first_course"]]
        self.slug = RUN.accounts["first_course"]
        self.finished: set[str] = set()
        self.quiz_ready = False
        super().on_start()

    def next_course(self) -> None:
        self.finished.add(self.slug)
        first = RUN.accounts["first_course"]
        left = [s for s in self.slugs if s not in self.finished]
        self.slug = first if first not in self.finished else self.rng.choice(left or self.slugs)
        self.quiz_ready = False

    @task(3)
    def catalogue(self) -> None:
        query = self.rng.choice(
            ["", "?sort=popular", "?topic=uncertainty", "?audience=technician", "?page=2"]
        )
        page = self.call("GET", "/courses/" + query, "catalogue")
        if page is not None and len(self.slugs) < 2:
            found = re.findall(r'href="/courses/([a-z0-9-]+)"', page.text)
            self.slugs = sorted(set(found) | set(self.slugs))

    @task(2)
    def search(self) -> None:
        q = self.rng.choice(COURSE_QUERIES)
        self.call("GET", "/courses/search?" + urlencode({"q": q}), "course search")

    @task(5)
    def study(self) -> None:
        resp = self.call("GET", f"/courses/{self.slug}/resume", "resume", expect=REDIRECTS)
        if resp is None:
            return
        page = self.follow(resp)
        if page is None:
            return
        forms = parse_forms(page.text)
        done = form_to(forms, r"/lessons/\d+/done$")
        enrol = form_to(forms, r"/enrol$")
        if done is not None and done.value("action") != "undo":
            self.pause()
            resp = self.submit(done, "mark done")
            if resp is not None:
                self.follow(resp)
        elif done is not None:  # every lesson done: the quiz is next
            self.quiz_ready = True
        elif enrol is not None:
            self.pause()
            resp = self.submit(enrol, "enrol")
            if resp is not None:
                self.follow(resp)
        else:  # completed (or closed to this person): another course
            self.next_course()

    @task(2)
    def quiz(self) -> None:
        page = self.call("GET", f"/courses/{self.slug}/quiz", "quiz page", expect=(200, 302))
        if page is None or page.status_code != 200:
            return
        start = form_to(parse_forms(page.text), r"/quiz/start$")
        if start is None:
            if self.quiz_ready:  # passed, or no attempt left
                self.next_course()
            return
        self.pause()
        resp = self.submit(start, "quiz start")
        sheet_page = self.follow(resp, "quiz attempt") if resp is not None else None
        sheet = form_to(parse_forms(sheet_page.text), r"/submit$") if sheet_page else None
        if sheet is None:
            return
        self.pause()
        resp = self.submit(sheet, "quiz submit", self.answers(sheet))
        if resp is not None:
            self.follow(resp, "quiz result")

    def answers(self, sheet: Form) -> list[tuple[str, str]]:
        values = [(k, v) for k, v in sheet.values() if sheet.kind_of(k) == "hidden"]
        for name in sheet.names():
            kind, choices = sheet.kind_of(name), sheet.choices(name)
            if kind == "radio" and choices:
                values.append((name, self.rng.choice(choices)))
            elif kind == "checkbox" and choices:
                picked = self.rng.sample(choices, self.rng.randint(1, len(choices)))
                values += [(name, c) for c in picked]
            elif kind == "text":
                values.append((name, "标准物质"))
        return values

    @task(1)
    def my_learning(self) -> None:
        self.call("GET", "/me/learning", "my learning")


class Expert(Person):
    role = "expert"

    def on_start(self) -> None:
        self.before: set[str] | None = None  # publication delete forms before our add
        self.mine: str | None = None  # the delete form of the publication we added
        super().on_start()

    @task(3)
    def file(self) -> None:
        page = self.call("GET", "/me/file", "my file")
        if page is None:
            return
        forms = parse_forms(page.text)
        deletes = {
            f.action: f for f in forms if re.search(r"/parts/publication/\d+/delete$", f.action)
        }
        if self.before is not None:
            added = sorted(set(deletes) - self.before, key=lambda a: int(a.split("/")[-2]))
            self.mine, self.before = (added[-1] if added else None), None
        self.pause()
        if self.mine and self.mine in deletes:
            resp = self.submit(deletes[self.mine], "file: remove publication")
            self.mine = None
        elif self.rng.random() < 0.5:
            form = form_to(forms, r"/parts/publication$")
            if form is None:
                return
            values = [(k, v) for k, v in form.values() if k in ("csrf_token",)]
            values += [
                ("title", f"基体标准物质均匀性评估方法研究 {self.rng.randint(1, 10**6)}"),
                ("abstract", "采用方差分析评估瓶间均匀性，并讨论取样量对结果的影响。"),
                ("year", "2025"),
                ("language", "zh"),
                ("venue", "计量学报"),
            ]
            resp = self.submit(form, "file: add publication", values)
            self.before = set(deletes)
        else:
            form = form_to(forms, r"/profile$")
            if form is None:
                return
            resp = self.submit(form, "file: save profile")
        if resp is not None:
            self.follow(resp)

    @task(3)
    def invitations(self) -> None:
        page = self.call("GET", "/reviews/invitations", "invitations")
        if page is None:
            return
        forms = parse_forms(page.text)
        accept = form_to(forms, r"/assignments/\d+/accept$")
        if accept is None:
            return
        self.pause()
        if self.rng.random() < 0.7:
            values = [*accept.values(), ("no_conflict", "y")]
            resp = self.submit(accept, "invitation: accept", values)
        else:
            decline = form_to(forms, re.escape(accept.action[: -len("accept")]) + "decline$")
            if decline is None:
                return
            values = [(k, v) for k, v in decline.values() if k != "reason"]
            values.append(("reason", self.rng.choice(DECLINE_REASONS)))
            resp = self.submit(decline, "invitation: decline", values)
        if resp is not None:
            self.follow(resp)

    @task(1)
    def my_reviews(self) -> None:
        self.call("GET", "/reviews/mine", "my reviews")

    @task(1)
    def inbox(self) -> None:
        self.call("GET", "/inbox", "inbox")


class Admin(Person):
    role = "admin"

    @task(1)
    def home(self) -> None:
        self.call("GET", "/", "home")

    @task(4)
    def lists(self) -> None:
        name, url = self.rng.choice(
            [
                ("experts list", f"/experts/?page={self.rng.randint(1, 13)}"),
                ("submissions list", f"/submissions/?page={self.rng.randint(1, 9)}"),
                ("review board", "/reviews/board"),
                # the users list is the system administrator's since 三员分立 (issue 12)
                ("change history", "/experts/audit"),
            ]
        )
        self.call("GET", url, name)

    @task(2)
    def candidates(self) -> None:
        sid = self.rng.choice(RUN.accounts["submissions"])
        self.call("GET", f"/submissions/{sid}/candidates", "candidates")

    @task(1)
    def assign(self) -> None:
        sid = self.rng.choice(RUN.accounts["submissions"])
        page = self.call("GET", f"/submissions/{sid}/candidates", "candidates")
        form = form_to(parse_forms(page.text), r"/assign$") if page else None
        if form is None or not form.value("members"):
            return
        self.pause()
        resp = self.submit(form, "panel assignment")
        if resp is not None:
            self.follow(resp)


def drive(cfg_path: Path, out_path: Path) -> None:
    global RUN
    cfg = json.loads(cfg_path.read_text())
    RUN = Run(cfg)
    classes = []
    for cls in (Trainee, Expert, Admin):
        cls.weight = int(cfg["mix"].get(cls.role, 0))
        if cls.weight:
            classes.append(cls)
    env = Environment(user_classes=classes, host=cfg["host"])
    runner = env.create_local_runner()
    started = time.monotonic()
    runner.start(cfg["users"], spawn_rate=cfg["spawn_rate"])
    deadline = started + SIGN_IN_TIMEOUT_S
    while RUN.signed_in < cfg["users"] and time.monotonic() < deadline:
        gevent.sleep(0.1)
    sign_in_seconds = time.monotonic() - started
    RUN.t0 = time.monotonic()
    gevent.sleep(cfg["duration"])
    RUN.t_end = RUN.t0 + cfg["duration"]
    drain = time.monotonic() + DRAIN_TIMEOUT_S
    # Users send nothing more (`Person.call`); the requests still running were started in the
    # window and count: wait for their answers rather than cut the slowest off.
    while RUN.in_flight and time.monotonic() < drain:
        gevent.sleep(0.1)
    runner.quit()
    exceptions = [
        f"{e['count']} x {e['msg']}\n{e['traceback']}" for e in runner.exceptions.values()
    ]
    for text in exceptions:
        print(f"users: exception in a journey: {text}", file=sys.stderr)
    meta = {
        "seconds": cfg["duration"],
        "logins": RUN.signed_in,
        "login_failures": RUN.login_failures,
        "login_seconds": round(sign_in_seconds, 1),
        "users_by_role": dict(RUN.given),
        "journey_exceptions": sum(e["count"] for e in runner.exceptions.values()),
    }
    with out_path.open("w") as out:
        out.write(json.dumps(meta) + "\n")
        for sample in RUN.samples:
            out.write(json.dumps(sample, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    drive(Path(sys.argv[1]), Path(sys.argv[2]))
