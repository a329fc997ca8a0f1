"""Operations on experts: life cycle, self-service edits, pending changes and assessments.

Operations take the acting user explicitly, flush but never commit (the request or CLI command
commits once), and raise `ExpertError` subclasses with a message fit for the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit, pii, province_ui, signals
from ..core.access import Role
from ..core.errors import OperationError
from ..core.idnumbers import InvalidIdNumber, normalise_id_number
from ..core.names import tidy_name
from ..core.provinces import UnknownProvince, lookup
from ..core.textlists import split_list
from ..db import utcnow
from . import institutions
from .constants import CATEGORIES, SPECIALTY_KINDS, Status
from .models import (
    Assessment,
    ConflictOfInterest,
    DevelopedRM,
    Employment,
    Expert,
    ExpertCategory,
    PendingChange,
    Publication,
    Specialty,
    StatusEvent,
    UnavailablePeriod,
)


class ExpertError(OperationError):
    """A refused operation; `str(error)` is shown to the user."""


class StaleEdit(ExpertError):
    def __init__(self) -> None:
        super().__init__(
            str(
                _l(
                    "This record was changed by someone else after you opened the "
                    "form. Your changes were not saved: reload and edit again."
                )
            )
        )


class InvalidTransition(ExpertError):
    pass


# Ordinary fields an expert edits at once; review fields and the institution need approval.
ORDINARY_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "department",
    "city",
    "title",
    "title_grade",
    "education",
    "years_experience",
    "summary",
)
ADMIN_ONLY_FIELDS = ("id_number", "email", "province")

# status -> operations that may leave it (operation name -> resulting status)
TRANSITIONS: dict[str, dict[str, str]] = {
    Status.APPLICANT: {
        "start_vetting": Status.VETTING,
        "approve": Status.ACTIVE,
        "reject": Status.REMOVED,
    },
    Status.VETTING: {"approve": Status.ACTIVE, "reject": Status.REMOVED},
    Status.ACTIVE: {
        "renew": Status.ACTIVE,
        "suspend": Status.SUSPENDED,
        "retire": Status.RETIRED,
        "remove": Status.REMOVED,
    },
    Status.SUSPENDED: {
        "reinstate": Status.ACTIVE,
        "retire": Status.RETIRED,
        "remove": Status.REMOVED,
    },
    Status.RETIRED: {"remove": Status.REMOVED},
    Status.REMOVED: {},
}
VETTING_DECISIONS = {"approve", "reject"}  # from applicant/vetting: the expert is told
NEEDS_REASON = {"reject", "suspend", "reinstate", "retire", "remove"}


def check_version(expert: Expert, expected_version: int | None) -> None:
    """Refuse a form built from an older version of the record."""
    if expected_version is not None and expected_version != expert.version:
        raise StaleEdit()


def touch(expert: Expert) -> None:
    expert.file_updated_at = utcnow()


# --- life cycle -------------------------------------------------------------------------------


def allowed_actions(expert: Expert) -> list[str]:
    return list(TRANSITIONS.get(expert.status, {}))


def transition_target(expert: Expert, action: str) -> str:
    """The status `action` leads to from the expert's current one, or `InvalidTransition`."""
    target = TRANSITIONS.get(expert.status, {}).get(action)
    if target is None:
        raise _impossible(expert, action)
    return target


def _impossible(expert: Expert, action: str) -> InvalidTransition:
    return InvalidTransition(
        str(
            _l(
                "“%(action)s” is not possible for an expert who is %(status)s.",
                action=action,
                status=expert.status,
            )
        )
    )


def change_status(
    session: Session,
    actor: User,
    expert: Expert,
    action: str,
    *,
    reason: str | None = None,
    term_start: dt.date | None = None,
    term_end: dt.date | None = None,
    term_years: int = 5,
    expected_version: int | None = None,
) -> Expert:
    """Apply a life-cycle step (approve, reject, renew, suspend, ...) with its reason."""
    check_version(expert, expected_version)
    target = transition_target(expert, action)
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and not reason:
        raise ExpertError(str(_l("A reason is required.")))
    if action in ("approve", "renew"):
        _set_term(expert, action, term_start, term_end, term_years)
    audit.set_note(session, reason)
    expert.status_events.append(
        StatusEvent(
            from_status=expert.status, to_status=target, reason=reason or action, actor_id=actor.id
        )
    )
    vetted = expert.status in (Status.APPLICANT, Status.VETTING) and action in VETTING_DECISIONS
    expert.status, expert.status_reason = target, reason
    expert.status_changed_at = utcnow()
    touch(expert)
    session.flush()
    if vetted:
        signals.expert_vetted.send(
            expert, session=session, actor=actor, action=action, reason=reason
        )
    return expert


def warn(session: Session, actor: User, expert: Expert, reason: str) -> StatusEvent:
    """A formal warning (警告): a life-cycle step that keeps the status, kept with its reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ExpertError(str(_l("A reason is required.")))
    if expert.status not in (Status.ACTIVE, Status.SUSPENDED):
        raise _impossible(expert, "warn")
    audit.set_note(session, reason)
    event = StatusEvent(
        from_status=expert.status, to_status=expert.status, reason=reason, actor_id=actor.id
    )
    expert.status_events.append(event)
    session.flush()
    return event


def _set_term(
    expert: Expert, action: str, start: dt.date | None, end: dt.date | None, years: int
) -> None:
    if action == "renew" and start is None:
        # Renewal continues the current term without a gap.
        start = expert.term_end + dt.timedelta(days=1) if expert.term_end else dt.date.today()
    start = start or dt.date.today()
    end = end or _add_years(start, years) - dt.timedelta(days=1)
    if end <= start:
        raise ExpertError(str(_l("The term must end after it starts.")))
    expert.term_start, expert.term_end = start, end


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- creating and editing ---------------------------------------------------------------------


@dataclass
class ReviewFields:
    """The fields whose change is a 审评项目变更.

    Each kind's specialties may be given as typed text ("铅、镉") or as a list: both go through
    the one list rule (`core.textlists.split_list`), whether they come from the form, an import
    or a stored pending change.
    """

    categories: list[int]
    specialties: dict[str, list[str]]
    metrology_competent: bool

    def __post_init__(self) -> None:
        self.specialties = {k: split_list(v) for k, v in (self.specialties or {}).items()}

    @classmethod
    def of(cls, expert: Expert) -> ReviewFields:
        return cls(
            categories=sorted(expert.category_codes),
            specialties={k: expert.specialties_of(k) for k in SPECIALTY_KINDS},
            metrology_competent=expert.metrology_competent,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "categories": self.categories,
            "specialties": self.specialties,
            "metrology_competent": self.metrology_competent,
        }


SPECIALTY_MAX = 64  # Specialty.name is String(64); PostgreSQL refuses longer values


def validate_specialties(specialties: dict[str, list[str]]) -> None:
    too_long = [
        n for names in specialties.values() for n in names if len(n.strip()) > SPECIALTY_MAX
    ]
    if too_long:
        raise ExpertError(
            str(
                _l(
                    "A specialty may have at most %(n)s characters: %(name)s",
                    n=SPECIALTY_MAX,
                    name=too_long[0][:20] + "…",
                )
            )
        )


def validate_categories(codes: list[int]) -> list[int]:
    bad = [c for c in codes if c not in CATEGORIES]
    if bad:
        raise ExpertError(str(_l("Unknown category: %(codes)s", codes=bad)))
    return sorted(set(codes))


def apply_review_fields(expert: Expert, fields: ReviewFields) -> None:
    """Replace categories/specialties, keeping unchanged rows so the audit shows real changes."""
    wanted = set(validate_categories(fields.categories))
    validate_specialties(fields.specialties)
    expert.categories = [c for c in expert.categories if c.code in wanted]
    have = set(expert.category_codes)
    expert.categories.extend(ExpertCategory(code=c) for c in sorted(wanted - have))
    pairs = [
        (kind, name.strip())
        for kind in SPECIALTY_KINDS
        for name in fields.specialties.get(kind, [])
        if name.strip()
    ]
    keep = [s for s in expert.specialties if (s.kind, s.name) in pairs]
    kept = {(s.kind, s.name) for s in keep}
    new = [Specialty(kind=k, name=n) for k, n in dict.fromkeys(pairs) if (k, n) not in kept]
    expert.specialties = keep + new
    expert.metrology_competent = fields.metrology_competent


def create_expert(
    session: Session,
    actor: User | None,
    data: dict[str, Any],
    *,
    status: str = Status.APPLICANT,
    flush: bool = True,
) -> Expert:
    """Create an expert from plain data (registration, administrator entry, import, demo).

    `flush=False` (bulk imports) leaves the expert and a new institution pending, so a whole
    file is written at once (`core.bulk`)."""
    data = _with_clean_province(_with_clean_id_number(data), None)
    if flush:  # (an import checks its whole file at once)
        refuse_taken_email(session, data.get("email"))
    expert = Expert(status=status)
    for key in ORDINARY_FIELDS + ADMIN_ONLY_FIELDS:
        if key in data:
            setattr(expert, key, data[key])
    if data.get("institution"):
        inst = institutions.get_or_create(
            session, data["institution"], data.get("province"), data.get("city"), flush=flush
        )
        expert.institution = inst
        expert.province = expert.province or lookup(inst.province)
        expert.city = expert.city or inst.city
    for key in ("user_id", "term_start", "term_end", "status_reason"):
        if data.get(key) is not None:
            setattr(expert, key, data[key])
    apply_review_fields(
        expert,
        ReviewFields(
            categories=list(data.get("categories", [])),
            specialties=data.get("specialties", {}),
            metrology_competent=bool(data.get("metrology_competent", False)),
        ),
    )
    expert.status_events.append(
        StatusEvent(
            to_status=status,
            reason=data.get("status_reason") or "created",
            actor_id=getattr(actor, "id", None),
        )
    )
    session.add(expert)
    if flush:
        session.flush()
    return expert


def _with_clean_province(data: dict[str, Any], current: str | None) -> dict[str, Any]:
    """`data` with its province as the canonical name; an unknown one is refused."""
    if "province" not in data:
        return data
    try:
        return {**data, "province": province_ui.clean(data["province"], current)}
    except UnknownProvince as exc:
        raise ExpertError(province_ui.unknown_province_message(exc.text)) from None


def invalid_id_number_message(exc: InvalidIdNumber) -> str:
    """What the form, the import and the operation say about an invalid ID number."""
    problem = {
        InvalidIdNumber.LENGTH: _l("must have 18 characters (it has %(n)d)", **exc.params),
        InvalidIdNumber.FORM: _l("must be 17 digits followed by a digit or X"),
        InvalidIdNumber.BIRTH_DATE: _l("holds an impossible birth date (%(date)s)", **exc.params),
        InvalidIdNumber.CHECK_DIGIT: _l(
            "the check digit is wrong (expected %(digit)s): check for a typing error",
            **exc.params,
        ),
    }[exc.reason]
    return str(_l("Invalid ID number: %(problem)s.", problem=str(problem)))


def _with_clean_id_number(data: dict[str, Any], current: str | None = None) -> dict[str, Any]:
    """`data` with its ID number normalised (None when blank); an invalid one is refused.

    Every path that sets an ID number (the administrator's forms, the import, the demo data)
    comes through here, so each refuses the same numbers with the same message. `current` (the
    stored number, possibly saved before the check digit was checked on every path) may stay
    as it is, like a legacy province, so editing the phone number is not blocked by it.
    """
    if "id_number" not in data:
        return data
    if current and (data["id_number"] or "").strip() == current:
        return data
    try:
        return {**data, "id_number": normalise_id_number(data["id_number"])}
    except InvalidIdNumber as exc:
        raise ExpertError(invalid_id_number_message(exc)) from None


def update_ordinary(
    session: Session,
    actor: User,
    expert: Expert,
    data: dict[str, Any],
    expected_version: int | None,
) -> Expert:
    """Fields that apply at once (contact, title, education, summary, ...)."""
    check_version(expert, expected_version)
    allowed = ORDINARY_FIELDS + (ADMIN_ONLY_FIELDS if actor.is_admin else ())
    if "province" in allowed:
        data = _with_clean_id_number(data, expert.id_number)
        data = _with_clean_province(data, expert.province)
    if "email" in allowed and data.get("email") != expert.email:
        refuse_taken_email(session, data.get("email"), but=expert.id)
    for key in allowed:
        if key in data:
            setattr(expert, key, data[key])
    touch(expert)
    session.flush()
    return expert


def refuse_taken_email(session: Session, email: str | None, *, but: int | None = None) -> None:
    """Refuse an e-mail another expert's file has (the column is unique)."""
    if not email:
        return
    stmt = select(Expert.id).where(Expert.email == email)
    if but is not None:
        stmt = stmt.where(Expert.id != but)
    if session.scalar(stmt) is not None:
        raise ExpertError(str(_l("Another expert's file has the e-mail %(email)s.", email=email)))


def request_review_fields(
    session: Session,
    actor: User,
    expert: Expert,
    fields: ReviewFields,
    expected_version: int | None,
) -> PendingChange | None:
    """An expert's 审评项目变更: pending until approved (administrators apply it directly)."""
    check_version(expert, expected_version)
    validate_categories(fields.categories)
    validate_specialties(fields.specialties)
    before = ReviewFields.of(expert).as_dict()
    if before == fields.as_dict():
        return None
    if actor.is_admin:
        apply_review_fields(expert, fields)
        touch(expert)
        session.flush()
        return None
    return _pending(session, actor, expert, "review_fields", before, fields.as_dict())


def request_institution(
    session: Session, actor: User, expert: Expert, name: str, expected_version: int | None
) -> PendingChange | None:
    """A change of institution: pending until approved (administrators apply it directly)."""
    check_version(expert, expected_version)
    name = tidy_name(name)
    if not name:
        raise ExpertError(str(_l("The institution is required.")))
    current = expert.institution.name if expert.institution else None
    target = institutions.resolve(session, name)
    if target is not None and current == target.name:
        return None
    if actor.is_admin:
        _move_institution(session, expert, name)
        session.flush()
        return None
    return _pending(
        session,
        actor,
        expert,
        "institution",
        {"institution": current},
        {"institution": target.name if target else name},
    )


def _move_institution(session: Session, expert: Expert, name: str) -> None:
    old = expert.institution
    inst = institutions.get_or_create(session, name)
    if old is not None and old.id != inst.id:
        # The old employer stays relevant for recusal for some years.
        expert.employments.append(Employment(institution=old, end=dt.date.today()))
    expert.institution = inst
    expert.province = lookup(inst.province) or expert.province
    expert.city = inst.city or expert.city
    touch(expert)


def _pending(
    session: Session,
    actor: User,
    expert: Expert,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> PendingChange:
    for old in pending_changes(expert, kind):
        if kind != CORRECTION or set(old.after) == set(after):  # a correction: the same field
            old.status = "superseded"
    change = PendingChange(
        expert_id=expert.id, kind=kind, before=before, after=after, requested_by_id=actor.id
    )
    session.add(change)
    session.flush()
    return change


CORRECTION = "correction"
# A life-cycle step (suspend, remove, ...) one administrator proposes and a second approves
# (four eyes): an annual assessment's consequence is never applied by the one who graded it.
STATUS_PROPOSAL = "status"
PROPOSABLE_ACTIONS = frozenset({"suspend", "retire", "remove"})


def propose_status_change(
    session: Session, actor: User, expert: Expert, action: str, reason: str
) -> PendingChange:
    """Propose a life-cycle step; nothing changes until another administrator approves it."""
    reason = (reason or "").strip()
    if action not in PROPOSABLE_ACTIONS:
        raise InvalidTransition(str(_l("“%(action)s” cannot be proposed.", action=action)))
    target = transition_target(expert, action)
    if not reason:
        raise ExpertError(str(_l("A reason is required.")))
    change = _pending(
        session,
        actor,
        expert,
        STATUS_PROPOSAL,
        {"status": expert.status},
        {"status": target, "action": action},
    )
    change.request_reason = reason
    session.flush()
    return change


PERSONAL_FIELDS = frozenset({"id_number", "phone"})  # shown masked in a change request
# What an expert asks an administrator to correct (the other fields they edit themselves).
CORRECTABLE_FIELDS = ADMIN_ONLY_FIELDS


def request_correction(
    session: Session, actor: User, expert: Expert, field: str, value: str, reason: str
) -> PendingChange:
    """The person asks for a correction of a field of their file they cannot edit (PIPL).

    Checked now as the administrator's edit would check it (an ID number's check digit), kept
    encrypted until decided; `decide_change` applies it through `update_ordinary`."""
    if field not in CORRECTABLE_FIELDS:
        raise ExpertError(str(_l("This field cannot be corrected here.")))
    value, reason = (value or "").strip(), (reason or "").strip()
    if not value or not reason:
        raise ExpertError(str(_l("Give the correct value and a reason.")))
    value = _with_clean_province(_with_clean_id_number({field: value}), None)[field] or value
    current = getattr(expert, field)
    shown = pii.mask if field in PERSONAL_FIELDS else (lambda v: v)
    change = _pending(
        session, actor, expert, CORRECTION, {field: shown(current)}, {field: shown(value)}
    )
    change.request_reason, change.correction_value = reason, value
    session.flush()
    return change


def pending_changes(expert: Expert, kind: str | None = None) -> list[PendingChange]:
    from sqlalchemy import select

    from ..db import db

    stmt = select(PendingChange).where(
        PendingChange.expert_id == expert.id, PendingChange.status == "pending"
    )
    if kind:
        stmt = stmt.where(PendingChange.kind == kind)
    return list(db.session.scalars(stmt))


def decide_change(
    session: Session, actor: User, change: PendingChange, approve: bool, reason: str | None = None
) -> PendingChange:
    """Approve (apply the 'after' values) or reject a pending change."""
    if change.status != "pending":
        raise ExpertError(str(_l("This change was already decided.")))
    if not approve and not (reason or "").strip():
        raise ExpertError(str(_l("A reason is required.")))
    expert = change.expert
    if change.kind == STATUS_PROPOSAL and change.requested_by_id == actor.id:
        raise ExpertError(
            str(_l("A second administrator must decide a change you proposed yourself."))
        )
    if approve:
        audit.set_note(session, f"approved change #{change.id}")
        if change.kind == STATUS_PROPOSAL:
            change_status(
                session, actor, expert, change.after["action"], reason=change.request_reason
            )
        elif change.kind == "review_fields":
            apply_review_fields(expert, ReviewFields(**change.after))
            touch(expert)
        elif change.kind == CORRECTION:
            field = next(iter(change.after))
            update_ordinary(session, actor, expert, {field: change.correction_value}, None)
        else:
            _move_institution(session, expert, change.after["institution"])
    change.status = "approved" if approve else "rejected"
    change.decided_by_id, change.decided_at = actor.id, utcnow()
    change.decision_reason = (reason or "").strip() or None
    session.flush()
    signals.change_decided.send(change, session=session, actor=actor)
    return change


# --- parts of the technical file --------------------------------------------------------------

PART_MODELS: dict[str, type] = {
    "publication": Publication,
    "developed_rm": DevelopedRM,
    "unavailable": UnavailablePeriod,
    "conflict": ConflictOfInterest,
    "employment": Employment,
}
PART_COLLECTIONS = {
    "publication": "publications",
    "developed_rm": "developed_rms",
    "unavailable": "unavailable_periods",
    "conflict": "conflicts",
    "employment": "employments",
}


def add_part(
    session: Session,
    actor: User | None,
    expert: Expert,
    kind: str,
    values: dict[str, Any],
    *,
    flush: bool = True,
) -> Any:
    """Add a publication, developed RM, unavailable period, declared conflict or employer.

    `flush=False` (bulk imports) leaves the part pending, to be written with the whole file
    (`core.bulk`); the importer then stamps the experts' files at once (`stamp_files`)."""
    model = PART_MODELS[kind]
    if kind in ("conflict", "employment") and values.get("institution"):
        values = dict(values)
        values["institution_id"] = institutions.get_or_create(session, values.pop("institution")).id
    if kind == "unavailable" and values["end"] < values["start"]:
        raise ExpertError(str(_l("The period must end after it starts.")))
    values = _part_lists(kind, values)
    part = model(expert_id=expert.id, **values)
    session.add(part)
    if not flush:
        return part
    touch(expert)
    session.flush()
    # An already loaded collection does not see a part added by its foreign key: reload it,
    # or the embeddings and keyword index would be rebuilt from the stale list.
    session.expire(expert, [PART_COLLECTIONS[kind]])
    return part


def stamp_files(session: Session, expert_ids: Iterable[int]) -> None:
    """What `touch` and its flush do to each expert, as UPDATEs: the file changed now, and the
    record's version moves on (an edit form opened before is refused as stale)."""
    ids = sorted(set(expert_ids))
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        session.execute(
            update(Expert)
            .where(Expert.id.in_(ids[start : start + 500]))
            .values(file_updated_at=utcnow(), version=Expert.version + 1)
            .execution_options(synchronize_session=False)
        )


def _part_lists(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """A publication's author list by the one list rule; a relation only for a person."""
    values = dict(values)
    if kind == "publication":
        values["authors"] = split_list(values.get("authors"))
    if kind == "conflict":
        person = values.get("kind") == "person" or values.get("person_name")
        values["relation"] = (values.get("relation") or None) if person else None
    return values


def remove_part(session: Session, actor: User, expert: Expert, kind: str, part_id: int) -> None:
    part = session.get(PART_MODELS[kind], part_id)
    if part is None or part.expert_id != expert.id:
        raise ExpertError(str(_l("No such entry.")))
    session.delete(part)
    touch(expert)
    session.flush()
    session.expire(expert, [PART_COLLECTIONS[kind]])


def record_assessment(
    session: Session,
    actor: User,
    expert: Expert,
    kind: str,
    year: int,
    rating: int,
    comment: str | None = None,
) -> Assessment:
    """An annual assessment or a review-quality rating (1-5) kept in the technical file."""
    if not 1 <= rating <= 5:
        raise ExpertError(str(_l("The rating must be between 1 and 5.")))
    item = Assessment(
        expert_id=expert.id,
        kind=kind,
        year=year,
        rating=rating,
        comment=comment,
        assessor_id=actor.id,
    )
    session.add(item)
    touch(expert)
    session.flush()
    return item


# --- reactions to other features' events ------------------------------------------------------


def open_applicant_file(
    user: User, *, session: Session, institution: str | None, **_kw: Any
) -> None:
    """`user_registered`: an expert applicant who signed up gets an empty file to complete."""
    if not user.has_role(Role.EXPERT):
        return
    create_expert(
        session,
        user,
        {"name": user.name, "email": user.email, "institution": institution, "user_id": user.id},
    )
