"""Re-certification: expiry, renewal with history, reminders, and where a lapse shows."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select

from courses import operations as ops
from courses import queries, validity
from courses.errors import CourseError
from courses.models import Certificate, Enrollment
from courses.operations.recertification import reminder_key, send_expiry_reminders
from courses.queries.training import required_training_states, training_status
from expertpool.core.access import Role
from expertpool.core.assignment.constraints import eligibility, exclusion_masks
from expertpool.core.assignment.records import ExpertRecord, Rules, SubmissionRecord
from expertpool.core.jobs.schedule import schedules
from expertpool.db import db
from expertpool.matching.snapshot import Pool
from expertpool.notifications.models import Notification
from tests.courses.conftest import complete_course

TODAY = dt.date.today()


def _issued(cert: Certificate, day: dt.date) -> Certificate:
    """Date a certificate (and the completion it came from) back to `day`."""
    when = dt.datetime.combine(day, dt.time(10, 0))
    cert.issued_at = when
    cert.enrollment.completed_at = when
    db.session.commit()
    return cert


def _expiring_in(cert: Certificate, days: int) -> Certificate:
    """Make a certificate of a course valid `years` expire `days` from today."""
    years = cert.course.validity_years
    expires = TODAY + dt.timedelta(days=days)
    return _issued(cert, validity.add_years(expires, -years))


# --- the pure rules ---------------------------------------------------------------------------


def test_expiry_is_issue_date_plus_validity():
    assert validity.expiry_date(dt.date(2023, 3, 1), 3) == dt.date(2026, 3, 1)
    assert validity.expiry_date(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert validity.expiry_date(dt.date(2024, 2, 29), None) is None
    assert validity.expiry_date(dt.date(2024, 2, 29), 0) is None


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(400, "valid"), (61, "valid"), (60, "expiring"), (0, "expiring"), (-1, "lapsed")],
)
def test_state_around_the_window_and_the_expiry_day(days_left, expected):
    expires = TODAY + dt.timedelta(days=days_left)
    assert validity.state(expires, TODAY, 60) == expected
    assert validity.renewable(expires, TODAY, 60) == (expected != "valid")
    assert validity.state(expires, TODAY, 60, revoked=True) == "revoked"


def test_no_validity_is_always_valid():
    assert validity.state(None, TODAY, 60) == "valid"
    assert not validity.renewable(None, TODAY, 60)


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(90, None), (61, None), (60, 60), (45, 60), (30, 30), (8, 30), (7, 7), (0, 7), (-1, None)],
)
def test_the_nearest_threshold_reached_is_due(days_left, due):
    expires = TODAY + dt.timedelta(days=days_left)
    assert validity.reminder_due(expires, TODAY, (60, 30, 7)) == due


def test_reminder_days_setting_parsed():
    assert validity.parse_days("7, 60;30") == (60, 30, 7)
    assert validity.parse_days([30, 30, 0, -2]) == (30,)
    assert validity.parse_days("") == (60, 30, 7)
    assert validity.parse_days(14) == (14,)


# --- required training counts only a valid certificate ----------------------------------------


def test_required_training_is_satisfied_only_by_a_valid_certificate(expert_with_login, make_course):
    expert, user = expert_with_login()
    course = make_course(required=True, validity_years=3)
    cert = complete_course(user, course)
    (record,) = training_status(expert, today=TODAY)
    assert record.ok and record.state == "valid" and record.expires_on == cert.valid_until()
    _expiring_in(cert, 10)
    (record,) = training_status(expert, today=TODAY)
    assert record.ok and record.expiring  # still counts while it expires soon
    _expiring_in(cert, -1)
    (record,) = training_status(expert, today=TODAY)
    assert not record.ok and record.lapsed and record.certificate is cert


def test_overall_states_tell_lapsed_from_missing(expert_with_login, make_course):
    lapsed, lapsed_user = expert_with_login()
    never, _never_user = expert_with_login()
    held, held_user = expert_with_login()
    course = make_course(required=True, validity_years=2)
    _expiring_in(complete_course(lapsed_user, course), -30)
    complete_course(held_user, course)
    states = required_training_states(db.session, [lapsed.id, never.id, held.id], today=TODAY)
    assert states == {lapsed.id: "lapsed", never.id: "missing", held.id: "held"}


# --- matching ---------------------------------------------------------------------------------


def test_lapsed_training_excludes_as_lapsed_unless_configured_otherwise():
    lapsed = ExpertRecord(id=1, training_ok=False, training_lapsed=True)
    never = ExpertRecord(id=2, training_ok=False)
    sub = SubmissionRecord(id=1)
    blocks = Rules(require_training=True)
    grace = Rules(require_training=True, training_lapsed_blocks=False)
    assert [e.code for e in eligibility(lapsed, sub, blocks, TODAY)] == ["training_lapsed"]
    assert eligibility(lapsed, sub, grace, TODAY) == []
    assert [e.code for e in eligibility(never, sub, grace, TODAY)] == ["training_missing"]
    assert eligibility(lapsed, sub, Rules(), TODAY) == []  # training not required at all


def test_the_pool_snapshot_carries_the_lapse_to_the_matching_rule(
    app, expert_with_login, make_course
):
    expert, user = expert_with_login()
    course = make_course(required=True, validity_years=3)
    _expiring_in(complete_course(user, course), -5)
    rules = Rules(require_training=True)
    pool = Pool.load(db.session, TODAY, rules)
    row = pool.index[expert.id]
    record = pool.record(row)
    assert record.training_ok is False and record.training_lapsed
    masks = exclusion_masks(pool.table, SubmissionRecord(id=1), rules, TODAY)
    assert masks["training_lapsed"][row] and not masks["training_missing"][row]


# --- renewal ----------------------------------------------------------------------------------


def test_retaking_after_expiry_keeps_the_history_and_supersedes_the_old_certificate(
    trainee, make_course
):
    course = make_course(validity_years=3)
    first = _expiring_in(complete_course(trainee, course), -20)
    first_enrollment = first.enrollment
    second = complete_course(trainee, course)
    assert second.id != first.id and second.enrollment.cycle == 2
    db.session.refresh(first)
    assert first.is_superseded and first.superseded_by_id == second.id
    assert first_enrollment.is_completed and first_enrollment.completed_at is not None
    assert not second.is_superseded and second.state(TODAY) == "valid"
    assert len(queries.certificates_of(db.session, trainee.id)) == 2


def test_renewal_opens_within_the_expiring_window_only(trainee, make_course):
    course = make_course(validity_years=3)
    cert = _expiring_in(complete_course(trainee, course), 200)
    with pytest.raises(CourseError):
        ops.enrol(db.session, trainee, course)
    _expiring_in(cert, 30)
    renewal = ops.enrol(db.session, trainee, course)
    assert renewal.cycle == 2 and not renewal.is_completed
    assert cert.state(TODAY) == "expiring" and not cert.is_superseded  # counts meanwhile


def test_transcript_credits_hours_in_each_completion_year(trainee, make_course):
    course = make_course(validity_years=1, hours=6)
    first = _issued(complete_course(trainee, course), dt.date(TODAY.year - 2, 5, 1))
    second = complete_course(trainee, course)
    _issued(second, dt.date(TODAY.year - 1, 6, 1))
    t = queries.transcript.build(db.session, trainee)
    assert t.hours_by_year == {TODAY.year - 2: 6.0, TODAY.year - 1: 6.0}
    rows = {r.certificate_code: r for r in t.rows}
    assert rows[first.code].validity_state == "superseded"
    assert rows[second.code].validity_state == "lapsed"


# --- reminders --------------------------------------------------------------------------------


def _notes(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


def test_reminders_once_per_threshold_to_holder_and_admins(admin, trainee, make_course):
    course = make_course(validity_years=3)
    cert = _expiring_in(complete_course(trainee, course), 45)
    first = send_expiry_reminders(db.session, TODAY, thresholds=(60, 30, 7))
    db.session.commit()
    assert (first.learners, first.admins) == (1, 1)
    (note,) = _notes("cert_expiring")
    assert note.user_id == trainee.id and note.dedupe_key == reminder_key(cert.id, 60)
    assert cert.code in note.body
    (digest,) = _notes("cert_expiring_digest")
    assert digest.user_id == admin.id and trainee.name in digest.body
    again = send_expiry_reminders(db.session, TODAY, thresholds=(60, 30, 7))
    assert (again.learners, again.admins) == (0, 0)  # idempotent
    later = send_expiry_reminders(db.session, TODAY + dt.timedelta(days=16), thresholds=(60, 30, 7))
    assert later.learners == 1  # the 30-day threshold now
    assert {n.dedupe_key for n in _notes("cert_expiring")} == {
        reminder_key(cert.id, 60),
        reminder_key(cert.id, 30),
    }


def test_no_reminder_for_revoked_superseded_lapsed_or_distant_certificates(
    admin, make_user, make_course
):
    course = make_course(validity_years=3)
    learners = [make_user(Role.TRAINEE) for _ in range(4)]
    revoked = _expiring_in(complete_course(learners[0], course), 20)
    ops.revoke_certificate(db.session, admin, revoked, "作废")
    _expiring_in(complete_course(learners[1], course), -3)  # lapsed: nothing to remind
    _expiring_in(complete_course(learners[2], course), 300)
    old = _expiring_in(complete_course(learners[3], course), 20)
    complete_course(learners[3], course)  # renewed: the old one is superseded
    db.session.refresh(old)
    assert old.is_superseded
    result = send_expiry_reminders(db.session, TODAY, thresholds=(60, 30, 7))
    assert (result.learners, result.admins) == (0, 0)


def test_reminders_run_as_a_scheduled_job_and_from_the_cli(app, admin, trainee, make_course):
    assert schedules(app)["courses.expiry_reminders"].task == "courses.expiry_reminders"
    _expiring_in(complete_course(trainee, make_course(validity_years=2)), 7)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["courses", "remind-expiry"])
    assert out.exit_code == 0 and "1 reminder(s) to holders" in out.output
    out = runner.invoke(args=["courses", "remind-expiry"])
    assert "0 reminder(s) to holders" in out.output


# --- pages ------------------------------------------------------------------------------------


def test_verification_page_shows_validity_and_says_expired(client, trainee, make_course):
    course = make_course(validity_years=3)
    cert = complete_course(trainee, course)
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert 'data-state="valid"' in page and str(cert.valid_until()) in page
    assert "3 years" in page
    _expiring_in(cert, -1)
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert 'data-state="expired"' in page and "Expired" in page and "no longer valid" in page
    complete_course(trainee, course)
    page = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "data-superseded" in page


def test_report_file_and_certificate_list_show_the_lapse(
    client, auth, admin, expert_with_login, make_course, trainee
):
    expert, user = expert_with_login()
    course = make_course(required=True, validity_years=3)
    lapsed = _expiring_in(complete_course(user, course), -10)
    soon = _expiring_in(complete_course(trainee, course), 20)
    auth.login()
    report = client.get("/admin/training/required").get_data(as_text=True)
    assert 'data-state="lapsed"' in report and expert.name in report
    assert 'data-chart="expiring-by-month"' in report
    assert f'data-month="{validity.month_key(soon.valid_until())}" data-count="1"' in report
    file_page = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert 'data-list="file-training"' in file_page and '<li data-state="lapsed">' in file_page
    listed = client.get("/admin/training/certificates?state=lapsed").get_data(as_text=True)
    assert lapsed.code in listed and soon.code not in listed
    listed = client.get("/admin/training/certificates?state=expiring").get_data(as_text=True)
    assert soon.code in listed and lapsed.code not in listed


def test_home_and_my_learning_flag_expiry(client, login, expert_with_login, make_course):
    expert, user = expert_with_login()
    required = make_course(required=True, validity_years=3)
    other = make_course(validity_years=2)
    _expiring_in(complete_course(user, required), -2)
    _expiring_in(complete_course(user, other), 15)
    login(user)
    home = client.get("/").get_data(as_text=True)
    assert 'data-flag="training-lapsed"' in home and 'data-training="lapsed"' in home
    assert 'data-state="expiring"' in home  # the learner's certificate list
    mine = client.get("/me/learning").get_data(as_text=True)
    assert 'data-state="lapsed"' in mine and 'data-state="expiring"' in mine
    assert mine.count(">Renew<") == 2


def test_course_page_offers_renewal_in_the_window(client, login, trainee, make_course):
    course = make_course(validity_years=3)
    cert = _expiring_in(complete_course(trainee, course), 40)
    login(trainee)
    page = client.get(f"/courses/{course.slug}").get_data(as_text=True)
    assert "Take the course again" in page and 'data-state="expiring"' in page
    client.post(f"/courses/{course.slug}/enrol", data={})
    latest = db.session.scalar(
        select(Enrollment).where(Enrollment.user_id == trainee.id).order_by(Enrollment.cycle.desc())
    )
    assert latest.cycle == 2 and cert.enrollment.is_completed


def test_transcript_export_has_the_validity_column(trainee, make_course):
    course = make_course(validity_years=1, hours=4)
    old = _issued(complete_course(trainee, course), dt.date(TODAY.year - 3, 3, 1))
    new = complete_course(trainee, course)
    book = openpyxl.load_workbook(
        io.BytesIO(queries.transcript.to_xlsx(queries.transcript.build(db.session, trainee)))
    )
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[2][6] == "Valid until"
    cells = {r[5]: r[6] for r in rows[3:]}
    assert cells[old.code] == f"{old.valid_until().isoformat()} (superseded by a renewal)"
    assert cells[new.code] == new.valid_until().isoformat()


def test_admin_home_counts_expiring_certificates(client, auth, admin, trainee, make_course):
    course = make_course(validity_years=3)
    _expiring_in(complete_course(trainee, course), 20)
    _expiring_in(complete_course(admin, make_course(validity_years=3)), 300)
    auth.login()
    page = client.get("/").get_data(as_text=True)
    item = page.split('data-queue="certificates_expiring"', 1)[1].split("</a>", 1)[0]
    assert 'href="/admin/training/certificates?state=expiring"' in item
    assert 'data-count="1"' in item
