"""Forms of the training feature. The course form carries the version for optimistic locking."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from expertpool.core.requests import whole_number

from .constants import (
    AUDIENCES,
    DEFAULT_REVIEW_POLICY,
    LANGUAGES,
    LESSON_KINDS,
    LEVELS,
    QUESTION_KINDS,
    REVIEW_POLICIES,
    TOPICS,
)


def _pairs(mapping: dict) -> list[tuple[str, object]]:
    return list(mapping.items())


class ActionForm(FlaskForm):
    """A button: CSRF token and an optional action."""

    action = HiddenField()


class CourseForm(FlaskForm):
    version = HiddenField()
    slug = StringField(
        _l("Short name (in the address)"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", message=_l("Use a-z, 0-9 and '-'.")),
        ],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(
        _l("Summary"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 3}
    )
    language = SelectField(_l("Language"), choices=_pairs(LANGUAGES), default="zh")
    topic = SelectField(_l("Topic"), choices=_pairs(TOPICS))
    audience = SelectMultipleField(
        _l("Audience"), choices=_pairs(AUDIENCES), validators=[DataRequired()]
    )
    level = SelectField(_l("Level"), choices=_pairs(LEVELS))
    hours = FloatField(_l("Learning hours"), validators=[DataRequired(), NumberRange(0.1, 1000)])
    instructor = StringField(_l("Instructor"), validators=[DataRequired(), Length(max=64)])
    prerequisites = SelectMultipleField(_l("Prerequisites"), coerce=int, validators=[Optional()])
    tags = StringField(
        _l("Tags"), description=_l("Separated by commas"), validators=[Optional(), Length(max=500)]
    )
    required_for_experts = BooleanField(_l("Required training for experts"))
    validity_years = IntegerField(
        _l("Certificate counts for (years)"),
        description=_l("Empty: it never expires"),
        validators=[Optional(), NumberRange(1, 50)],
    )
    cover = FileField(
        _l("Cover image"),
        validators=[FileAllowed(["png", "jpg", "jpeg", "gif", "webp"], _l("Images only."))],
    )

    def expected_version(self) -> int | None:
        return whole_number(self.version.data)


class ChapterForm(FlaskForm):
    title = StringField(_l("Chapter title"), validators=[DataRequired(), Length(max=200)])


class ChapterActionForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])
    title = StringField(_l("Chapter title"), validators=[Optional(), Length(max=200)])


class LessonForm(FlaskForm):
    chapter_id = SelectField(_l("Chapter"), coerce=int)
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_pairs(LESSON_KINDS))
    minutes = IntegerField(
        _l("Minutes"), validators=[DataRequired(), NumberRange(1, 1440)], default=20
    )
    markdown = TextAreaField(
        _l("Text (Markdown)"),
        render_kw={"rows": 16},
        description=_l("Start sections with “## heading”."),
    )
    video_url = StringField(_l("Intranet video URL"), validators=[Optional(), Length(max=500)])
    file = FileField(_l("File (PDF, video or other)"))


class MaterialForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    file = FileField(_l("File"), validators=[FileRequired()])


class QuizForm(FlaskForm):
    pass_mark = IntegerField(
        _l("Pass mark (%)"), validators=[DataRequired(), NumberRange(1, 100)], default=60
    )
    time_limit_minutes = IntegerField(
        _l("Time limit (minutes)"), validators=[Optional(), NumberRange(1, 600)]
    )
    attempt_limit = IntegerField(
        _l("Attempts allowed"), validators=[Optional(), NumberRange(1, 100)]
    )
    draw_size = IntegerField(
        _l("Questions drawn per attempt"),
        description=_l("Empty: the whole bank"),
        validators=[Optional(), NumberRange(1, 500)],
    )
    review_policy = SelectField(
        _l("Show the right answers and explanations"),
        choices=_pairs(REVIEW_POLICIES),
        default=DEFAULT_REVIEW_POLICY,
        description=_l(
            "Learners always see which of their answers were right; this decides when the "
            "right answers themselves are shown."
        ),
    )
    lessons_first = BooleanField(
        _l("Open the quiz only when every lesson is done"),
        default=True,
    )


class QuestionForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=_pairs(QUESTION_KINDS))
    text = TextAreaField(
        _l("Question"), validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 3}
    )
    options = TextAreaField(_l("Options (one per line)"), render_kw={"rows": 5})
    correct_options = StringField(
        _l("Right option numbers"),
        description=_l("Single or multiple choice: numbers starting at 1, e.g. “2” or “1, 3”."),
    )
    truth = SelectField(
        _l("Right answer (true / false)"),
        choices=[("", "—"), ("true", _l("True")), ("false", _l("False"))],
        default="",
    )
    accepted = TextAreaField(_l("Accepted answers (fill in; one per line)"), render_kw={"rows": 3})
    explanation = TextAreaField(
        _l("Explanation (shown after submission)"),
        render_kw={"rows": 3},
        validators=[Optional(), Length(max=4000)],
    )


class AssignForm(FlaskForm):
    learners = TextAreaField(
        _l("Learners"),
        render_kw={"rows": 4},
        description=_l("User names or e-mail addresses, one per line"),
    )
    due_date = DateField(_l("Due date"), validators=[Optional()])


class DueDateForm(FlaskForm):
    due_date = DateField(_l("Due date"), validators=[Optional()])


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(), Length(max=2000)], render_kw={"rows": 2}
    )


class CourseImportForm(FlaskForm):
    """Course folders (courses/COURSE_FOLDERS.md) compressed as one ZIP file."""

    file = FileField(
        _l("ZIP file of a course folder, or of a folder of course folders"),
        validators=[FileRequired(), FileAllowed(["zip"], _l("A .zip file only."))],
    )
    replace = BooleanField(_l("Update courses that already exist (same slug)"))
    draft = BooleanField(_l("Leave new courses unpublished"))
