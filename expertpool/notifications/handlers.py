"""Messages for the decisions that concern a person, connected to the events of `core.signals`.

The one place where cross-feature reactions are wired (`connect`, called by the app factory).
Receivers read the sender by duck typing (an expert's `user_id`/`email`, a certificate's
`user_id`/`code`), so this package imports no feature.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import signals
from . import service
from .models import Notification


def connect() -> None:
    """Connect every receiver (idempotent: blinker keeps one connection per receiver)."""
    signals.expert_vetted.connect(on_expert_vetted)
    signals.change_decided.connect(on_change_decided)
    signals.violation_decided.connect(on_violation_decided)
    signals.objection_answered.connect(on_objection_answered)
    signals.certificate_issued.connect(on_certificate_issued)
    signals.certificate_revoked.connect(on_certificate_revoked)


def _my_file() -> str:
    return service.link("experts.my_file")


def _send(session: Session, note: Notification) -> None:
    session.flush()
    service.send_mail([note])


# --- experts ----------------------------------------------------------------------------------


def on_expert_vetted(
    expert: Any, *, session: Session, action: str, reason: str | None = None, **_kw: Any
) -> None:
    approved = action == "approve"

    def texts() -> tuple[str, str]:
        if approved:
            term = (
                _(
                    "Your appointment term runs from %(start)s to %(end)s.",
                    start=expert.term_start.isoformat(),
                    end=expert.term_end.isoformat(),
                )
                if expert.term_start and expert.term_end
                else ""
            )
            return (
                _("Your application to the expert pool was approved"),
                " ".join(
                    part
                    for part in (
                        _("Welcome to the national RM review expert pool."),
                        term,
                        _("Please keep your technical file up to date."),
                    )
                    if part
                ),
            )
        return (
            _("Your application to the expert pool was not approved"),
            _("Reason: %(reason)s", reason=reason or "—"),
        )

    kind = "vetting_approved" if approved else "vetting_rejected"
    _send(session, service.to_expert(session, expert, kind, texts, target=_my_file()))


def on_change_decided(change: Any, *, session: Session, **_kw: Any) -> None:
    if change.kind == "status":  # administrators' proposal, not the expert's request
        return
    approved = change.status == "approved"
    expert = change.expert

    def texts() -> tuple[str, str]:
        what = {
            "review_fields": _("change of review fields"),
            "correction": _("request to correct your data"),
        }.get(change.kind, _("change of institution"))
        if approved:
            return (
                _("Your %(what)s was approved", what=what),
                _("Your %(what)s is now in your technical file.", what=what),
            )
        return (
            _("Your %(what)s was rejected", what=what),
            _("Reason: %(reason)s", reason=change.decision_reason or "—"),
        )

    kind = "change_approved" if approved else "change_rejected"
    _send(session, service.to_expert(session, expert, kind, texts, target=_my_file()))


def on_violation_decided(violation: Any, *, session: Session, **_kw: Any) -> None:
    """The expert learns the decision (never the internal note) and where to object."""

    def texts() -> tuple[str, str]:
        return (
            _("A decision about a violation concerns you"),
            " ".join(
                (
                    _("Decision: %(decision)s", decision=violation.decision or "—"),
                    _("You may file an objection from your violation decisions page."),
                )
            ),
        )

    target = service.link("experts.my_violations")
    _send(
        session,
        service.to_expert(session, violation.expert, "violation_decided", texts, target=target),
    )


def on_objection_answered(violation: Any, *, session: Session, **_kw: Any) -> None:
    upheld = violation.objection_outcome == "upheld"

    def texts() -> tuple[str, str]:
        return (
            _("Your objection was upheld") if upheld else _("Your objection was rejected"),
            _("Answer: %(answer)s", answer=violation.objection_answer or "—"),
        )

    target = service.link("experts.my_violations")
    _send(
        session,
        service.to_expert(session, violation.expert, "objection_answered", texts, target=target),
    )


# --- certificates -----------------------------------------------------------------------------


def _learner(session: Session, certificate: Any) -> User | None:
    return session.get(User, certificate.user_id)


def on_certificate_issued(certificate: Any, *, session: Session, **_kw: Any) -> None:
    user = _learner(session, certificate)
    if user is None:
        return

    def texts() -> tuple[str, str]:
        return (
            _("Certificate issued: %(course)s", course=certificate.course_title),
            _(
                "You completed “%(course)s” (%(hours)s hours). Your certificate number is "
                "%(code)s.",
                course=certificate.course_title,
                hours=f"{certificate.hours:g}",
                code=certificate.code,
            ),
        )

    target = service.link("courses.certificate_pdf", code=certificate.code)
    _send(session, service.to_user(session, user, "certificate_issued", texts, target=target))


def on_certificate_revoked(certificate: Any, *, session: Session, **_kw: Any) -> None:
    user = _learner(session, certificate)
    if user is None:
        return

    def texts() -> tuple[str, str]:
        return (
            _("Certificate revoked: %(course)s", course=certificate.course_title),
            _(
                "Your certificate %(code)s for “%(course)s” was revoked. Reason: %(reason)s",
                code=certificate.code,
                course=certificate.course_title,
                reason=certificate.revoked_reason or "—",
            ),
        )

    target = service.link("courses.transcript")
    _send(session, service.to_user(session, user, "certificate_revoked", texts, target=target))
