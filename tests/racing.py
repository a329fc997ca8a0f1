"""Really concurrent requests, with a deterministic meeting point and no sleeps.

`race(app, requests, meet_when)` runs each request in its own thread with its own test client
(its own app context, session and database connection). Every thread stops at the first flush
whose session satisfies `meet_when` until all have arrived (a `threading.Barrier`), so all of
them have read and checked before any writes: exactly the interleaving that loses an update or
slips past a uniqueness check. The barrier has a deadline, so a request that never reaches its
flush fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD

MEET_TIMEOUT_S = 60  # generous: the machine is shared; a hang is what it guards against


@dataclass
class Outcome:
    status: int | None = None
    body: str = ""
    location: str = ""
    error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<{self.status or self.error!r} {self.location}>"


def server_errors(outcomes: Sequence[Outcome]) -> list[BaseException]:
    return [o.error for o in outcomes if o.error is not None]


def client_of(app: Flask, username: str | None = None) -> FlaskClient:
    """A client of its own (the fixtures' client clears `g`, which a bare thread has not got)."""
    client = FlaskClient(app, app.response_class, use_cookies=True)
    if username:
        with app.app_context():  # a fresh `g`: flask-login caches the user signed in last there
            response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.headers.get("Location") == "/", f"{username} could not sign in"
    return client


def race(
    app: Flask,
    requests: Sequence[Callable[[], Any]],
    meet_when: Callable[[Session], bool],
) -> list[Outcome]:
    """Run `requests` at once, each held at its first flush where `meet_when(session)`."""
    barrier = threading.Barrier(len(requests), timeout=MEET_TIMEOUT_S)
    racers: dict[int, bool] = {}  # thread id -> has met

    def before_flush(session: Session, *_: Any) -> None:
        me = threading.get_ident()
        if me in racers and not racers[me] and meet_when(session):
            racers[me] = True
            barrier.wait()

    outcomes = [Outcome() for _ in requests]

    def run(i: int, request: Callable[[], Any]) -> None:
        racers[threading.get_ident()] = False
        try:
            response = request()
            outcomes[i] = Outcome(
                response.status_code,
                response.get_data(as_text=True),
                response.headers.get("Location", ""),
            )
        except BaseException as exc:  # reported by the test, e.g. a 500's exception
            outcomes[i] = Outcome(error=exc)
            barrier.abort()

    event.listen(Session, "before_flush", before_flush)
    try:
        threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(MEET_TIMEOUT_S * 2)
        assert not any(t.is_alive() for t in threads), "a racing request did not finish"
    finally:
        event.remove(Session, "before_flush", before_flush)
    return outcomes


def of_type(session: Session, model: type, *, new: bool = False) -> bool:
    """`meet_when` for "this flush writes a `model` row" (a new one if `new`)."""
    objects = session.new if new else session.dirty
    return any(isinstance(obj, model) for obj in objects)
