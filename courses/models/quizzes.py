"""A course's final quiz: settings, the question bank and learners' attempts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.db import db, utcnow

from ..constants import DEFAULT_REVIEW_POLICY, OPEN
from .catalogue import Course
from .learning import Enrollment


class Quiz(db.Model):
    __tablename__ = "course_quiz"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), unique=True)
    pass_mark: Mapped[int] = mapped_column(Integer, default=60)  # percent
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)  # None: untimed
    attempt_limit: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    draw_size: Mapped[int | None] = mapped_column(Integer)  # None: the whole bank
    # When the review of an attempt reveals the right answers (constants.REVIEW_POLICIES).
    review_policy: Mapped[str] = mapped_column(
        String(24), default=DEFAULT_REVIEW_POLICY, server_default=DEFAULT_REVIEW_POLICY
    )
    # The quiz opens only once every lesson of the course is done.
    lessons_first: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    course: Mapped[Course] = relationship(back_populates="quiz")


class Question(db.Model):
    """A question of the bank. `answer` and `explanation` never reach a page before submission.

    answer: single -> [index]; multiple -> [indices]; truefalse -> bool; fill -> [accepted].
    """

    __tablename__ = "quiz_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Retired questions stay so that earlier attempts can still be reviewed.
    active: Mapped[bool] = mapped_column(default=True)
    course: Mapped[Course] = relationship(back_populates="questions")


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempt"
    __table_args__ = (UniqueConstraint("enrollment_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("course_enrollment.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    # The drawn questions, in the order shown (kept: the bank may change later).
    question_ids: Mapped[list[int]] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deadline: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per question id: was the response right (filled at grading).
    results: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    correct: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)  # percent
    passed: Mapped[bool] = mapped_column(default=False)
    pass_mark: Mapped[int] = mapped_column(Integer, default=60)  # the mark in force at start
    enrollment: Mapped[Enrollment] = relationship()
