"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from ..core.access import Role

USERNAME = Regexp(
    r"^[A-Za-z0-9_.-]{3,64}$", message=_l("3-64 letters, digits, dots, dashes or underscores.")
)
AUDIENCES = [
    ("technician", _l("Technician")),
    ("manager", _l("Manager")),
    ("reviewer", _l("Reviewer")),
    ("regulator", _l("Regulator")),
]


class LoginForm(FlaskForm):
    username = StringField(_l("Username or e-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Remember me"))


class RegisterForm(FlaskForm):
    kind = RadioField(
        _l("I am registering as"),
        default="trainee",
        choices=[("trainee", _l("Trainee")), ("expert", _l("Expert applicant"))],
    )
    username = StringField(_l("Username"), validators=[DataRequired(), USERNAME])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=64)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    organisation = StringField(_l("Institution"), validators=[Optional(), Length(max=128)])
    audience = SelectField(_l("Role in the programme"), choices=AUDIENCES, default="technician")
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10)])
    confirm = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10)])
    confirm = PasswordField(
        _l("Repeat new password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[("zh_CN", "中文"), ("en", "English")])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), USERNAME])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=64)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    roles = SelectMultipleField(
        _l("Roles"),
        choices=[
            (Role.ADMIN.value, _l("Administrator")),
            (Role.EXPERT.value, _l("Expert")),
            (Role.TRAINEE.value, _l("Trainee")),
        ],
    )
    active = BooleanField(_l("Account enabled"), default=True)
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=10)])


class CorrectionForm(FlaskForm):
    """A request to correct data about oneself; the field choices come from the page."""

    field = SelectField(_l("Field"), validators=[DataRequired()], choices=[])
    value = StringField(_l("Correct value"), validators=[DataRequired(), Length(max=254)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class CorrectionDecisionForm(FlaskForm):
    decision = StringField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=1000)])
