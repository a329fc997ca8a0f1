"""Reads of the annual assessment: the plain records the fact gathering counts, the round's
drafts with filters, the chart's counts, an expert's closed results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from courses.models import Certificate, Course
from courses.queries.training import TrainingRule, counts, required_courses

from ..core import signals
from ..core.provinces import lookup
from ..experts.constants import Status
from ..experts.models import Assessment, Expert, ExpertCategory
from ..reviews.models import Assignment, Review
from . import facts as F
from .models import AssessmentDraft, AssessmentRound
from .rules import GradedRow


def active_expert_ids(session: Session) -> list[int]:
    return list(
        session.scalars(select(Expert.id).where(Expert.status == Status.ACTIVE).order_by(Expert.id))
    )


@dataclass
class Inputs:
    """Everything `facts.gather` needs for a batch of experts, as plain records."""

    file_updated: dict[int, dt.date]
    assignments: dict[int, list[F.AssignmentRecord]]
    ratings: dict[int, list[int]]
    certificates: dict[int, list[F.CertificateRecord]]
    required: list[F.RequiredCourse]
    contributed: dict[int, dict[str, Any]]


def load_inputs(
    session: Session, year: int, expert_ids: Sequence[int], as_of: dt.date, rule: TrainingRule
) -> Inputs:
    ids = list(expert_ids)
    people = session.execute(
        select(Expert.id, Expert.user_id, Expert.term_start, Expert.file_updated_at).where(
            Expert.id.in_(ids)
        )
    ).all()
    required = required_courses(session)
    return Inputs(
        file_updated={p.id: p.file_updated_at.date() for p in people if p.file_updated_at},
        assignments=_assignments(session, ids),
        ratings=_ratings(session, ids, year),
        certificates=_certificates(session, people, as_of, rule),
        required=[F.RequiredCourse(c.id, c.title) for c in required],
        contributed=contributed_facts(session, year, ids, as_of),
    )


def _assignments(session: Session, ids: list[int]) -> dict[int, list[F.AssignmentRecord]]:
    rows = session.execute(
        select(
            Assignment.expert_id,
            Assignment.status,
            Assignment.due_date,
            Assignment.responded_at,
            Assignment.decline_reason,
            Review.submitted_at,
        )
        .outerjoin(Review, Review.assignment_id == Assignment.id)
        .where(Assignment.expert_id.in_(ids))
    ).all()
    out: dict[int, list[F.AssignmentRecord]] = defaultdict(list)
    for r in rows:
        out[r.expert_id].append(
            F.AssignmentRecord(
                r.status, r.due_date, r.responded_at, r.decline_reason, r.submitted_at
            )
        )
    return out


def _ratings(session: Session, ids: list[int], year: int) -> dict[int, list[int]]:
    rows = session.execute(
        select(Assessment.expert_id, Assessment.rating).where(
            Assessment.expert_id.in_(ids),
            Assessment.kind == "review_quality",
            Assessment.year == year,
        )
    ).all()
    out: dict[int, list[int]] = defaultdict(list)
    for expert_id, rating in rows:
        out[expert_id].append(rating)
    return out


def _certificates(
    session: Session, people: Sequence[Any], as_of: dt.date, rule: TrainingRule
) -> dict[int, list[F.CertificateRecord]]:
    by_user = {p.user_id: p for p in people if p.user_id}
    if not by_user:
        return {}
    rows = session.execute(
        select(
            Certificate.user_id,
            Certificate.course_id,
            Certificate.issued_at,
            Certificate.hours,
            Certificate.revoked_at,
            Course.validity_years,
        )
        .join(Course, Course.id == Certificate.course_id)
        .where(Certificate.user_id.in_(list(by_user)))
    ).all()
    out: dict[int, list[F.CertificateRecord]] = defaultdict(list)
    for r in rows:
        person = by_user[r.user_id]
        issued, revoked = r.issued_at.date(), r.revoked_at is not None
        ok = counts(issued, revoked, r.validity_years, person.term_start, rule, as_of)
        out[person.id].append(F.CertificateRecord(r.course_id, issued, r.hours, revoked, ok))
    return out


def contributed_facts(
    session: Session, year: int, ids: list[int], as_of: dt.date
) -> dict[int, dict[str, Any]]:
    """What other features add through `signals.assessment_facts`, merged per expert."""
    merged: dict[int, dict[str, Any]] = defaultdict(dict)
    for _receiver, result in signals.assessment_facts.send(
        session, year=year, expert_ids=ids, as_of=as_of
    ):
        for expert_id, values in (result or {}).items():
            mine = merged[int(expert_id)]
            for name, value in (values or {}).items():
                if isinstance(value, list) and isinstance(mine.get(name), list):
                    mine[name] = mine[name] + value
                else:
                    mine[name] = value
    return merged


# -- pages -----------------------------------------------------------------------------------


def rounds(session: Session) -> list[AssessmentRound]:
    return list(session.scalars(select(AssessmentRound).order_by(AssessmentRound.year.desc())))


def round_counts(session: Session, round_id: int) -> dict[str, int]:
    total, graded = session.execute(
        select(func.count(), func.count(AssessmentDraft.grade)).where(
            AssessmentDraft.round_id == round_id
        )
    ).one()
    return {"total": total, "graded": graded, "ungraded": total - graded}


@dataclass(frozen=True)
class DraftFilter:
    grade: str = ""  # a grade, "none" (not graded yet) or "" (all)
    suggested: str = ""
    category: int | None = None
    province: str = ""
    differs: bool = False  # the grade given differs from the suggestion
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> DraftFilter:
        from ..core.requests import whole_number

        return cls(
            grade=(args.get("grade") or "").strip(),
            suggested=(args.get("suggested") or "").strip(),
            category=whole_number(args.get("category") or ""),
            province=lookup((args.get("province") or "").strip()) or "",
            differs=args.get("differs") == "1",
            q=(args.get("q") or "").strip()[:64],
        )

    def args(self) -> dict[str, Any]:
        values = {
            "grade": self.grade,
            "suggested": self.suggested,
            "category": self.category or "",
            "province": self.province,
            "differs": "1" if self.differs else "",
            "q": self.q,
        }
        return {k: v for k, v in values.items() if v}

    def statement(self, round_id: int) -> Select[tuple[AssessmentDraft]]:
        stmt = (
            select(AssessmentDraft)
            .join(Expert, Expert.id == AssessmentDraft.expert_id)
            .where(AssessmentDraft.round_id == round_id)
        )
        if self.grade == "none":
            stmt = stmt.where(AssessmentDraft.grade.is_(None))
        elif self.grade:
            stmt = stmt.where(AssessmentDraft.grade == self.grade)
        if self.suggested:
            stmt = stmt.where(AssessmentDraft.suggested_grade == self.suggested)
        if self.differs:
            stmt = stmt.where(
                AssessmentDraft.grade.is_not(None),
                AssessmentDraft.grade != AssessmentDraft.suggested_grade,
            )
        if self.category:
            stmt = stmt.where(
                Expert.id.in_(
                    select(ExpertCategory.expert_id).where(ExpertCategory.code == self.category)
                )
            )
        if self.province:
            stmt = stmt.where(Expert.province == self.province)
        if self.q:
            stmt = stmt.where(Expert.name.contains(self.q))
        return stmt.order_by(Expert.name, Expert.id)


def graded_rows(session: Session, round_id: int) -> list[GradedRow]:
    """Each draft's grade with the expert's categories and province (for the chart)."""
    rows = session.execute(
        select(AssessmentDraft.expert_id, AssessmentDraft.grade, Expert.province)
        .join(Expert, Expert.id == AssessmentDraft.expert_id)
        .where(AssessmentDraft.round_id == round_id)
    ).all()
    cats: dict[int, list[int]] = defaultdict(list)
    for expert_id, code in session.execute(
        select(ExpertCategory.expert_id, ExpertCategory.code).where(
            ExpertCategory.expert_id.in_([r.expert_id for r in rows])
        )
    ):
        cats[expert_id].append(code)
    return [GradedRow(r.grade, tuple(sorted(cats[r.expert_id])), r.province) for r in rows]


def export_drafts(session: Session, round_id: int) -> list[AssessmentDraft]:
    return list(session.scalars(DraftFilter().statement(round_id)))


def closed_results(session: Session, expert_id: int) -> list[AssessmentDraft]:
    """An expert's drafts in closed rounds, latest year first (what the expert may see)."""
    return list(
        session.scalars(
            select(AssessmentDraft)
            .join(AssessmentRound, AssessmentRound.id == AssessmentDraft.round_id)
            .where(AssessmentDraft.expert_id == expert_id, AssessmentRound.status == "closed")
            .order_by(AssessmentRound.year.desc())
        )
    )


def to_grade(session: Session) -> tuple[int, int | None]:
    """Experts without a grade in open rounds, and the (latest) open round to grade them in."""
    open_round = session.scalar(
        select(AssessmentRound.id)
        .where(AssessmentRound.status == "open")
        .order_by(AssessmentRound.year.desc())
    )
    count = session.scalar(
        select(func.count())
        .select_from(AssessmentDraft)
        .join(AssessmentRound, AssessmentRound.id == AssessmentDraft.round_id)
        .where(AssessmentRound.status == "open", AssessmentDraft.grade.is_(None))
    )
    return int(count or 0), open_round
