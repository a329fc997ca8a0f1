"""Reminders (`flask reviews remind`) and e-mail through a fake SMTP server class (no network)."""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from expertpool.db import db, utcnow
from expertpool.reviews import operations as ops
from expertpool.reviews.models import Assignment, Notification

TODAY = dt.date.today()


class FakeSMTP:
    """Stands in for smtplib.SMTP: records what would have been sent."""

    instances: list[FakeSMTP] = []

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        self.host, self.port = host, port
        self.sent: list[EmailMessage] = []
        self.calls: list[str] = []
        FakeSMTP.instances.append(self)

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.calls.append("quit")

    def starttls(self) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login {user}")

    def send_message(self, message: EmailMessage) -> None:
        self.sent.append(message)


class BrokenSMTP(FakeSMTP):
    def send_message(self, message: EmailMessage) -> None:
        raise smtplib.SMTPServerDisconnected("gone")


@pytest.fixture
def fake_smtp(app: Any, monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    FakeSMTP.instances = []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(
        SMTP_HOST="smtp.example.org",
        SMTP_PORT=587,
        SMTP_USER="pool",
        SMTP_PASSWORD="secret",
        SMTP_SENDER="pool@example.org",
    )
    return FakeSMTP


def _panel(admin: Any, pool: Any) -> list[Assignment]:
    members = [(e.id, 0.8, {}) for e in pool.members]
    created = ops.assign_panel(
        db.session, admin, pool.submission, members, [], TODAY + dt.timedelta(days=30)
    )
    db.session.commit()
    return created


def _invited_days_ago(assignment: Assignment, days: int) -> None:
    assignment.invited_at = utcnow() - dt.timedelta(days=days)


def _accept_due(assignment: Assignment, due: dt.date) -> None:
    assignment.status, assignment.due_date = "accepted", due


def _reminders() -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Notification.kind, Notification.assignment_id)
        .where(Notification.kind != "invitation")
        .order_by(Notification.id)
    )
    return [tuple(r) for r in rows]


def test_unanswered_invitations_reminded_once_a_day(app: Any, admin: Any, pool: Any) -> None:
    a1, a2, a3 = _panel(admin, pool)
    _invited_days_ago(a1, 4)
    _invited_days_ago(a2, 2)
    _accept_due(a3, TODAY + dt.timedelta(days=25))
    db.session.commit()
    assert ops.send_reminders(db.session, TODAY, invite_days=3) == 1
    assert ops.send_reminders(db.session, TODAY, invite_days=3) == 0  # never twice a day
    db.session.commit()
    assert _reminders() == [("invite_reminder", a1.id)]
    tomorrow = TODAY + dt.timedelta(days=1)
    assert ops.send_reminders(db.session, tomorrow, invite_days=3) == 2  # a2 now waited 3 days
    note = db.session.scalar(select(Notification).where(Notification.kind == "invite_reminder"))
    assert "waited 4 days" in note.body and note.link == "/reviews/invitations"


def test_reviews_due_soon_or_overdue(app: Any, admin: Any, pool: Any) -> None:
    a1, a2, a3 = _panel(admin, pool)
    _accept_due(a1, TODAY + dt.timedelta(days=3))
    _accept_due(a2, TODAY - dt.timedelta(days=2))
    _accept_due(a3, TODAY + dt.timedelta(days=20))
    db.session.commit()
    assert ops.send_reminders(db.session, TODAY, due_days=7) == 2
    assert sorted(_reminders()) == sorted([("due_soon", a1.id), ("overdue", a2.id)])
    overdue = db.session.scalar(select(Notification).where(Notification.kind == "overdue"))
    assert "2 days ago" in overdue.body and overdue.link == f"/reviews/assignments/{a2.id}/review"
    assert ops.send_reminders(db.session, TODAY, due_days=7) == 0
    a1.status = "completed"  # a submitted review is never reminded
    db.session.commit()
    assert ops.send_reminders(db.session, TODAY + dt.timedelta(days=1), due_days=7) == 1


def test_invitations_and_reminders_are_emailed(
    app: Any, admin: Any, pool: Any, fake_smtp: type[FakeSMTP]
) -> None:
    a1, _a2, _a3 = _panel(admin, pool)
    (server,) = fake_smtp.instances
    assert (server.host, server.port) == ("smtp.example.org", 587)
    assert server.calls == ["starttls", "login pool", "quit"]
    assert sorted(m["To"] for m in server.sent) == sorted(e.email for e in pool.members)
    message = server.sent[0]
    assert message["From"] == "pool@example.org"
    assert message["Subject"].endswith(pool.submission.title)
    assert "http://localhost/reviews/invitations" in message.get_content()
    emailed = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.emailed_at.is_not(None))
    )
    assert emailed == 3
    _invited_days_ago(a1, 5)
    db.session.commit()
    assert ops.send_reminders(db.session, TODAY) == 1
    assert [m["To"] for m in fake_smtp.instances[-1].sent] == [pool.members[0].email]
    assert ops.send_reminders(db.session, TODAY) == 0
    assert len(fake_smtp.instances) == 2  # no connection at all when nothing is due


def test_a_failing_server_keeps_the_inbox_message(
    app: Any, admin: Any, pool: Any, fake_smtp: type[FakeSMTP], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtplib, "SMTP", BrokenSMTP)
    created = _panel(admin, pool)
    assert all(a.status == "invited" for a in created)
    notes = db.session.scalars(select(Notification)).all()
    assert len(notes) == 3 and all(n.emailed_at is None for n in notes)


def test_no_smtp_host_means_no_mail(
    app: Any, admin: Any, pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeSMTP.instances = []
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    _panel(admin, pool)
    assert FakeSMTP.instances == []
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 3


def test_cli_remind_prints_a_count(app: Any, admin: Any, pool: Any, runner: Any) -> None:
    a1, _a2, _a3 = _panel(admin, pool)
    _invited_days_ago(a1, 10)
    db.session.commit()
    day = TODAY.isoformat()
    first = runner.invoke(args=["reviews", "remind", "--date", day])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "1 reminder(s) sent."
    assert (
        runner.invoke(args=["reviews", "remind", "--date", day]).output.strip()
        == "0 reminder(s) sent."
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "invite_reminder")
        )
        == 1
    )
