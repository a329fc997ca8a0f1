"""The public certificate verification page (the QR code on a certificate points here)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from expertpool.core.access import public
from expertpool.db import db

from .. import queries, validity


@public
def verify(code: str) -> Any:
    """Name, course, hours, date and status only: no contact or identity data of the holder."""
    cert = queries.find_certificate(db.session, code)
    if cert is None:
        return render_template("courses/verify.html", cert=None, code=code[:40]), 404
    state = cert.state()
    return render_template(
        "courses/verify.html",
        cert=cert,
        code=cert.code,
        state=state,
        current=state in (validity.VALID, validity.EXPIRING),
        valid_until=cert.valid_until(),
        validity_years=cert.course.validity_years,
    )
