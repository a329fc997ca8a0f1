"""Errors of the training feature: `str(error)` is a message fit for the user."""

from __future__ import annotations


class CourseError(Exception):
    """A refused operation."""


class StaleEdit(CourseError):
    pass


class PrerequisiteMissing(CourseError):
    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing  # slugs of the courses still to complete


class AttemptLimitReached(CourseError):
    pass


class LessonsPending(CourseError):
    def __init__(self, message: str, lesson_ids: list[int]) -> None:
        super().__init__(message)
        self.lesson_ids = lesson_ids  # the lessons still to do, in reading order
