"""Forms of the matching pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class AssignForm(FlaskForm):
    members = SelectMultipleField(_l("Panel members"), coerce=int, validate_choice=False)
    alternates = SelectMultipleField(_l("Alternates"), coerce=int, validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])


class RoundForm(FlaskForm):
    name = StringField(_l("Name of the round"), validators=[DataRequired(), Length(max=128)])
    submissions = SelectMultipleField(_l("Submissions"), coerce=int, validate_choice=False)
    panel_size = IntegerField(_l("Panel size"), default=3, validators=[NumberRange(3, 7)])
    load_cap_per_round = IntegerField(
        _l("Most reviews per expert in this round"),
        default=2,
        validators=[Optional(), NumberRange(1, 50)],
    )
    fairness = BooleanField(_l("Raise the weakest panel (fairness)"))
    due_date = DateField(_l("Due date"), validators=[Optional()])


class ConfirmForm(FlaskForm):
    version = HiddenField()
    invitations = HiddenField()  # the count the administrator was shown
