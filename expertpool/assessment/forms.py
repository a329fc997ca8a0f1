"""Forms of the annual assessment (CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class RoundForm(FlaskForm):
    year = IntegerField(_l("Year assessed"), validators=[InputRequired(), NumberRange(2000, 2100)])


class GradeForm(FlaskForm):
    grade = SelectField(_l("Assessment grade"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("A reason is required.")), Length(max=2000)],
        render_kw={"rows": 3},
    )
    version = HiddenField()

    def expected_version(self) -> int | None:
        value = (self.version.data or "").strip()
        return int(value) if value.isdigit() else None


class ActionForm(FlaskForm):
    """A button that posts (close, gather again): the CSRF token only."""
