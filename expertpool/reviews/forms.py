"""Forms of the review workflow. Forms that change a row carry its version."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..experts.forms import VersionedForm
from .constants import (
    CRITERIA,
    CRITERION_LABELS,
    RECOMMENDATION_LABELS,
    VERDICT_LABELS,
)


class AcceptForm(VersionedForm):
    no_conflict = BooleanField(
        _l(
            "I declare that I have no conflict of interest with this submission: I do not work for "
            "the applicant and did not in the last years, I took no part in developing this "
            "reference material, and I have no personal ties with the applicant's people."
        )
    )


class DeclineForm(VersionedForm):
    reason = TextAreaField(
        _l("Reason for declining"),
        render_kw={"rows": 2},
        validators=[DataRequired(), Length(max=2000)],
    )


class ReviewForm(VersionedForm):
    recommendation = SelectField(
        _l("Overall recommendation"),
        default="",
        choices=[("", "—"), *RECOMMENDATION_LABELS.items()],
    )
    summary = TextAreaField(
        _l("Summary"), render_kw={"rows": 5}, validators=[Optional(), Length(max=20000)]
    )


_VERDICT_CHOICES = [("", "—"), *VERDICT_LABELS.items()]
for _name in CRITERIA:  # one verdict and one comment per criterion, in CRITERIA order
    setattr(
        ReviewForm,
        _name,
        SelectField(CRITERION_LABELS[_name], choices=_VERDICT_CHOICES, default=""),
    )
    setattr(
        ReviewForm,
        f"{_name}_comment",
        TextAreaField(
            _l("Comment"), render_kw={"rows": 2}, validators=[Optional(), Length(max=10000)]
        ),
    )


class RateForm(FlaskForm):
    rating = SelectField(
        _l("Review quality"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)]
    )
    comment = TextAreaField(
        _l("Comment"), render_kw={"rows": 2}, validators=[Optional(), Length(max=2000)]
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"), render_kw={"rows": 1}, validators=[DataRequired(), Length(max=2000)]
    )


class DueDateForm(FlaskForm):
    due_date = DateField(_l("Due date"), validators=[DataRequired()])


class SpotCheckForm(FlaskForm):
    """Draw reviews of a round for a second rating; the round choices come from the rounds."""

    round_id = SelectField(_l("Review round"), coerce=int, validators=[DataRequired()])
    size = IntegerField(
        _l("Number of reviews to draw"), default=5, validators=[DataRequired(), NumberRange(1, 200)]
    )
    seed = IntegerField(
        _l("Random seed (optional)"),
        description=_l("Leave empty for a new random draw; the seed used is recorded."),
        validators=[Optional(), NumberRange(0, 2**31 - 1)],
    )
    note = TextAreaField(
        _l("Note"), render_kw={"rows": 1}, validators=[Optional(), Length(max=2000)]
    )


class SecondRatingForm(FlaskForm):
    rating = SelectField(
        _l("Second rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)]
    )
    comment = TextAreaField(
        _l("Comment"), render_kw={"rows": 1}, validators=[Optional(), Length(max=2000)]
    )
