"""Route-by-role: every route is listed with who may use it, and the app enforces exactly that.

A new route fails this test until it is added to EXPECTED: access is a decision, not a default.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from expertpool import create_app
from expertpool.core.access import AUTHENTICATED, PUBLIC, Role, access_of
from expertpool.db import db
from tests.conftest import PASSWORD

A, E, T = Role.ADMIN.value, Role.EXPERT.value, Role.TRAINEE.value
SYS, SEC, AUD = Role.SYSADMIN.value, Role.SECADMIN.value, Role.AUDITOR.value
ADMIN_ONLY = {A}
SIGNED_IN = {AUTHENTICATED}

EXPECTED: dict[str, set[str]] = {
    "main.home": SIGNED_IN,
    "main.health": {PUBLIC},
    "main.ready": {PUBLIC},
    "accounts.login": {PUBLIC},
    "accounts.logout": SIGNED_IN,
    "accounts.register": {PUBLIC},
    "accounts.change_password": SIGNED_IN,
    "accounts.my_sessions": SIGNED_IN,
    "accounts.end_my_session": SIGNED_IN,
    "accounts.end_my_other_sessions": SIGNED_IN,
    "accounts.language": {PUBLIC},
    # Separation of duties (三员分立): accounts to the system administrator, roles and security
    # settings to the security administrator, the audit log to the security auditor.
    "accounts.users": {SYS},
    "accounts.user_new": {SYS},
    "accounts.user_edit": {SYS},
    "accounts.unlock_user": {SYS},
    "accounts.end_user_sessions": {SYS},
    "accounts.roles": {SEC},
    "accounts.user_roles": {SEC},
    "accounts.security_policy": {SEC},
    "audit.log": {AUD},
    "audit.export": {AUD},
    "audit.verification": {AUD},
    "audit.verify_start": {AUD},
    "accounts.my_data": SIGNED_IN,
    "accounts.my_data_export": SIGNED_IN,
    "accounts.corrections": {SYS},
    "accounts.correction_decide": {SYS},
    "experts.index": ADMIN_ONLY,
    "experts.export": ADMIN_ONLY,
    "experts.new": ADMIN_ONLY,
    "experts.detail": ADMIN_ONLY,
    "experts.edit": {A, E},
    "experts.save_profile": {A, E},
    "experts.save_review_fields": {A, E},
    "experts.save_institution": {A, E},
    "experts.add_part": {A, E},
    "experts.remove_part": {A, E},
    "experts.change_status": ADMIN_ONLY,
    "experts.assess": ADMIN_ONLY,
    "experts.vetting": ADMIN_ONLY,
    "experts.changes": ADMIN_ONLY,
    "experts.change": ADMIN_ONLY,
    "experts.warnings": ADMIN_ONLY,
    "experts.coverage": ADMIN_ONLY,
    "experts.audit_log": ADMIN_ONLY,
    "experts.import_experts": ADMIN_ONLY,
    "experts.import_commit": ADMIN_ONLY,
    "experts.import_template": ADMIN_ONLY,
    "experts.import_job": ADMIN_ONLY,
    "experts.import_publications": ADMIN_ONLY,
    "experts.import_publications_commit": ADMIN_ONLY,
    "experts.import_publications_template": ADMIN_ONLY,
    "experts.import_publications_job": ADMIN_ONLY,
    "experts.my_file": {E},
    "jobs.jobs": {SYS},
    "backups.backups": {SYS},
    "jobs.progress": SIGNED_IN,  # a person polls the jobs they started; admins any job
    "jobs.cancel": SIGNED_IN,
    "jobs.retry": {SYS},
    # an export's page and file: the person who started it and administrators (others get 404)
    "exports.status": SIGNED_IN,
    "exports.download": SIGNED_IN,
    "jobs.start": {SYS},
    "matching.candidates": ADMIN_ONLY,
    "matching.candidate_texts": ADMIN_ONLY,
    "matching.assign": ADMIN_ONLY,
    "matching.rounds": ADMIN_ONLY,
    "matching.new_round": ADMIN_ONLY,
    "matching.round": ADMIN_ONLY,
    "matching.confirm_round": ADMIN_ONLY,
    "matching.retry_round": ADMIN_ONLY,
    "matching.cancel_round": ADMIN_ONLY,
    "matching.export_assignments": ADMIN_ONLY,
    "api.experts": ADMIN_ONLY,
    "api.expert": ADMIN_ONLY,
    "api.openapi": ADMIN_ONLY,
    "submissions.index": ADMIN_ONLY,
    "submissions.new": ADMIN_ONLY,
    "submissions.detail": ADMIN_ONLY,
    "submissions.edit": ADMIN_ONLY,
    "submissions.withdraw": ADMIN_ONLY,
    "submissions.add_attachment": ADMIN_ONLY,
    "submissions.attachment": ADMIN_ONLY,
    "submissions.remove_attachment": ADMIN_ONLY,
    "submissions.import_submissions": ADMIN_ONLY,
    "submissions.import_commit": ADMIN_ONLY,
    "submissions.import_template": ADMIN_ONLY,
    "submissions.import_job": ADMIN_ONLY,
    "reviews.invitations": {E},
    "reviews.accept": {E},
    "reviews.decline": {E},
    "reviews.mine": {E},
    "reviews.review_form": {E},
    "reviews.attachment": {E},
    "reviews.invited_submission": {E},
    "reviews.inbox": SIGNED_IN,
    "reviews.mark_read": SIGNED_IN,
    "reviews.mark_all_read": SIGNED_IN,
    "reviews.board": ADMIN_ONLY,
    "reviews.review_detail": ADMIN_ONLY,
    "reviews.rate": ADMIN_ONLY,
    "reviews.withdraw": ADMIN_ONLY,
    "reviews.set_due": ADMIN_ONLY,
    # Training: learning is open to every signed-in user, authoring and reports to admins.
    "courses.catalogue": SIGNED_IN,
    "courses.search": SIGNED_IN,
    "courses.course": SIGNED_IN,
    "courses.cover": SIGNED_IN,
    "courses.enrol": SIGNED_IN,
    "courses.resume": SIGNED_IN,
    "courses.lesson": SIGNED_IN,
    "courses.lesson_file": SIGNED_IN,
    "courses.lesson_done": SIGNED_IN,
    "courses.lesson_position": SIGNED_IN,
    "courses.material": SIGNED_IN,
    "courses.quiz": SIGNED_IN,
    "courses.quiz_start": SIGNED_IN,
    "courses.attempt": SIGNED_IN,
    "courses.attempt_submit": SIGNED_IN,
    "courses.my_learning": SIGNED_IN,
    "courses.transcript": SIGNED_IN,
    "courses.transcript_export": SIGNED_IN,
    "courses.certificate_pdf": SIGNED_IN,
    "courses.verify": {PUBLIC},
    "courses.admin_courses": ADMIN_ONLY,
    "courses.admin_new": ADMIN_ONLY,
    "courses.admin_import": ADMIN_ONLY,
    "courses.admin_import_job": ADMIN_ONLY,
    "courses.admin_edit": ADMIN_ONLY,
    "courses.admin_publish": ADMIN_ONLY,
    "courses.admin_chapter_add": ADMIN_ONLY,
    "courses.admin_chapter": ADMIN_ONLY,
    "courses.admin_lesson_new": ADMIN_ONLY,
    "courses.admin_lesson_edit": ADMIN_ONLY,
    "courses.admin_lesson_action": ADMIN_ONLY,
    "courses.admin_material_add": ADMIN_ONLY,
    "courses.admin_material_delete": ADMIN_ONLY,
    "courses.admin_quiz": ADMIN_ONLY,
    "courses.admin_question_new": ADMIN_ONLY,
    "courses.admin_question_edit": ADMIN_ONLY,
    "courses.admin_question_delete": ADMIN_ONLY,
    "courses.admin_enrolments": ADMIN_ONLY,
    "courses.admin_assign_experts": ADMIN_ONLY,
    "courses.admin_certificates": ADMIN_ONLY,
    "courses.admin_revoke": ADMIN_ONLY,
    "courses.admin_reports": ADMIN_ONLY,
    "courses.admin_reports_export": ADMIN_ONLY,
    "courses.admin_required": ADMIN_ONLY,
    "courses.admin_assign_required": ADMIN_ONLY,
    "courses.admin_learner": ADMIN_ONLY,
    "courses.admin_learner_export": ADMIN_ONLY,
    # Annual assessment (年度考核): administrators run the rounds; an expert reads their own
    # closed results.
    "assessment.rounds": ADMIN_ONLY,
    "assessment.new_round": ADMIN_ONLY,
    "assessment.round": ADMIN_ONLY,
    "assessment.regather": ADMIN_ONLY,
    "assessment.close": ADMIN_ONLY,
    "assessment.export": ADMIN_ONLY,
    "assessment.draft": ADMIN_ONLY,
    "assessment.mine": {E},
    # Review-quality supervision (审评质量监督) and spot checks of ratings
    "reviews.supervision": ADMIN_ONLY,
    "reviews.supervision_expert": ADMIN_ONLY,
    "reviews.spot_checks": ADMIN_ONLY,
    "reviews.spot_check_new": ADMIN_ONLY,
    "reviews.spot_check": ADMIN_ONLY,
    "reviews.spot_check_rate": ADMIN_ONLY,
    # Violations (违规处理): the office's cases; the expert sees and objects to decided ones only.
    "experts.violations": ADMIN_ONLY,
    "experts.violation_new": ADMIN_ONLY,
    "experts.violation": ADMIN_ONLY,
    "experts.violation_step": ADMIN_ONLY,
    "experts.violation_answer": ADMIN_ONLY,
    "experts.violation_evidence": ADMIN_ONLY,
    "experts.my_violations": {E},
    "experts.violation_object": {E},
}

SAMPLE_VALUES = {"fmt": "csv", "kind": "publication"}


def _rules(app: Flask) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def _url(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        values[arg] = 1 if isinstance(converter, IntegerConverter) else SAMPLE_VALUES.get(arg, "x")
    return rule.build(values)[1]


def _requests(app: Flask) -> list[tuple[str, str, str]]:
    out = []
    for rule in _rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, _url(rule)))
    return out


def _collection_app() -> Flask:
    """The real app, built once at collection time only to read its url_map (no database)."""
    tmp = Path(tempfile.mkdtemp(prefix="access-routes-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp / 'routes.db'}",
            "SECRET_KEY": "test-secret",
            "EMBEDDING_MODEL": "hashing",
            "JOBS_EAGER": True,  # jobs run right after the commit that adds them
            "SERVER_NAME": "localhost",
        },
        instance_path=str(tmp / "instance"),
    )


# Every (endpoint, method, url) of the real app, so a new route is checked automatically.
_APP = _collection_app()
REQUESTS = _requests(_APP)
PATHS = {
    r.endpoint: f"{'/'.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))} {r.rule}"
    for r in _rules(_APP)
}


def _report(wrong: list[str]) -> str:
    return f"{len(wrong)} wrong route/role pair(s):\n" + "\n".join(wrong)


def test_every_route_is_listed(app: Flask) -> None:
    endpoints = {r.endpoint for r in _rules(app)}
    assert endpoints == set(EXPECTED), "add new routes to EXPECTED (and remove dead ones)"
    assert {endpoint for endpoint, _, _ in REQUESTS} == endpoints


def test_declarations_match_the_list(app: Flask) -> None:
    for rule in _rules(app):
        assert set(access_of(app.view_functions[rule.endpoint])) == EXPECTED[rule.endpoint], (
            rule.endpoint
        )


# One test per role (and one for anonymous visitors) that checks every route and reports every
# wrong pair, not only the first. One test per route, or per (role, blueprint), builds an app and
# database each: 538 tests took 162 s and 34 took 37-46 s, against 11-16 s for these four.
def test_anonymous_is_sent_to_login(client: Any) -> None:
    wrong = []
    for endpoint, method, url in REQUESTS:
        response = client.open(url, method=method)
        status, location = response.status_code, response.headers.get("Location", "")
        if PUBLIC in EXPECTED.get(endpoint, ()):
            if status in (401, 403) or "/login?next" in location:
                wrong.append(f"{endpoint} {method} {url}: public, got {status} {location}")
        elif status != 302 or "/login" not in location:
            wrong.append(
                f"{endpoint} {method} {url}: expected 302 to /login, got {status} {location}"
            )
    assert not wrong, _report(wrong)


@pytest.mark.parametrize("role", [A, E, T, SYS, SEC, AUD])
def test_roles_get_exactly_their_routes(
    client: Any, make_user: Any, make_expert: Any, role: str
) -> None:
    user = make_user(Role(role), username=f"who-{role}")
    own = make_expert()  # expert #1 belongs to the signed-in expert, so ownership passes
    own.user_id = user.id if role == E else None
    db.session.commit()
    assert own.id == 1
    wrong = []
    for endpoint, method, url in REQUESTS:
        client.post("/login", data={"username": user.username, "password": PASSWORD})
        response = client.open(url, method=method)
        status, location = response.status_code, response.headers.get("Location", "")
        allowed = EXPECTED.get(endpoint, set())
        if PUBLIC in allowed or AUTHENTICATED in allowed or role in allowed:
            if status == 403 or "/login?next" in location:
                wrong.append(f"{role} {endpoint} {method} {url}: allowed, got {status} {location}")
        elif status != 403:
            wrong.append(f"{role} {endpoint} {method} {url}: not allowed, got {status} (not 403)")
    assert not wrong, _report(wrong)


# -- separation of duties (三员分立) ---------------------------------------------------------------

DUTIES = {SYS: "系统管理员 system administrator", SEC: "安全管理员 security administrator"}
DUTIES[AUD] = "安全审计员 security auditor"
SOD_DOC = Path(__file__).resolve().parents[1] / "docs" / "SEPARATION_OF_DUTIES.md"


def test_no_route_is_open_to_two_duties_or_to_a_duty_and_the_business():
    """Each duty's routes are its own: not shared by another duty role nor by any business role
    (only routes open to everyone signed in, such as one's own password, are shared)."""
    shared = []
    for endpoint, allowed in EXPECTED.items():
        if allowed & {PUBLIC, AUTHENTICATED}:
            continue
        duties = allowed & set(DUTIES)
        if len(duties) > 1 or (duties and allowed - duties):
            shared.append(f"{endpoint}: {sorted(allowed)}")
    assert not shared, "routes shared across duties:\n" + "\n".join(shared)
    for duty in DUTIES:  # and each duty has its work
        assert any(allowed == {duty} for allowed in EXPECTED.values()), duty


def duty_table() -> str:
    """The route x duty table of docs/SEPARATION_OF_DUTIES.md, from EXPECTED."""
    lines = [
        "| route | path | " + " | ".join(DUTIES[d].split()[0] for d in DUTIES) + " | 业务管理员 |",
        "|---|---|" + "---|" * (len(DUTIES) + 1),
    ]
    for endpoint, allowed in sorted(EXPECTED.items()):
        if not allowed & (set(DUTIES) | {A}) or allowed & {PUBLIC, AUTHENTICATED}:
            continue
        if A in allowed and endpoint.split(".")[0] not in ("accounts", "jobs", "backups", "audit"):
            continue  # the business pages are listed once, below the table
        cells = ["✔" if d in allowed else "" for d in (*DUTIES, A)]
        lines.append(f"| `{endpoint}` | `{PATHS[endpoint]}` | " + " | ".join(cells) + " |")
    business = sum(1 for allowed in EXPECTED.values() if A in allowed and not allowed & set(DUTIES))
    lines.append(
        f"| the {business} business routes (experts, submissions, reviews, matching, training "
        "administration, the API, the change history of technical files) | | | | | ✔ |"
    )
    return "\n".join(lines) + "\n"


def test_the_separation_of_duties_document_shows_the_enforced_table():
    text = SOD_DOC.read_text(encoding="utf-8")
    assert duty_table() in text, (
        "regenerate: python -c 'from tests.test_access import duty_table; print(duty_table())'"
    )
