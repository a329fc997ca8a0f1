"""The expert and the parts of their personal technical file (个人技术档案)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ...core.pii import Encrypted, blind_index, id_number_key
from ...core.provinces import keep_or_normalise
from ...db import db, utcnow
from ..constants import EXPERT_SUBJECT, Status
from .institutions import Institution

PERSONAL_GROUP = "personal"  # the deferred encrypted columns: `undefer_group(PERSONAL_GROUP)`


class Expert(db.Model):
    __tablename__ = "expert"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    # Encrypted at rest (core/pii.py); equality through the blind indexes beside them.
    # Deferred: decrypted only where a page reads them, not for every expert a list loads.
    id_number: Mapped[str | None] = mapped_column(
        "id_number_enc", Encrypted(), deferred=True, deferred_group=PERSONAL_GROUP
    )
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(
        "phone_enc", Encrypted(), deferred=True, deferred_group=PERSONAL_GROUP
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(128))
    province: Mapped[str | None] = mapped_column(String(16), index=True)
    city: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(32))
    title_grade: Mapped[str | None] = mapped_column(String(8))
    education: Mapped[str | None] = mapped_column(String(16))
    years_experience: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    metrology_competent: Mapped[bool] = mapped_column(default=False)

    status: Mapped[str] = mapped_column(String(16), default=Status.APPLICANT, index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[dt.datetime | None]
    term_start: Mapped[dt.date | None] = mapped_column(Date)
    term_end: Mapped[dt.date | None] = mapped_column(Date, index=True)

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When the expert's file last changed: drives the "not updated for 2 years" warning.
    file_updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # Optimistic locking: SQLAlchemy refuses an UPDATE whose version no longer matches.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    institution: Mapped[Institution | None] = relationship(lazy="joined")
    categories: Mapped[list[ExpertCategory]] = relationship(
        back_populates="expert",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ExpertCategory.code",
    )
    specialties: Mapped[list[Specialty]] = relationship(
        back_populates="expert",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Specialty.id",
    )
    publications: Mapped[list[Publication]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="Publication.year.desc()"
    )
    developed_rms: Mapped[list[DevelopedRM]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="DevelopedRM.year"
    )
    past_reviews: Mapped[list[PastReview]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="PastReview.year.desc()"
    )
    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="Assessment.created_at"
    )
    unavailable_periods: Mapped[list[UnavailablePeriod]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="UnavailablePeriod.start"
    )
    conflicts: Mapped[list[ConflictOfInterest]] = relationship(
        back_populates="expert", cascade="all, delete-orphan"
    )
    employments: Mapped[list[Employment]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="Employment.start"
    )
    status_events: Mapped[list[StatusEvent]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="StatusEvent.at"
    )

    @validates("id_number")
    def _index_id_number(self, _key: str, value: str | None) -> str | None:
        """Keep the blind index (the only way to find the number) beside the encrypted value."""
        value = value or None
        self.id_number_hash = blind_index(id_number_key(value))
        return value

    @validates("province")
    def _canonical_province(self, _key: str, value: str | None) -> str | None:
        """Aliases ("北京", "Beijing") are stored as the canonical name; unknown refused."""
        return keep_or_normalise(value, self.province)

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.id)

    @property
    def category_codes(self) -> list[int]:
        return [c.code for c in self.categories]

    def specialties_of(self, kind: str) -> list[str]:
        return [s.name for s in self.specialties if s.kind == kind]

    def __repr__(self) -> str:
        return f"<Expert {self.id} {self.name!r}>"


class _ExpertPart:
    """A row of an expert's file: audited under that expert."""

    __audited__ = True
    expert_id: Mapped[int]

    @property
    def audit_subject(self) -> tuple[str, int]:
        return (EXPERT_SUBJECT, self.expert_id)


def _expert_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("expert.id", ondelete="CASCADE"), index=True)


class ExpertCategory(_ExpertPart, db.Model):
    __tablename__ = "expert_category"
    __table_args__ = (UniqueConstraint("expert_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    code: Mapped[int] = mapped_column(Integer, index=True)
    expert: Mapped[Expert] = relationship(back_populates="categories")


class Specialty(_ExpertPart, db.Model):
    """A finer review field: an analyte, a matrix or a technique."""

    __tablename__ = "expert_specialty"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64), index=True)
    expert: Mapped[Expert] = relationship(back_populates="specialties")


class Publication(_ExpertPart, db.Model):
    __tablename__ = "publication"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    title: Mapped[str] = mapped_column(String(512))
    abstract: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    venue: Mapped[str | None] = mapped_column(String(256))
    # Every author as written on the paper ("Zhang Wei", "欧阳建国", "W. Zhang"), the expert
    # included: the others are co-authors, compared with the applicant's people for recusal.
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    expert: Mapped[Expert] = relationship(back_populates="publications")


class DevelopedRM(_ExpertPart, db.Model):
    """A reference material the expert took part in developing (GBW number)."""

    __tablename__ = "developed_rm"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    gbw_number: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(256))
    year: Mapped[int | None] = mapped_column(Integer)
    expert: Mapped[Expert] = relationship(back_populates="developed_rms")


class PastReview(_ExpertPart, db.Model):
    """A review the expert took part in (imported history, or completed in this system)."""

    __tablename__ = "past_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    year: Mapped[int | None] = mapped_column(Integer)
    rm_name: Mapped[str] = mapped_column(String(256))
    gbw_number: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    expert: Mapped[Expert] = relationship(back_populates="past_reviews")


class Assessment(_ExpertPart, db.Model):
    """An annual assessment (考核) or a review-quality rating (1-5)."""

    __tablename__ = "assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    kind: Mapped[str] = mapped_column(String(16))  # annual | review_quality
    year: Mapped[int] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expert: Mapped[Expert] = relationship(back_populates="assessments")


class UnavailablePeriod(_ExpertPart, db.Model):
    __tablename__ = "unavailable_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(256))
    expert: Mapped[Expert] = relationship(back_populates="unavailable_periods")


class ConflictOfInterest(_ExpertPart, db.Model):
    """A declared conflict: with an institution or with a named person."""

    __tablename__ = "conflict_of_interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    kind: Mapped[str] = mapped_column(String(16))  # institution | person
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    person_name: Mapped[str | None] = mapped_column(String(64))
    # A person's tie to the expert: "advisor" / "student" (matched by `names.match`, any
    # spelling), or None for any other declared personal conflict (matched by `person_key`).
    relation: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(256))
    expert: Mapped[Expert] = relationship(back_populates="conflicts")
    institution: Mapped[Institution | None] = relationship(lazy="joined")


class Employment(_ExpertPart, db.Model):
    """A past employer: recusal applies for some years after the expert left."""

    __tablename__ = "employment"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    start: Mapped[dt.date | None] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date)
    expert: Mapped[Expert] = relationship(back_populates="employments")
    institution: Mapped[Institution] = relationship(lazy="joined")


class StatusEvent(_ExpertPart, db.Model):
    """One step of the expert's life cycle, with its reason."""

    __tablename__ = "status_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = _expert_fk()
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    expert: Mapped[Expert] = relationship(back_populates="status_events")
