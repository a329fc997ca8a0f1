"""Operations on submissions: create, edit, withdraw, status steps and attachments.

Operations take the acting user explicitly, flush but never commit (the request or CLI command
commits once), and raise `SubmissionError` with a message fit for the user.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..accounts.models import User
from ..core import audit, province_ui, signals, storage
from ..core.assignment.records import email_domain
from ..core.errors import OperationError
from ..core.names import tidy_name
from ..core.pdftext import is_pdf
from ..core.provinces import UnknownProvince, lookup
from ..core.textlists import split_list
from ..experts import institutions
from ..experts.constants import CATEGORIES
from . import text as text_mod
from .constants import CLOSED, NEEDS_GBW, Grade, Kind, ReviewType, SubmissionStatus
from .gbw import parse_gbw
from .models import Attachment, AttachmentText, Submission


class SubmissionError(OperationError):
    """A refused operation; `str(error)` is shown to the user."""


class StaleEdit(SubmissionError):
    def __init__(self) -> None:
        super().__init__(
            str(
                _l(
                    "This submission was changed by someone else after you opened "
                    "the form. Your changes were not saved: reload and edit again."
                )
            )
        )


# Plain fields copied from the data dict as they are (after `normalise`).
PLAIN_FIELDS = (
    "reference",
    "kind",
    "review_type",
    "grade",
    "title",
    "rm_name",
    "gbw_number",
    "category",
    "matrix",
    "analytes",
    "methods",
    "intended_use",
    "applicant_province",
    "applicant_people",
    "contact_people",
    "contact_emails",
    "contact_domains",
    "description",
    "window_start",
    "window_end",
)
LIST_FIELDS = ("analytes", "methods", "applicant_people", "contact_people")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# status -> statuses it may move to (withdrawal is separate: from any open status)
TRANSITIONS: dict[str, frozenset[str]] = {
    SubmissionStatus.REGISTERED: frozenset({SubmissionStatus.MATCHING, SubmissionStatus.ASSIGNED}),
    SubmissionStatus.MATCHING: frozenset({SubmissionStatus.REGISTERED, SubmissionStatus.ASSIGNED}),
    SubmissionStatus.ASSIGNED: frozenset({SubmissionStatus.IN_REVIEW, SubmissionStatus.COMPLETED}),
    SubmissionStatus.IN_REVIEW: frozenset({SubmissionStatus.COMPLETED}),
    SubmissionStatus.COMPLETED: frozenset(),
    SubmissionStatus.WITHDRAWN: frozenset(),
}

ALLOWED_EXTENSIONS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".txt", ".jpg", ".jpeg", ".png", ".zip"}
)


# --- validation shared with the importer -------------------------------------------------------

Problem = tuple[str, str]  # (field key, message)


def normalise(
    data: dict[str, Any], current_province: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Check a submission's plain data for consistency; fill what the GBW number implies.

    Returns the cleaned copy and every problem found (an empty list means valid). The form and
    the importer both call this, so they accept exactly the same submissions. The province
    becomes its canonical name; `current_province` (the stored one) is kept even when it is
    outside the vocabulary. The list fields may be typed text or lists: `core.textlists`
    splits and tidies them the same for every entry path.
    """
    out = {key: data.get(key) for key in PLAIN_FIELDS}
    out["applicant_institution"] = tidy_name(data.get("applicant_institution")) or None
    for key in LIST_FIELDS:  # typed text is split, a list (import, JSON) taken item by item
        out[key] = split_list(out[key])
    problems: list[Problem] = _contact_emails(out, data.get("contact_emails"))
    try:
        out["applicant_province"] = province_ui.clean(out["applicant_province"], current_province)
    except UnknownProvince as exc:
        problems.append(("applicant_province", province_ui.unknown_province_message(exc.text)))
        out["applicant_province"] = None
    if not (out["title"] or "").strip():
        problems.append(("title", str(_l("A value is required."))))
    if not out["applicant_institution"]:
        problems.append(("applicant_institution", str(_l("A value is required."))))
    if out["kind"] not in set(Kind):
        problems.append(("kind", str(_l("Unknown kind of submission."))))
    problems += _check_gbw(out)
    if out["kind"] == Kind.RM_CERTIFICATION:
        problems += _check_certification(out)
    else:
        out["review_type"] = out["grade"] = None  # meaningless for technical assistance
    if out["category"] is not None and out["category"] not in CATEGORIES:
        problems.append(("category", str(_l("Unknown category: use the codes 01-13."))))
    start, end = out["window_start"], out["window_end"]
    if start and end and end < start:
        problems.append(("window_end", str(_l("The review window ends before it starts."))))
    return out, problems


def _contact_emails(out: dict[str, Any], value: Any) -> list[Problem]:
    """The contacts' addresses, one per line (stored encrypted), and their domains in clear:
    recusal compares domains only, so matching never decrypts an address."""
    emails = [e.casefold() for e in split_list(value)]
    out["contact_emails"] = "\n".join(emails) or None
    out["contact_domains"] = sorted({email_domain(e) for e in emails if _EMAIL.match(e)})
    return [
        ("contact_emails", str(_l("“%(value)s” is not an e-mail address.", value=e)))
        for e in emails
        if not _EMAIL.match(e)
    ]


def _check_gbw(out: dict[str, Any]) -> list[Problem]:
    """Canonical GBW spelling; grade and category follow from the number when not given."""
    if not out["gbw_number"]:
        out["gbw_number"] = None
        return []
    number = parse_gbw(out["gbw_number"])
    if number is None:
        return [
            (
                "gbw_number",
                str(
                    _l(
                        "“%(value)s” is not a GBW number: write GBW 08301 "
                        "(first grade) or GBW(E) 080123 (second grade).",
                        value=out["gbw_number"],
                    )
                ),
            )
        ]
    out["gbw_number"] = number.display
    problems: list[Problem] = []
    if out["kind"] == Kind.RM_CERTIFICATION:
        if out["grade"] and out["grade"] != number.grade:
            problems.append(
                (
                    "grade",
                    str(
                        _l(
                            "The grade does not match the GBW number %(number)s.",
                            number=number.display,
                        )
                    ),
                )
            )
        out["grade"] = out["grade"] or number.grade.value
    if out["category"] is not None and out["category"] != number.category:
        problems.append(
            (
                "category",
                str(
                    _l(
                        "The category does not match the GBW number "
                        "%(number)s (category %(code)02d).",
                        number=number.display,
                        code=number.category,
                    )
                ),
            )
        )
    if out["category"] is None:
        out["category"] = number.category
    return problems


def _check_certification(out: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    required = str(_l("Required for an RM certification review."))
    if out["review_type"] not in set(ReviewType):
        problems.append(("review_type", required))
    if out["grade"] not in set(Grade):
        problems.append(("grade", required))
    if not (out["rm_name"] or "").strip():
        problems.append(("rm_name", required))
    if out["category"] is None:
        problems.append(("category", required))
    if out["review_type"] in NEEDS_GBW and not out["gbw_number"]:
        problems.append(("gbw_number", str(_l("Required for a reproduction or re-certification."))))
    return problems


def check_version(submission: Submission, expected_version: int | None) -> None:
    """Refuse a form built from an older version of the record."""
    if expected_version is not None and expected_version != submission.version:
        raise StaleEdit()


# --- creating and editing ---------------------------------------------------------------------


def create_submission(
    session: Session, actor: User | None, data: dict[str, Any], *, flush: bool = True
) -> Submission:
    """Register a submission from plain data (administrator form, import; `flush=False`: a bulk
    import writes the whole file at once, `core.bulk`)."""
    clean = _valid(data)
    submission = Submission(
        status=SubmissionStatus.REGISTERED, created_by_id=getattr(actor, "id", None)
    )
    _apply(session, submission, clean, flush=flush)
    session.add(submission)
    if flush:
        session.flush()
    return submission


def update_submission(
    session: Session,
    actor: User,
    submission: Submission,
    data: dict[str, Any],
    expected_version: int | None,
) -> Submission:
    check_version(submission, expected_version)
    if submission.status in CLOSED:
        raise SubmissionError(str(_l("A completed or withdrawn submission cannot be edited.")))
    _apply(session, submission, _valid(data, submission.applicant_province))
    session.flush()
    return submission


def _valid(data: dict[str, Any], current_province: str | None = None) -> dict[str, Any]:
    clean, problems = normalise(data, current_province)
    if problems:
        raise SubmissionError("; ".join(message for _key, message in problems))
    return clean


def _apply(
    session: Session, submission: Submission, clean: dict[str, Any], *, flush: bool = True
) -> None:
    for key in PLAIN_FIELDS:
        setattr(submission, key, clean[key])
    # A kept value outside the vocabulary stays on this submission only, never a new institution.
    inst = institutions.get_or_create(
        session, clean["applicant_institution"], lookup(clean["applicant_province"]), flush=flush
    )
    submission.applicant_institution = inst
    # The institution's province, when it is one of the vocabulary (not a legacy value).
    submission.applicant_province = clean["applicant_province"] or lookup(inst.province)
    submission.reference = (clean["reference"] or "").strip() or None


def reference_taken(session: Session, reference: str, but: int | None = None) -> bool:
    stmt = select(Submission.id).where(Submission.reference == reference)
    if but is not None:
        stmt = stmt.where(Submission.id != but)
    return session.scalar(stmt) is not None


def withdraw_submission(
    session: Session,
    actor: User,
    submission: Submission,
    reason: str,
    expected_version: int | None = None,
) -> Submission:
    """Withdraw an open submission; sends `submission_withdrawn` (reviews cancels its panel)."""
    check_version(submission, expected_version)
    reason = (reason or "").strip()
    if not reason:
        raise SubmissionError(str(_l("A reason is required.")))
    if submission.status in CLOSED:
        raise SubmissionError(str(_l("This submission is already closed.")))
    audit.set_note(session, reason)
    submission.status, submission.status_reason = SubmissionStatus.WITHDRAWN, reason
    session.flush()
    signals.submission_withdrawn.send(submission, session=session, actor=actor, reason=reason)
    return submission


def set_status(session: Session, submission: Submission, status: str) -> bool:
    """Move along the review steps; False (and no change) when the step does not apply.

    A step follows from what happened to the panel (an expert accepted, the last review came in),
    and two experts answering at the same moment must both be kept. So the step is one
    `UPDATE ... WHERE status = <old>` that leaves the version alone, and is audited here: a
    versioned write of the row would refuse the second answer as a concurrent edit of the
    submission (`StaleDataError`), and an administrator's form open on the submission stays valid.
    """
    old = submission.status
    if status == old or status not in TRANSITIONS.get(old, ()):
        return False
    moved = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == old)
        .values(status=status)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:  # another request took this step (or another) first: read where it is now
        session.expire(submission, ["status"])
        return False
    set_committed_value(submission, "status", status)
    audit.record(
        session, "Submission", "update", {"status": [old, status]}, entity_id=submission.id
    )
    return True


# --- attachments ------------------------------------------------------------------------------


def add_attachment(
    session: Session,
    actor: User | None,
    submission: Submission,
    filename: str,
    data: bytes,
    upload_folder: str | Path,
    content_type: str | None = None,
) -> Attachment:
    """Store the file under UPLOAD_FOLDER with a random name and keep its text for matching."""
    name = Path(filename or "").name.strip()
    ext = Path(name).suffix.lower()
    if not name or ext not in ALLOWED_EXTENSIONS:
        raise SubmissionError(
            str(
                _l(
                    "This kind of file cannot be attached (allowed: %(exts)s).",
                    exts=", ".join(sorted(ALLOWED_EXTENSIONS)),
                )
            )
        )
    if not data:
        raise SubmissionError(str(_l("The file is empty.")))
    if ext == ".pdf" and not is_pdf(data):
        raise SubmissionError(str(_l("This file is not a PDF.")))
    relative = storage.save(upload_folder, f"submissions/{submission.id}", name, data)
    extracted = text_mod.extract_text(ext, data)
    attachment = Attachment(
        submission_id=submission.id,
        filename=name[:256],
        stored_path=relative,
        content_type=content_type,
        size=len(data),
        text_chars=len(extracted),
        uploaded_by_id=getattr(actor, "id", None),
    )
    if extracted:
        attachment.text_row = AttachmentText(text=extracted)
    session.add(attachment)
    session.flush()
    return attachment


def remove_attachment(
    session: Session,
    actor: User,
    submission: Submission,
    attachment_id: int,
    upload_folder: str | Path,
) -> None:
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.submission_id != submission.id:
        raise SubmissionError(str(_l("No such attachment.")))
    stored = attachment.stored_path
    session.delete(attachment)
    session.flush()
    storage.delete(upload_folder, stored)
