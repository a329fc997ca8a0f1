"""Account forms (Flask-WTF: every form carries a CSRF token)."""

from typing import Any

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
from wtforms.fields import Field
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..core.access import Role
from . import passwords

USERNAME = Regexp(
    r"^[A-Za-z0-9_.-]{3,64}$", message=_l("3-64 letters, digits, dots, dashes or underscores.")
)
PASSWORD_RULES = _l(
    "A long password mixing lower-case letters, capitals, digits and other characters; "
    "not a common password, not your user name."
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
    password = PasswordField(
        _l("Password"), validators=[DataRequired()], description=PASSWORD_RULES
    )
    confirm = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )

    def validate_password(self, field: Field) -> None:
        _check(field, self.username.data, self.email.data, self.name.data)


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired()], description=PASSWORD_RULES
    )
    confirm = PasswordField(
        _l("Repeat new password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field: Field) -> None:
        user = self._user
        _check(field, *((user.username, user.email, user.name) if user else ()))


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[("zh_CN", "中文"), ("en", "English")])


ROLE_CHOICES = [
    (Role.ADMIN.value, _l("Administrator")),
    (Role.EXPERT.value, _l("Expert")),
    (Role.TRAINEE.value, _l("Trainee")),
    (Role.SYSADMIN.value, _l("System administrator")),
    (Role.SECADMIN.value, _l("Security administrator")),
    (Role.AUDITOR.value, _l("Security auditor")),
]


class UserForm(FlaskForm):
    """The system administrator's: identity, enabled or not, a password reset (no roles)."""

    username = StringField(_l("Username"), validators=[DataRequired(), USERNAME])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=64)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    active = BooleanField(_l("Account enabled"), default=True)
    password = PasswordField(
        _l("New password"), validators=[Optional()], description=PASSWORD_RULES
    )

    def validate_password(self, field: Field) -> None:
        if field.data:
            _check(field, self.username.data, self.email.data, self.name.data)


def _check(field: Field, *user_inputs: str | None) -> None:
    """The password policy (`passwords.py`) as a form error on the field."""
    found = passwords.problems(field.data or "", user_inputs)
    if found:
        raise ValidationError(" ".join(found))


class RolesForm(FlaskForm):
    """The security administrator's: which roles an account holds."""

    roles = SelectMultipleField(_l("Roles"), choices=ROLE_CHOICES)


class CorrectionForm(FlaskForm):
    """A request to correct data about oneself; the field choices come from the page."""

    field = SelectField(_l("Field"), validators=[DataRequired()], choices=[])
    value = StringField(_l("Correct value"), validators=[DataRequired(), Length(max=254)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class CorrectionDecisionForm(FlaskForm):
    decision = StringField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=1000)])
