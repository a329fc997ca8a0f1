"""Readable change history: audit rows turned into sentences in the reader's language.

`render(rows, context)` is pure: it reads the rows' attributes and the lookups in `context`
(actors, institutions, who may see personal data, the category log) and never touches the
database. Rows written by one flush (same actor, expert and note, within a couple of seconds)
form one entry, so "categories 08 → 08、10" reads as one sentence rather than a row per code.
The raw diff stays on each entry for auditors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core import pii
from ..core.audit import EXPORT_ENTITY
from ..core.backup import AUDIT_ENTITY
from .constants import (
    CATEGORIES,
    ENUM_LABELS,
    EXPERT_SUBJECT,
    SPECIALTY_LABELS,
    STATUS_LABELS,
    Status,
    category_label,
)

PERSONAL_FIELDS = frozenset({"id_number", "phone"})
REVEAL = "experts.reveal"  # an administrator's "show in full" on one file (audited)
_GROUP_SECONDS = 2
# Bookkeeping columns that say nothing a reader needs in a sentence (they stay in the details).
_QUIET_FIELDS = frozenset(
    {"id", "expert_id", "status_changed_at", "created_at", "user_id", "requested_at"}
)

# The same labels the forms use (experts/forms.py).
FIELD_LABELS: dict[str, Any] = {
    "name": _l("Full name"),
    "gender": _l("Gender"),
    "birth_date": _l("Date of birth"),
    "id_number": _l("ID number"),
    "phone": _l("Mobile phone"),
    "email": _l("E-mail"),
    "institution_id": _l("Institution"),
    "department": _l("Department"),
    "province": _l("Province"),
    "city": _l("City"),
    "title": _l("Professional title"),
    "title_grade": _l("Title grade"),
    "education": _l("Education"),
    "years_experience": _l("Years of experience"),
    "summary": _l("Profile summary"),
    "metrology_competent": _l("Metrology / statistics competence"),
    "status": _l("Status"),
    "status_reason": _l("Reason"),
    "term_start": _l("Term starts"),
    "term_end": _l("Term ends"),
    "categories": _l("GBW categories"),
    "abstract": _l("Abstract"),
    "year": _l("Year"),
    "language": _l("Language"),
    "venue": _l("Journal / venue"),
    "authors": _l("Authors"),
    "gbw_number": _l("GBW number"),
    "rm_name": _l("RM name"),
    "start": _l("From"),
    "end": _l("To"),
    "reason": _l("Reason"),
    "person_name": _l("Person"),
    "relation": _l("Relation to the person"),
    "rating": _l("Rating"),
    "comment": _l("Comment"),
    "kind": _l("Kind"),
}

ENTITY_LABELS: dict[str, Any] = {
    "Expert": _l("technical file"),
    "Publication": _l("publication"),
    "DevelopedRM": _l("developed RM"),
    "PastReview": _l("past review"),
    "Assessment": _l("assessment"),
    "UnavailablePeriod": _l("unavailable period"),
    "ConflictOfInterest": _l("declared conflict of interest"),
    "Employment": _l("former employer"),
    "PendingChange": _l("change request"),
    "Violation": _l("violation case"),
    "Submission": _l("submission"),
    "Attachment": _l("attachment"),
    "Assignment": _l("review assignment"),
    "Review": _l("review"),
    AUDIT_ENTITY: _l("backup"),
    EXPORT_ENTITY: _l("export of personal data"),
}

ACTIONS: dict[str, Any] = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "restore": _l("Restored"),
}


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str] = frozenset()


@dataclass
class Context:
    """What the renderer may look up: all of it loaded by the caller."""

    actors: dict[int, Actor] = field(default_factory=dict)
    institutions: dict[int, str] = field(default_factory=dict)
    expert_names: dict[int, str] = field(default_factory=dict)
    # expert id -> [(audit row id, action, code)] of ExpertCategory rows, oldest first: lets a
    # group of category rows read as "from 08 to 08、10".
    category_log: dict[int, list[tuple[int, str, int]]] | None = None
    # Whether the reader may see an expert's personal data (ID number, phone) in full.
    personal_visible: Callable[[int | None], bool] = lambda expert_id: False


def expert_of(row: Any) -> int | None:
    """The expert whose technical file an audit row belongs to, if any."""
    return row.subject_id if row.subject_type == EXPERT_SUBJECT else None


@dataclass
class Entry:
    at: dt.datetime
    actor: str
    sentences: list[str]
    rows: list[Any]
    note: str | None
    expert_id: int | None
    # Each row with its (field, old, new) triples, personal data already masked: the details.
    raw: list[tuple[Any, list[tuple[str, Any, Any]]]] = field(default_factory=list)


# --- values --------------------------------------------------------------------------------


def _zh() -> bool:
    return not str(get_locale() or "zh").startswith("en")


def join(items: Iterable[str]) -> str:
    """A list as people write it: 08、10 in Chinese, 08, 10 in English."""
    return ("、" if _zh() else ", ").join(items)


def quoted(text: str) -> str:
    return f"《{text}》" if _zh() else f"“{text}”"


def mask(value: str) -> str:
    """ID numbers and phones shown by their first and last characters only."""
    return pii.mask(value)


def _date(value: Any) -> str:
    text = str(value)
    if "T" in text:
        day, _sep, clock = text.partition("T")
        return day if clock.startswith("00:00:00") else f"{day} {clock[:5]}"
    return text


def _category(code: Any) -> str:
    try:
        return category_label(int(code), str(get_locale()))
    except (KeyError, TypeError, ValueError):
        return str(code)


def _codes(codes: Iterable[int]) -> str:
    codes = sorted(codes)
    if len(codes) == 1:
        return _category(codes[0])
    return join(f"{c:02d}" for c in codes) if codes else "—"


def value_text(
    field_name: str, value: Any, ctx: Context, expert_id: int | None, entity: str = ""
) -> str:
    """One stored value as a reader reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if field_name in PERSONAL_FIELDS and not ctx.personal_visible(expert_id):
        return mask(str(value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field_name in ("status", "to_status", "from_status") and entity in ("Expert", "StatusEvent"):
        return str(STATUS_LABELS[Status(value)]) if value in set(Status) else str(value)
    if field_name in ENUM_LABELS:
        label = ENUM_LABELS[field_name].get(value)
        return str(label) if label is not None else str(value)
    if field_name in ("institution_id", "applicant_institution_id"):
        return ctx.institutions.get(value, f"#{value}")
    if field_name in ("category", "code") and isinstance(value, int) and value in CATEGORIES:
        return _category(value)
    if field_name == "categories" and isinstance(value, list):
        return _codes(value)
    if field_name == "kind" and value in SPECIALTY_LABELS:
        return str(SPECIALTY_LABELS[value])
    if isinstance(value, list):
        return join(str(v) for v in value)
    if isinstance(value, dict):
        return join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        return _date(value)
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "…"


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name


def actor_text(row: Any, ctx: Context) -> str:
    """'管理员 张三' / 'Administrator Zhang San'; the system or an import when nobody acted."""
    actor = ctx.actors.get(row.actor_id) if row.actor_id else None
    if actor is None:
        if row.actor_id is None or row.actor_name == "system":
            note = (row.note or "").lower()
            return _("Import") if note.startswith("import") else _("System")
        return row.actor_name
    if "admin" in actor.roles:
        role = _("Administrator")
    elif "expert" in actor.roles:
        role = _("Expert")
    elif "trainee" in actor.roles:
        role = _("Trainee")
    else:
        return actor.name
    return f"{role} {actor.name}"


# --- parts of the file --------------------------------------------------------------------


def _values(row: Any) -> dict[str, Any]:
    """The row's own values: the new ones for a create/update, the old ones for a delete."""
    index = 0 if row.action == "delete" else 1
    return {k: pair[index] for k, pair in (row.changes or {}).items()}


def part_text(row: Any, ctx: Context) -> str:
    """What a part of the file is, e.g. 论文《…》, 不可用时段 2026-01-01 至 2026-02-01."""
    v = _values(row)
    entity = row.entity_type
    if entity == "Publication":
        return _("publication %(title)s", title=quoted(v.get("title") or ""))
    if entity == "DevelopedRM":
        return _(
            "developed RM %(gbw)s %(name)s", gbw=v.get("gbw_number") or "", name=v.get("name") or ""
        ).strip()
    if entity == "PastReview":
        return _("past review %(name)s", name=quoted(v.get("rm_name") or ""))
    if entity == "UnavailablePeriod":
        return _(
            "unavailable period %(start)s to %(end)s",
            start=_date(v.get("start") or "?"),
            end=_date(v.get("end") or "?"),
        )
    if entity == "ConflictOfInterest":
        who = (
            ctx.institutions.get(v.get("institution_id"), "")
            if v.get("kind") == "institution"
            else v.get("person_name") or ""
        )
        return _("declared conflict of interest with %(who)s", who=who)
    if entity == "Employment":
        return _(
            "former employer %(name)s",
            name=ctx.institutions.get(v.get("institution_id"), f"#{v.get('institution_id')}"),
        )
    if entity == "Assessment":
        kind = _("annual assessment") if v.get("kind") == "annual" else _("review-quality rating")
        return _(
            "%(kind)s %(year)s: %(rating)s", kind=kind, year=v.get("year"), rating=v.get("rating")
        )
    if entity == "Specialty":
        kind = SPECIALTY_LABELS.get(v.get("kind"), v.get("kind"))
        return f"{kind} {v.get('name') or ''}".strip()
    if entity == "ExpertCategory":
        return _("category %(category)s", category=_category(v.get("code")))
    if entity == "Attachment":
        return _("attachment %(name)s", name=v.get("filename") or "")
    if entity == "Submission":
        return _("submission %(title)s", title=quoted(v.get("title") or f"#{row.entity_id}"))
    label = ENTITY_LABELS.get(entity)
    return f"{label if label is not None else entity} #{row.entity_id}"


# --- sentences -----------------------------------------------------------------------------


def _change_sentence(who: str, name: str, old: str, new: str, of: str | None = None) -> str:
    label = f"{of} {name}" if of else name
    if old == "—":
        return _("%(actor)s set %(field)s to %(new)s", actor=who, field=label, new=new)
    if new == "—":
        return _("%(actor)s cleared %(field)s (was %(old)s)", actor=who, field=label, old=old)
    return _(
        "%(actor)s changed %(field)s from %(old)s to %(new)s",
        actor=who,
        field=label,
        old=old,
        new=new,
    )


def _row_sentences(row: Any, who: str, ctx: Context) -> list[str]:
    entity, action = row.entity_type, row.action
    if entity == "StatusEvent":
        return []  # the expert's own status change says it
    if entity == "Expert":
        name = _values(row).get("name") or ctx.expert_names.get(row.entity_id, "")
        if action == "create":
            return [_("%(actor)s created the technical file of %(name)s", actor=who, name=name)]
        if action == "delete":
            return [_("%(actor)s deleted the technical file of %(name)s", actor=who, name=name)]
        return _field_changes(row, who, ctx)
    if entity == EXPORT_ENTITY:  # `core.audit.record_export`: a read, not a change
        v = row.changes or {}
        if v.get("what") == REVEAL:
            return [_("%(actor)s viewed the ID number and phone in full", actor=who)]
        return [
            _(
                "%(actor)s exported personal data (%(what)s, %(rows)s rows)",
                actor=who,
                what=v.get("what") or "",
                rows=v.get("rows") if v.get("rows") is not None else "?",
            )
        ]
    if entity == AUDIT_ENTITY:  # `flask backup create|restore`
        archive = PurePosixPath(str(_values(row).get("archive") or "")).name
        if action == "restore":
            return [_("%(actor)s restored the backup %(archive)s", actor=who, archive=archive)]
        return [_("%(actor)s made the backup %(archive)s", actor=who, archive=archive)]
    if entity == "PendingChange":
        v = _values(row)
        what = _("review fields") if v.get("kind") == "review_fields" else _("institution")
        if action == "create":
            return [_("%(actor)s asked to change the %(what)s", actor=who, what=what)]
        status = row.changes.get("status", [None, None])[1]
        if status == "approved":
            return [_("%(actor)s approved the change of %(what)s", actor=who, what=what)]
        if status == "rejected":
            return [_("%(actor)s rejected the change of %(what)s", actor=who, what=what)]
        return []
    if action == "create":
        return [_("%(actor)s added %(what)s", actor=who, what=part_text(row, ctx))]
    if action == "delete":
        return [_("%(actor)s removed %(what)s", actor=who, what=part_text(row, ctx))]
    return _field_changes(row, who, ctx, of=part_text(row, ctx))


def _field_changes(row: Any, who: str, ctx: Context, of: str | None = None) -> list[str]:
    """One sentence per changed field of `row` (of the part `of`, for a part of the file)."""
    return [
        _change_sentence(
            who,
            field_label(k),
            value_text(k, old, ctx, expert_of(row), row.entity_type),
            value_text(k, new, ctx, expert_of(row), row.entity_type),
            of=of,
        )
        for k, (old, new) in row.changes.items()
        if k not in _QUIET_FIELDS
    ]


def _categories_before(ctx: Context, expert_id: int | None, first_id: int) -> set[int] | None:
    if ctx.category_log is None or expert_id not in ctx.category_log:
        return None
    codes: set[int] = set()
    for row_id, action, code in ctx.category_log[expert_id]:
        if row_id >= first_id:
            break
        if action == "create":
            codes.add(code)
        elif action == "delete":
            codes.discard(code)
    return codes


def _category_sentences(rows: Sequence[Any], who: str, ctx: Context) -> list[str]:
    added = sorted(_values(r).get("code") for r in rows if r.action == "create")
    removed = sorted(_values(r).get("code") for r in rows if r.action == "delete")
    expert_id = expert_of(rows[0])
    before = _categories_before(ctx, expert_id, min(r.id for r in rows))
    label = field_label("categories")
    if before is not None and before:
        after = (before - set(removed)) | set(added)
        return [_change_sentence(who, label, _codes(before), _codes(after))]
    sentences = []
    if added:
        sentences.append(_change_sentence(who, label, "—", _codes(added)))
    if removed:
        sentences.append(
            _("%(actor)s removed %(what)s", actor=who, what=f"{label} {_codes(removed)}")
        )
    return sentences


def _specialty_sentences(rows: Sequence[Any], who: str) -> list[str]:
    sentences = []
    for action, verb in (("create", "added"), ("delete", "removed")):
        by_kind: dict[str, list[str]] = {}
        for r in rows:
            if r.action == action:
                v = _values(r)
                by_kind.setdefault(v.get("kind") or "", []).append(v.get("name") or "")
        for kind, names in by_kind.items():
            what = (
                f"{SPECIALTY_LABELS.get(kind, kind)}：{join(names)}"
                if _zh()
                else (f"{SPECIALTY_LABELS.get(kind, kind)}: {join(names)}")
            )
            if verb == "added":
                sentences.append(_("%(actor)s added %(what)s", actor=who, what=what))
            else:
                sentences.append(_("%(actor)s removed %(what)s", actor=who, what=what))
    return sentences


def _masked_changes(row: Any, ctx: Context) -> list[tuple[str, Any, Any]]:
    out = []
    for k, pair in (row.changes or {}).items():
        old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
        if k in PERSONAL_FIELDS and not ctx.personal_visible(expert_of(row)):
            old = mask(str(old)) if old else old
            new = mask(str(new)) if new else new
        out.append((k, old, new))
    return out


def _same_flush(a: Any, b: Any) -> bool:
    return (
        a.actor_id == b.actor_id
        and a.actor_name == b.actor_name
        and expert_of(a) == expert_of(b)
        and a.note == b.note
        and abs((a.at - b.at).total_seconds()) <= _GROUP_SECONDS
    )


def _groups(rows: Sequence[Any]) -> list[list[Any]]:
    groups: list[list[Any]] = []
    for row in rows:
        if groups and _same_flush(groups[-1][-1], row):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def render(rows: Sequence[Any], ctx: Context | None = None) -> list[Entry]:
    """Entries (newest first, in the rows' order) with sentences in the current locale."""
    ctx = ctx or Context()
    entries = []
    for group in _groups(rows):
        head = group[0]
        who = actor_text(head, ctx)
        sentences: list[str] = []
        categories = [r for r in group if r.entity_type == "ExpertCategory"]
        specialties = [r for r in group if r.entity_type == "Specialty"]
        # An expert created in this flush: their categories and specialties are part of it.
        created = any(r.entity_type == "Expert" and r.action == "create" for r in group)
        for row in group:
            if row.entity_type not in ("ExpertCategory", "Specialty"):
                sentences.extend(_row_sentences(row, who, ctx))
        if categories and not created:
            sentences.extend(_category_sentences(categories, who, ctx))
        elif categories:
            codes = [_values(r).get("code") for r in categories if r.action == "create"]
            sentences.append(_change_sentence(who, field_label("categories"), "—", _codes(codes)))
        if specialties:
            sentences.extend(_specialty_sentences(specialties, who))
        entries.append(
            Entry(
                at=head.at,
                actor=who,
                sentences=sentences,
                rows=group,
                note=head.note,
                expert_id=expert_of(head),
                raw=[(row, _masked_changes(row, ctx)) for row in group],
            )
        )
    return entries
