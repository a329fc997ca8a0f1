"""Reminders before a certificate expires, to its holder and to the administrators.

Run daily by the job `courses.expiry_reminders` (TRAINING_REMINDER_CRON) and by
`flask courses remind-expiry`. Each open certificate (`queries.recertification`) gets one
reminder per threshold of TRAINING_REMINDER_DAYS (default 60, 30, 7 days before expiry): the
holder's message carries the key "cert_expiry:<certificate>:<days>", unique in the inbox, so a
second run, another worker or a retried job adds nothing. Each active administrator gets one
digest per run listing the certificates reminded in it (none when nothing new was reminded).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from expertpool.notifications import service
from expertpool.notifications.models import Notification

from .. import validity
from ..models import Certificate
from ..queries.recertification import open_certificates

KIND = "cert_expiring"
DIGEST_KIND = "cert_expiring_digest"
DIGEST_LINES = 30  # certificates named in an administrators' digest; the rest are counted


@dataclass
class ReminderResult:
    learners: int = 0  # messages to holders
    admins: int = 0  # digests to administrators

    def as_dict(self) -> dict[str, int]:
        return {"learners": self.learners, "admins": self.admins}


def reminder_key(certificate_id: int, threshold: int) -> str:
    return f"cert_expiry:{certificate_id}:{threshold}"


def due_reminders(
    certificates: Iterable[Certificate], today: dt.date, thresholds: Iterable[int]
) -> list[tuple[Certificate, int]]:
    """(certificate, threshold) of every reminder due on `today`, sent or not."""
    thresholds = tuple(thresholds)
    due = []
    for cert in certificates:
        threshold = validity.reminder_due(cert.valid_until(), today, thresholds)
        if threshold is not None:
            due.append((cert, threshold))
    return due


def _already_sent(session: Session, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys)))
    )


def send_expiry_reminders(
    session: Session, today: dt.date, *, thresholds: Iterable[int] | None = None
) -> ReminderResult:
    """Remind holders and administrators of certificates reaching a threshold (idempotent)."""
    if thresholds is None:
        thresholds = validity.parse_days(_setting("TRAINING_REMINDER_DAYS"))
    due = due_reminders(open_certificates(session), today, thresholds)
    sent = _already_sent(session, [reminder_key(c.id, t) for c, t in due])
    fresh = [(c, t) for c, t in due if reminder_key(c.id, t) not in sent]
    notes = [_to_holder(session, cert, threshold, today) for cert, threshold in fresh]
    result = ReminderResult(learners=len(notes))
    if fresh:
        digests = _to_admins(session, fresh, today)
        result.admins = len(digests)
        notes.extend(digests)
    session.flush()
    service.send_mail(notes)
    return result


def _setting(name: str) -> object:
    from flask import current_app

    return current_app.config.get(name)


def _to_holder(session: Session, cert: Certificate, threshold: int, today: dt.date) -> Notification:
    until = cert.valid_until()
    left = (until - today).days if until else 0

    def texts() -> tuple[str, str]:
        return (
            _(
                "Your certificate “%(course)s” expires on %(date)s",
                course=cert.course_title,
                date=until,
            ),
            _(
                "Your certificate %(code)s of “%(course)s” expires in %(days)s days, on %(date)s. "
                "Take the course again before then to renew it: the new certificate replaces it "
                "and your earlier completion stays on your transcript.",
                code=cert.code,
                course=cert.course_title,
                days=left,
                date=until,
            ),
        )

    return service.notify(
        session,
        KIND,
        texts,
        user=cert.user,
        target=service.link("courses.course", slug=cert.course.slug),
        dedupe_key=reminder_key(cert.id, threshold),
    )


def _to_admins(
    session: Session, fresh: list[tuple[Certificate, int]], today: dt.date
) -> list[Notification]:
    ids = ",".join(str(c.id) for c, _t in fresh)
    stamp = hashlib.sha256(ids.encode()).hexdigest()[:16]
    listed = sorted(fresh, key=lambda pair: (pair[0].valid_until() or today, pair[0].id))

    def texts() -> tuple[str, str]:
        lines = [
            _(
                "%(name)s · “%(course)s” · expires on %(date)s",
                name=c.learner_name,
                course=c.course_title,
                date=c.valid_until(),
            )
            for c, _t in listed[:DIGEST_LINES]
        ]
        if len(listed) > DIGEST_LINES:
            lines.append(_("… and %(n)s more", n=len(listed) - DIGEST_LINES))
        return (
            _("%(n)s certificate(s) expire soon", n=len(listed)),
            "\n".join(lines),
        )

    target = service.link("courses.admin_certificates", state=validity.EXPIRING)
    return [
        service.notify(
            session,
            DIGEST_KIND,
            texts,
            user=admin,
            target=target,
            dedupe_key=f"cert_expiry_digest:{admin.id}:{today.isoformat()}:{stamp}",
        )
        for admin in service.active_admins(session)
    ]
