"""Institutions: resolving a name or alias ("中国计量院" is "中国计量科学研究院") to its one row.

Names are tidied and compared by the one rule in `core.names` (`tidy_name` stored, `name_key`
compared); every path that stores or looks up an institution comes through here.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.names import name_key, tidy_name
from ..db import savepoint
from .models import Institution, InstitutionAlias


def resolve(session: Session, name: str) -> Institution | None:
    """The institution known by `name` (its name or any alias), or None."""
    key = name_key(name)
    if not key:
        return None
    alias = session.scalar(select(InstitutionAlias).where(InstitutionAlias.alias == key))
    if alias:
        return alias.institution
    return session.scalar(select(Institution).where(Institution.name == tidy_name(name)))


_UNFLUSHED = "institutions_unflushed"  # session.info: name key -> institution not yet flushed


def get_or_create(
    session: Session,
    name: str,
    province: str | None = None,
    city: str | None = None,
    kind: str | None = None,
    *,
    flush: bool = True,
) -> Institution:
    """Resolve `name`, creating the institution (with its own name as an alias) when unknown.

    With `flush=False` (bulk imports, which write every row at once) a new institution
    stays pending; a later call in the same session finds it by its key, so a file that names
    it twice creates it once.
    """
    unflushed = session.info.setdefault(_UNFLUSHED, {})
    pending = unflushed.get(name_key(name))
    if pending is not None and pending in session:  # (a rollback expunges it)
        return pending
    found = resolve(session, name)
    if found:
        return found
    inst = Institution(name=tidy_name(name), province=province, city=city, kind=kind)
    inst.aliases.append(InstitutionAlias(alias=name_key(name)))
    if not flush:
        session.add(inst)
        unflushed[name_key(name)] = inst
        return inst
    try:  # in a SAVEPOINT: another request may be creating the same institution right now
        with savepoint(session):
            session.add(inst)
            session.flush()
    except IntegrityError:
        found = resolve(session, name)
        if found is None:
            raise
        return found  # theirs, committed meanwhile: both saves name the one institution
    return inst


def add_alias(session: Session, institution: Institution, alias: str) -> None:
    key = name_key(alias)
    if key and not session.scalar(select(InstitutionAlias).where(InstitutionAlias.alias == key)):
        institution.aliases.append(InstitutionAlias(alias=key))


def matching_ids(text: str) -> Select[tuple[int]]:
    """Institutions whose name or any alias contains `text` (so 中国计量院 finds its experts)."""
    by_alias = select(InstitutionAlias.institution_id).where(
        InstitutionAlias.alias.contains(name_key(text), autoescape=True)
    )
    by_name = select(Institution.id).where(
        Institution.name.icontains(tidy_name(text), autoescape=True)
    )
    return by_alias.union(by_name)
