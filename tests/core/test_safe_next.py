"""Issue 12 item 13: every `next=` leads only to a path on this site (core.requests.safe_next).

Before the fix the administrators' expert status form redirected to whatever `next` held, so
`next=https://evil.example` sent an administrator to another site after a status change; the
jobs page took "/\\evil.example" (a browser reads it as //evil.example).
"""

from __future__ import annotations

import pytest

from expertpool.core.access import Role
from expertpool.core.requests import safe_next
from tests.conftest import PASSWORD

HOSTILE = [
    "//evil.example",
    "https://evil.example",
    "http:/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "/\n/evil.example",
    "evil.example",
    "",
    None,
]
SAME_SITE = ["/", "/experts/3?page=2", "/experts/?q=%E5%BC%A0", "/%0a", "/专家/1"]


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_fall_back(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", SAME_SITE)
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target, "/home") == target


def _location(response) -> str:
    assert response.status_code == 302
    return response.headers["Location"]


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example"])
def test_status_form_does_not_redirect_off_site(client, auth, make_expert, target):
    expert = make_expert()
    auth.login()
    response = client.post(f"/experts/{expert.id}/status", data={"next": target})
    location = _location(response)
    assert "evil" not in location and location.endswith(f"/experts/{expert.id}")


def test_status_form_keeps_a_same_site_next(client, auth, make_expert):
    expert = make_expert()
    auth.login()
    response = client.post(f"/experts/{expert.id}/status", data={"next": "/experts/?page=2"})
    assert _location(response) == "/experts/?page=2"


@pytest.mark.parametrize("target", ["//evil.example", "javascript:alert(1)", "/\\evil.example"])
def test_login_and_language_do_not_redirect_off_site(client, make_user, target):
    make_user(Role.TRAINEE, username="nextuser")
    response = client.post(
        "/login", query_string={"next": target}, data={"username": "nextuser", "password": PASSWORD}
    )
    assert "evil" not in _location(response) and "javascript" not in response.headers["Location"]
    response = client.post("/language", data={"locale": "en", "next": target})
    assert "evil" not in _location(response) and "javascript" not in response.headers["Location"]


@pytest.mark.parametrize(
    "target", ["/\\evil.example", "https://evil.example", "/admin/jobs?page=2"]
)
def test_jobs_retry_goes_back_only_on_this_site(app, client, auth, sysadmin, target):
    from expertpool.core.jobs import enqueue
    from expertpool.core.jobs.models import JobStatus
    from expertpool.db import db

    app.config["JOBS_EAGER"] = False  # the retried job stays queued
    job = enqueue(db.session, "matching.index_experts", {"expert_ids": []})
    job.status, job.attempts, job.error = JobStatus.FAILED, 5, "boom"
    db.session.commit()
    auth.login("sysadmin")
    location = _location(client.post(f"/admin/jobs/{job.id}/retry", data={"next": target}))
    assert location == (target if target.startswith("/admin") else "/admin/jobs")
