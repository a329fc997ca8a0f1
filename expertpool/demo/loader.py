"""Loads the demo data set (experts, institutions, accounts) into an empty database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from ..accounts import operations as accounts
from ..accounts.models import User
from ..core.access import Role
from ..core.features import demo_loaders
from ..experts import institutions, violations
from ..experts.models import Expert, Institution
from ..experts.operations import ReviewFields, create_expert, request_review_fields
from . import coauthors, data

DEMO_EXPERT_PASSWORD = "Demo-2026!expert"


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User)) and not session.scalar(
        select(func.count()).select_from(Expert)
    )


def load(session: Session, *, n_experts: int = 320, progress: bool = True) -> dict[str, Any]:
    """Create institutions, accounts and experts; returns the demo accounts to print."""
    accounts_data = data.generate_accounts()
    admins = [_account(session, a, [Role.ADMIN]) for a in accounts_data["admins"]]
    for duty in accounts_data["duties"]:
        _account(session, duty, [Role(duty["role"])])
    trainees = [_account(session, t, [Role.TRAINEE]) for t in accounts_data["trainees"]]
    _institutions(session)
    experts = data.generate_experts(n_experts)
    created = list(_experts(session, admins[0], experts, progress))
    expert_logins = _expert_accounts(session, created[:3])
    _pending_change(session, created[2])
    violations.load_demo(session, admins[0], created)
    # The other features' demo data (courses, submissions, reviews), in layer order.
    for feature_loader in demo_loaders():
        feature_loader(session, admins[0], progress)
    coauthors.load_demo(session)  # author lists, applicant contacts: co-authorship recusal
    session.flush()
    return {
        "admins": accounts_data["admins"],
        "duties": accounts_data["duties"],
        "trainees": accounts_data["trainees"],
        "experts": expert_logins,
        "expert_count": len(created),
        "trainee_users": trainees,
    }


def _account(session: Session, item: dict[str, Any], roles: list[Role]) -> User:
    profile = {k: item.get(k) for k in ("audience", "province") if item.get(k)}
    if item.get("institution"):
        profile["organisation"] = item["institution"]
    return accounts.create_user(
        session,
        username=item["username"],
        name=item["name"],
        email=item["email"],
        password=item["password"],
        roles=roles,
        **profile,
    )


def _institutions(session: Session) -> None:
    for item in data.INSTITUTIONS:
        inst = institutions.get_or_create(
            session, item["name"], item.get("province"), item.get("city"), item.get("kind")
        )
        for alias in item.get("aliases", []):
            institutions.add_alias(session, inst, alias)
    session.flush()


def _experts(
    session: Session, actor: User, items: list[dict[str, Any]], progress: bool
) -> Iterator[Expert]:
    for item in tqdm(items, desc="experts", disable=not progress, unit="expert"):
        expert = create_expert(session, actor, _expert_data(item), status=item["status"])
        _parts(session, expert, item)
        # Demo files carry their own history: keep the generated "last updated" date.
        updated = item.get("file_updated_at")
        if updated:
            expert.file_updated_at = dt.datetime.combine(updated, dt.time(9, 0))
        yield expert
    session.flush()


def _expert_data(item: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "name",
        "gender",
        "birth_date",
        "id_number",
        "phone",
        "email",
        "institution",
        "department",
        "province",
        "city",
        "title",
        "title_grade",
        "education",
        "years_experience",
        "summary",
        "categories",
        "specialties",
        "metrology_competent",
        "term_start",
        "term_end",
        "status_reason",
    )
    return {k: item.get(k) for k in keys if item.get(k) is not None}


def _parts(session: Session, expert: Expert, item: dict[str, Any]) -> None:
    from ..experts.models import (
        ConflictOfInterest,
        DevelopedRM,
        Employment,
        Publication,
        UnavailablePeriod,
    )

    for pub in item.get("publications", []):
        expert.publications.append(
            Publication(
                **{k: pub.get(k) for k in ("title", "abstract", "year", "language", "venue")}
            )
        )
    for rm in item.get("developed_rms", []):
        expert.developed_rms.append(
            DevelopedRM(gbw_number=rm["gbw"], name=rm.get("name"), year=rm.get("year"))
        )
    for period in item.get("unavailable", []):
        expert.unavailable_periods.append(
            UnavailablePeriod(start=period["start"], end=period["end"], reason=period.get("reason"))
        )
    for conflict in item.get("conflicts", []):
        inst = _inst(session, conflict.get("institution"))
        expert.conflicts.append(
            ConflictOfInterest(
                kind=conflict["kind"],
                institution=inst,
                person_name=conflict.get("person"),
                reason=conflict.get("reason"),
            )
        )
    for job in item.get("employment", []):
        expert.employments.append(
            Employment(
                institution=_inst(session, job["institution"]),
                start=job.get("start"),
                end=job.get("end"),
            )
        )


def _inst(session: Session, name: str | None) -> Institution | None:
    return institutions.get_or_create(session, name) if name else None


def _expert_accounts(session: Session, experts: list[Expert]) -> list[dict[str, str]]:
    """Give the first few demo experts a login so the self-service pages can be tried."""
    logins = []
    for number, expert in enumerate(experts, start=1):
        username = f"expert{number}"
        user = accounts.create_user(
            session,
            username=username,
            name=expert.name,
            email=f"{username}@demo.example.org",
            password=DEMO_EXPERT_PASSWORD,
            roles=[Role.EXPERT],
        )
        expert.user_id = user.id
        logins.append({"username": username, "password": DEMO_EXPERT_PASSWORD, "name": expert.name})
    return logins


def _pending_change(session: Session, expert: Expert) -> None:
    """A 审评项目变更 waiting for the office: the third demo expert asks for one more category."""
    fields = ReviewFields.of(expert)
    extra = next(code for code in range(13, 0, -1) if code not in fields.categories)
    fields.categories = sorted([*fields.categories, extra])
    request_review_fields(session, session.get(User, expert.user_id), expert, fields, None)


def existing_demo_accounts(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The demo accounts still present (for `make run` on a database that has data)."""
    accounts_data = data.generate_accounts()
    names = set(session.scalars(select(User.username)))
    experts = [{"username": f"expert{n}", "password": DEMO_EXPERT_PASSWORD} for n in (1, 2, 3)]
    return {
        "admins": [a for a in accounts_data["admins"] if a["username"] in names],
        "duties": [a for a in accounts_data["duties"] if a["username"] in names],
        "experts": [e for e in experts if e["username"] in names],
        "trainees": [t for t in accounts_data["trainees"] if t["username"] in names],
    }
