"""Models of the training feature."""

from .catalogue import Chapter, Course, Lesson, Material, course_prerequisite
from .certificates import Certificate
from .learning import Enrollment, LessonProgress
from .quizzes import Question, Quiz, QuizAttempt

__all__ = [
    "Certificate",
    "Chapter",
    "Course",
    "Enrollment",
    "Lesson",
    "LessonProgress",
    "Material",
    "Question",
    "Quiz",
    "QuizAttempt",
    "course_prerequisite",
]
