"""E-mail for notifications, through smtplib, only when SMTP_HOST is configured.

A failed delivery is logged and leaves `emailed_at` empty; it never undoes the in-app message.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from ..db import utcnow
from .models import Notification

log = logging.getLogger(__name__)

SSL_PORT = 465


def enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("SMTP_HOST"))


def deliver(notifications: Sequence[Notification], config: Mapping[str, Any]) -> int:
    """E-mail every notification that has an address and was not sent yet; returns how many."""
    pending = [n for n in notifications if n.email_to and n.emailed_at is None]
    if not pending or not enabled(config):
        return 0
    try:
        with _connect(config) as smtp:
            for note in pending:
                smtp.send_message(_message(note, config))
                note.emailed_at = utcnow()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("e-mail delivery failed via %r: %r", config.get("SMTP_HOST"), exc)
    return sum(1 for n in pending if n.emailed_at is not None)


def _connect(config: Mapping[str, Any]) -> smtplib.SMTP:
    host, port = config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25)
    # Looked up at call time so tests can put a fake server class in place.
    if port == SSL_PORT:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=20)
    else:
        smtp = smtplib.SMTP(host, port, timeout=20)
        if config.get("SMTP_USER"):
            smtp.starttls()  # never send a password in clear text
    if config.get("SMTP_USER"):
        smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return smtp


def _message(note: Notification, config: Mapping[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.get("SMTP_SENDER") or "noreply@example.org"
    message["To"] = note.email_to
    message["Subject"] = note.subject
    body = note.body
    if note.link:
        body += "\n\n" + absolute(note.link, config)
    message.set_content(body)
    return message


def absolute(link: str, config: Mapping[str, Any]) -> str:
    """The link as a full URL when the server's name is known, else the path."""
    server = config.get("SERVER_NAME")
    if not server or link.startswith(("http://", "https://")):
        return link
    return f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{server}{link}"
