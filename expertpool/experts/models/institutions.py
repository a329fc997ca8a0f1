"""Institutions, normalised: one row per institution, any number of aliases."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ...core.provinces import keep_or_normalise
from ...db import db


class Institution(db.Model):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    province: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(16))

    aliases: Mapped[list[InstitutionAlias]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", lazy="selectin"
    )

    @validates("province")
    def _canonical_province(self, _key: str, value: str | None) -> str | None:
        """Aliases ("北京", "Beijing") are stored as the canonical name; unknown refused."""
        return keep_or_normalise(value, self.province)

    def __repr__(self) -> str:
        return f"<Institution {self.name!r}>"


class InstitutionAlias(db.Model):
    __tablename__ = "institution_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True
    )
    # Stored as `core.names.name_key` gives it, so lookups are exact matches.
    alias: Mapped[str] = mapped_column(String(128), unique=True)
    institution: Mapped[Institution] = relationship(back_populates="aliases")
