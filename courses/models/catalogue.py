"""The catalogue: courses, their chapters and lessons, and attached files."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.db import db, utcnow

from ..constants import DRAFT, PUBLISHED

if TYPE_CHECKING:
    from .quizzes import Question, Quiz

# A course may require others to be completed first (self-referential many-to-many).
course_prerequisite = Table(
    "course_prerequisite",
    db.metadata,
    Column("course_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
    Column("prerequisite_id", ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
)


class Course(db.Model):
    __tablename__ = "course"
    __audited__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    topic: Mapped[str] = mapped_column(String(32), index=True)
    # Small lists, filtered in Python by the catalogue (a few hundred courses at most).
    audience: Mapped[list[str]] = mapped_column(JSON, default=list)
    level: Mapped[str] = mapped_column(String(16), default="beginner")
    hours: Mapped[float] = mapped_column(Float, default=1.0)
    instructor: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    cover_path: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=DRAFT, index=True)
    # Required training for experts: every expert must hold a valid certificate of it.
    required_for_experts: Mapped[bool] = mapped_column(default=False, index=True)
    # How long a certificate counts for required training (None: for ever).
    validity_years: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    prerequisites: Mapped[list[Course]] = relationship(
        secondary=course_prerequisite,
        primaryjoin=lambda: Course.id == course_prerequisite.c.course_id,
        secondaryjoin=lambda: Course.id == course_prerequisite.c.prerequisite_id,
        order_by=lambda: Course.title,
        lazy="selectin",
    )
    chapters: Mapped[list[Chapter]] = relationship(
        back_populates="course",
        cascade="all, delete-orphan",
        order_by="Chapter.position",
        lazy="selectin",
    )
    materials: Mapped[list[Material]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="Material.id"
    )
    quiz: Mapped[Quiz | None] = relationship(
        back_populates="course", cascade="all, delete-orphan", uselist=False, lazy="selectin"
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="Question.position"
    )

    @property
    def is_published(self) -> bool:
        return self.status == PUBLISHED

    @property
    def lessons(self) -> list[Lesson]:
        """Every lesson in reading order."""
        return [lesson for chapter in self.chapters for lesson in chapter.lessons]

    @property
    def total_minutes(self) -> int:
        return sum(lesson.minutes for lesson in self.lessons)

    @property
    def active_questions(self) -> list[Question]:
        return [q for q in self.questions if q.active]

    @property
    def has_quiz(self) -> bool:
        return self.quiz is not None and bool(self.active_questions)

    def __repr__(self) -> str:
        return f"<Course {self.slug!r}>"


class Chapter(db.Model):
    __tablename__ = "course_chapter"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    course: Mapped[Course] = relationship(back_populates="chapters")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="chapter",
        cascade="all, delete-orphan",
        order_by="Lesson.position",
        lazy="selectin",
    )


class Lesson(db.Model):
    """A unit of content: Markdown text, a PDF, a video (upload or intranet URL) or a file."""

    __tablename__ = "course_lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    chapter_id: Mapped[int] = mapped_column(
        ForeignKey("course_chapter.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8), default="text")
    markdown: Mapped[str | None] = mapped_column(Text)
    # Rendered from `markdown` and sanitised (nh3) when saved, so pages never render raw input.
    html: Mapped[str | None] = mapped_column(Text)
    # Text of an uploaded PDF, pages separated by form feeds (for passages and search).
    pdf_text: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(String(255))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_mime: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(Integer)
    video_url: Mapped[str | None] = mapped_column(String(500))
    minutes: Mapped[int] = mapped_column(Integer, default=10)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The file named in the course folder's manifest: re-imports update the same lesson.
    source_key: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    chapter: Mapped[Chapter] = relationship(back_populates="lessons")
    course: Mapped[Course] = relationship()
    materials: Mapped[list[Material]] = relationship(
        back_populates="lesson", cascade="all, delete-orphan", order_by="Material.id"
    )

    def __repr__(self) -> str:
        return f"<Lesson {self.id} {self.title!r}>"


class Material(db.Model):
    """A downloadable file attached to a course or to one of its lessons."""

    __tablename__ = "course_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_lesson.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    file_path: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    course: Mapped[Course] = relationship(back_populates="materials")
    lesson: Mapped[Lesson | None] = relationship(back_populates="materials")
