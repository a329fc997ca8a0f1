"""Institution names: normalisation and alias resolution ("中国计量院" is "中国计量科学研究院")."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Institution, InstitutionAlias

_SPACES = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """Fold width (full-width brackets/letters), case and spacing so aliases compare exactly."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return _SPACES.sub(" ", folded).strip()


def resolve(session: Session, name: str) -> Institution | None:
    """The institution known by `name` (its name or any alias), or None."""
    key = normalise_name(name)
    if not key:
        return None
    alias = session.scalar(select(InstitutionAlias).where(InstitutionAlias.alias == key))
    if alias:
        return alias.institution
    for inst in session.scalars(select(Institution).where(Institution.name == name.strip())):
        return inst
    return None


def get_or_create(
    session: Session,
    name: str,
    province: str | None = None,
    city: str | None = None,
    kind: str | None = None,
) -> Institution:
    """Resolve `name`, creating the institution (with its own name as an alias) when unknown."""
    found = resolve(session, name)
    if found:
        return found
    inst = Institution(name=name.strip(), province=province, city=city, kind=kind)
    inst.aliases.append(InstitutionAlias(alias=normalise_name(name)))
    session.add(inst)
    session.flush()
    return inst


def add_alias(session: Session, institution: Institution, alias: str) -> None:
    key = normalise_name(alias)
    if key and not session.scalar(select(InstitutionAlias).where(InstitutionAlias.alias == key)):
        institution.aliases.append(InstitutionAlias(alias=key))
