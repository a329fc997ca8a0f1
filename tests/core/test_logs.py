"""Request logs: one JSON line per request with its id, returned in X-Request-ID; no personal data."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import pytest
from flask import Flask

from expertpool.core import logs

HEX_ID = re.compile(r"[0-9a-f]{32}")


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log records of the test, each as the JSON line the server writes."""
    formatter = logs.JsonFormatter()
    records = [r for r in caplog.records if r.name == logs.REQUEST_LOGGER]
    return [json.loads(formatter.format(r)) for r in records]


def test_one_json_line_per_request(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=logs.REQUEST_LOGGER)
    response = client.get("/healthz")
    client.get("/no-such-page")
    first, second = _lines(caplog)
    assert set(first) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "user_id",
        "remote_addr",
    }
    assert first["method"] == "GET"
    assert first["path"] == "/healthz"
    assert first["status"] == 200
    assert first["duration_ms"] >= 0
    assert first["user_id"] is None
    assert first["remote_addr"] == "127.0.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert first["request_id"] == response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first["request_id"])
    assert second["status"] == 404
    assert second["request_id"] != first["request_id"]


def test_the_signed_in_user_is_named_by_id(
    client: Any, auth: Any, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    auth.login()
    caplog.set_level(logging.INFO, logger=logs.REQUEST_LOGGER)
    client.get("/")
    (line,) = _lines(caplog)
    assert line["user_id"] == admin.id
    assert line["status"] == 200


def test_naming_the_user_reads_nothing_from_the_database(
    app: Any, client: Any, auth: Any, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The log line is written after the request's commit, when the user's row has expired:
    its id is read from the row's identity, not by loading the user and its roles again."""
    from sqlalchemy import event

    from expertpool.db import db

    auth.login()
    caplog.set_level(logging.INFO, logger=logs.REQUEST_LOGGER)
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def statement(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(" ".join(sql.split()))

    def committed(_session: Any) -> None:
        seen.append("-- committed")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(db.session, "after_commit", committed)
    try:
        client.get("/account/sessions")
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(db.session, "after_commit", committed)
    (line,) = _lines(caplog)
    assert line["user_id"] == admin.id
    after = seen[len(seen) - seen[::-1].index("-- committed") :]
    assert not [s for s in after if "FROM user" in s], after


def test_query_strings_and_long_numbers_never_reach_the_log(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=logs.REQUEST_LOGGER)
    client.get("/healthz?q=110101199003078515&phone=13812345678")
    client.get("/verify/11010119900307851X")
    client.get("/experts/13812345678")
    text = "\n".join(json.dumps(line) for line in _lines(caplog))
    for secret in ("110101199003078515", "13812345678", "11010119900307851X", "phone"):
        assert secret not in text
    paths = [line["path"] for line in _lines(caplog)]
    assert paths == ["/healthz", "/verify/[redacted]", "/experts/[redacted]"]


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/experts/12/edit", "/experts/12/edit"),  # record ids stay readable
        ("/submissions/123456/candidates", "/submissions/123456/candidates"),
        ("/id/110101199003078515", "/id/[redacted]"),
        ("/id/11010119900307851x", "/id/[redacted]"),
        ("/p/010-88888888", "/p/010-[redacted]"),
    ],
)
def test_safe_path(path: str, logged: str) -> None:
    assert logs.safe_path(path) == logged


def test_a_client_request_id_is_ignored_unless_trusted(app: Flask, client: Any) -> None:
    sent = {"X-Request-ID": "from-the-client-1"}
    assert client.get("/healthz", headers=sent).headers["X-Request-ID"] != "from-the-client-1"
    app.config["TRUST_REQUEST_ID"] = True
    assert client.get("/healthz", headers=sent).headers["X-Request-ID"] == "from-the-client-1"
    for forged in ('x" injected', "a" * 129, "<script>"):
        answer = client.get("/healthz", headers={"X-Request-ID": forged})
        assert HEX_ID.fullmatch(answer.headers["X-Request-ID"])


def test_other_log_records_of_a_request_carry_its_id(app: Flask) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    with app.test_request_context("/"):
        app.preprocess_request()
        rid = logs.request_id()
        assert logs.RequestIdFilter().filter(record)
    assert record.request_id == rid
    assert HEX_ID.fullmatch(rid)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    logs.RequestIdFilter().filter(outside)
    assert outside.request_id == "-"


def test_json_lines_keep_chinese_and_exceptions(app: Flask) -> None:
    try:
        raise ValueError("坏了")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "导入 %s", ("失败",), None)
        record.exc_info = sys.exc_info()
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "导入 失败"
    assert "ValueError: 坏了" in entry["exception"]
    assert "导入 失败" in line  # readable, not \\u escapes


def test_configure_adds_one_handler_per_process() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        logs.configure("warning")
        logs.configure("info")
        ours = [h for h in root.handlers if getattr(h, "expertpool", False)]
        assert len(ours) == 1
        assert isinstance(ours[0].formatter, logs.JsonFormatter)
        assert root.level == logging.INFO
    finally:
        root.handlers[:] = before
        root.setLevel(level)
