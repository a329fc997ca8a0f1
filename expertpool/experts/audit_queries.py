"""Read side of the audit log: the filters of the overall log page and the lookups the readable
history needs (actors, institutions, experts' names, the category log)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..core import audit
from ..core.audit import AuditLog
from . import history
from .constants import EXPERT_SUBJECT
from .history import expert_of
from .models import Expert, Institution

AUDIT_ACTIONS = ("create", "update", "delete")
# The business administrator's log shows the business records; accounts, roles, sign-ins,
# backups and the audit log's own events are the security auditor's (separation of duties).
SECURITY_SUBJECTS = ("user",)
SECURITY_ENTITIES = ("User", "UserRole", "AuditLog", "Backup", "Login", "UserSession")


def business_only(stmt: Select[Any]) -> Select[Any]:
    return stmt.where(
        AuditLog.entity_type.not_in(SECURITY_ENTITIES),
        or_(AuditLog.subject_type.is_(None), AuditLog.subject_type.not_in(SECURITY_SUBJECTS)),
    )


@dataclass
class AuditFilter:
    """Who (actor), what (object type, object id, expert id or name), which action, when."""

    actor: str = ""  # user name, account name or user id
    entity_type: str = ""
    entity_id: int | None = None
    expert: str = ""  # expert id or (part of a) name
    action: str = ""  # create | update | delete, or words of the stored note (e.g. "import")
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_args(cls, args: Any) -> AuditFilter:
        return cls(
            actor=args.get("actor", "").strip(),
            entity_type=args.get("entity_type", "").strip(),
            entity_id=audit.id_arg(args.get("entity_id", "")),
            expert=args.get("expert", "").strip(),
            action=args.get("action", "").strip(),
            date_from=audit.date_arg(args.get("date_from", "")),
            date_to=audit.date_arg(args.get("date_to", "")),
        )

    def as_args(self) -> dict[str, str]:
        """The filter as URL arguments (kept in the pagination links); empty ones left out."""
        return audit.filter_args(dataclasses.asdict(self))

    def statement(self) -> Select[tuple[AuditLog]]:
        stmt = business_only(select(AuditLog))
        if self.actor:
            pattern = f"%{self.actor}%"
            users = select(User.id).where(
                or_(User.name.ilike(pattern), User.username.ilike(pattern))
            )
            conditions = [AuditLog.actor_name.ilike(pattern), AuditLog.actor_id.in_(users)]
            if (actor_id := audit.id_arg(self.actor)) is not None:
                conditions.append(AuditLog.actor_id == actor_id)
            stmt = stmt.where(or_(*conditions))
        if self.entity_type:
            stmt = stmt.where(AuditLog.entity_type == self.entity_type)
        if self.entity_id is not None:
            stmt = stmt.where(AuditLog.entity_id == self.entity_id)
        if self.expert:
            expert_id = audit.id_arg(self.expert)
            if expert_id is not None:
                stmt = stmt.where(AuditLog.of_subject(EXPERT_SUBJECT, expert_id))
            else:
                named = select(Expert.id).where(Expert.name.ilike(f"%{self.expert}%"))
                stmt = stmt.where(
                    AuditLog.subject_type == EXPERT_SUBJECT, AuditLog.subject_id.in_(named)
                )
        if self.action in AUDIT_ACTIONS:
            stmt = stmt.where(AuditLog.action == self.action)
        elif self.action:
            stmt = stmt.where(AuditLog.note.ilike(f"%{self.action}%"))
        return audit.in_period(stmt, self.date_from, self.date_to).order_by(AuditLog.id.desc())


def entity_types(session: Session) -> list[str]:
    return sorted(session.scalars(business_only(select(AuditLog.entity_type).distinct())))


def history_context(
    session: Session, rows: Sequence[AuditLog], personal_visible: Callable[[int | None], bool]
) -> history.Context:
    """Everything `history.render` looks up for these rows, in a handful of queries."""
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    actors = {
        u.id: history.Actor(name=u.name or u.username, roles=frozenset(u.roles))
        for u in session.scalars(select(User).where(User.id.in_(actor_ids)))
    }
    institution_ids: set[int] = set()
    for r in rows:
        for key in ("institution_id", "applicant_institution_id"):
            for value in (r.changes or {}).get(key, []) or []:
                if isinstance(value, int):
                    institution_ids.add(value)
    institutions = {
        i: name
        for i, name in session.execute(
            select(Institution.id, Institution.name).where(Institution.id.in_(institution_ids))
        )
    }
    expert_ids = {expert_of(r) for r in rows} - {None}
    names = {
        i: name
        for i, name in session.execute(
            select(Expert.id, Expert.name).where(Expert.id.in_(expert_ids))
        )
    }
    category_log: dict[int, list[tuple[int, str, int]]] = {}
    category_experts = {expert_of(r) for r in rows if r.entity_type == "ExpertCategory"}
    if category_experts:
        log = session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "ExpertCategory")
            .where(AuditLog.of_subject(EXPERT_SUBJECT, *category_experts))
            .order_by(AuditLog.id)
        )
        for r in log:
            pair = (r.changes or {}).get("code", [None, None])
            code = pair[1] if r.action == "create" else pair[0]
            if isinstance(code, int):
                category_log.setdefault(r.subject_id, []).append((r.id, r.action, code))
    return history.Context(
        actors=actors,
        institutions=institutions,
        expert_names=names,
        category_log=category_log,
        personal_visible=personal_visible,
    )
