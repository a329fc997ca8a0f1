"""A learner's enrolment in a course and their progress through its lessons."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.accounts.models import User
from expertpool.db import db, utcnow

from ..constants import COMPLETED, ENROLLED
from .catalogue import Course, Lesson


class Enrollment(db.Model):
    """One pass of a user through a course; a renewal after a certificate expires is a new cycle.

    Progress, quiz attempts and the certificate hang on the enrolment, so a new cycle starts
    afresh while the earlier one stays on the transcript.
    """

    __tablename__ = "course_enrollment"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "cycle"),)
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ENROLLED, index=True)
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    completed_at: Mapped[dt.datetime | None]
    # Where the learner was last: "resume" goes back there.
    last_lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_lesson.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    course: Mapped[Course] = relationship()
    progress: Mapped[list[LessonProgress]] = relationship(
        back_populates="enrollment", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_completed(self) -> bool:
        return self.status == COMPLETED

    def progress_of(self, lesson_id: int) -> LessonProgress | None:
        return next((p for p in self.progress if p.lesson_id == lesson_id), None)

    @property
    def done_lesson_ids(self) -> set[int]:
        return {p.lesson_id for p in self.progress if p.done}

    def is_overdue(self, today: dt.date | None = None) -> bool:
        return (
            not self.is_completed
            and self.due_date is not None
            and self.due_date < (today or dt.date.today())
        )

    def __repr__(self) -> str:
        return f"<Enrollment user={self.user_id} course={self.course_id} cycle={self.cycle}>"


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("enrollment_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrollment.id", ondelete="CASCADE"), index=True
    )
    lesson_id: Mapped[int] = mapped_column(
        ForeignKey("course_lesson.id", ondelete="CASCADE"), index=True
    )
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[dt.datetime | None]
    # Resume point inside the lesson: seconds into a video, or 0.
    position: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enrollment: Mapped[Enrollment] = relationship(back_populates="progress")
    lesson: Mapped[Lesson] = relationship()
