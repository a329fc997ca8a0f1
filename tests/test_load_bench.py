"""bench/load.py without a server: its arguments, form reading, figures and report."""

from __future__ import annotations

import pytest

from tests.benchmods import bench_module

load = bench_module("load.py", "bench_load")


def test_defaults_are_the_issue_s_runs() -> None:
    args = load.parse_args([])
    assert (args.backend, args.server, args.users, args.duration) == (
        "sqlite",
        "gunicorn",
        [50, 200],
        60.0,
    )
    assert args.think == (1.0, 3.0)
    assert args.mix == {"trainee": 6, "expert": 3, "admin": 1}


def test_options_are_parsed() -> None:
    args = load.parse_args(
        [
            "--backend",
            "postgres",
            "--server",
            "dev",
            "--users",
            "50",
            "--duration",
            "30",
            "--think",
            "0.5,2",
            "--mix",
            "trainee=1,admin=2",
        ]
    )
    assert (args.backend, args.server, args.users, args.duration) == ("postgres", "dev", [50], 30)
    assert args.think == (0.5, 2.0)
    assert args.mix == {"trainee": 1, "expert": 0, "admin": 2}


@pytest.mark.parametrize(
    "argv",
    [
        ["--backend", "mysql"],
        ["--users", "0"],
        ["--duration", "0"],
        ["--think", "3,1"],
        ["--mix", "student=1"],
        ["--mix", "trainee=0"],
    ],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        load.parse_args(argv)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert load.percentile(values, 50) == 50
    assert load.percentile(values, 99) == 99
    assert load.percentile(values, 100) == 100
    assert load.percentile([7.0], 99) == 7.0
    assert load.percentile([30, 10, 20], 50) == 20


def _samples(fast_ms: float, slow_ms: float, errors: int = 0) -> list:
    out = []
    for i in range(100):
        out.append(load.Sample("trainee", "lesson", "page", fast_ms + i % 10, 200, "", i * 0.5))
        out.append(load.Sample("trainee", "mark done", "write", fast_ms, 302, "", i * 0.5))
    for i in range(10):
        error = "HTTP 500" if i < errors else ""
        out.append(load.Sample("admin", "candidates", "page", slow_ms, 200, error, i * 5.0))
    return out


def test_summary_per_endpoint_and_overall() -> None:
    summary = load.summarise(_samples(40.0, 900.0, errors=2), 50.0)
    assert summary.requests == 210
    assert summary.rps == pytest.approx(4.2)
    assert summary.errors == 2
    assert summary.error_kinds == [("candidates: HTTP 500", 2)]
    assert [s.name for s in summary.endpoints][:1] == ["candidates"]  # slowest p50 first
    lesson = next(s for s in summary.endpoints if s.name == "lesson")
    assert (lesson.count, lesson.p50, lesson.p99, lesson.max) == (100, 44.0, 49.0, 49.0)
    assert summary.overall["write"].count == 100
    assert summary.overall["page"].count == 110
    assert summary.overall["page"].p99 == 900.0
    assert summary.overall["all"].count == 210


def test_report_gives_figures_and_verdicts() -> None:
    summary = load.summarise(_samples(40.0, 900.0), 50.0)
    text = load.format_report(summary, users=50, title="sqlite/gunicorn", facts={"jobs": "0"})
    assert "sqlite/gunicorn: 50 users, 50 s measured" in text
    assert "4.2 req/s" in text
    assert "admin candidates" in text
    lines = {line.split()[0] + " " + line.split()[1]: line for line in text.splitlines()[-5:]}
    assert lines["pages p50"].endswith("met")  # 44 ms
    assert lines["pages p99"].endswith("MISSED")  # 900 ms
    assert lines["writes p99"].endswith("met")
    assert "n/a at this user count" in lines["no errors"]  # the error target is at 200 users


def test_error_target_applies_at_200_users() -> None:
    failing = load.verdicts(load.summarise(_samples(40.0, 90.0, errors=1), 60.0), users=200)
    clean = load.verdicts(load.summarise(_samples(40.0, 90.0), 60.0), users=200)
    assert [v.met for v in failing if v.target == "no errors"] == [False]
    assert [v.met for v in clean if v.target == "no errors"] == [True]
    assert {v.met for v in clean if v.target != "no errors"} == {None}  # latency: 50 users


def test_forms_are_read_as_a_browser_submits_them() -> None:
    html = """
    <form method="get" action="/courses/search"><input name="q"></form>
    <form id="filter" method="get" action="/x"></form>
    <select name="province" form="filter"><option value="">all</option>
      <option value="北京市" selected>北京市</option></select>
    <form method="post" action="/submissions/3/assign">
      <input type="hidden" name="csrf_token" value="tok&amp;en">
      <input type="checkbox" name="members" value="283" checked>
      <input type="checkbox" name="members" value="12">
      <input type="checkbox" name="alternates" value="283">
      <select name="language"><option value="zh">中文</option><option value="en">English</option>
      </select>
      <textarea name="reason">
时间冲突</textarea>
      <button>invite</button>
    </form>"""
    forms = load.parse_forms(html)
    assign = load.form_to(forms, r"/assign$")
    assert assign.values() == [
        ("csrf_token", "tok&en"),
        ("members", "283"),
        ("language", "zh"),
        ("reason", "时间冲突"),
    ]
    assert assign.choices("members") == ["283", "12"]
    assert assign.kind_of("alternates") == "checkbox"
    assert load.form_to(forms, r"/search$") is None  # a GET form is no write
    assert next(f for f in forms if f.id == "filter").values() == [("province", "北京市")]


def test_app_times_are_joined_by_request_id() -> None:
    log = [
        "[2026-12-05 08:26:18 +0000] [10339] [INFO] Starting gunicorn 27.0.1",
        '{"message": "GET /courses/ 200", "request_id": "a1", "duration_ms": 12.5}',
        '{"message": "POST /login 302", "request_id": "b2", "duration_ms": 80.0}',
        '{"message": "broken", "duration_ms": ',
    ]
    times = load.server_times(log)
    assert times == {"a1": 12.5, "b2": 80.0}
    samples = [
        load.Sample("trainee", "catalogue", "page", 30.0, 200, rid="a1"),
        load.Sample("trainee", "catalogue", "page", 50.0, 0, "no response", rid=""),
    ]
    joined = load.with_server_times(samples, times)
    assert [s.server_ms for s in joined] == [12.5, None]
    stat = load.summarise(joined, 1.0).endpoints[0]
    assert (stat.p50, stat.server_p50) == (30.0, 12.5)
