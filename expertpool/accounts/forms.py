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
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from ..core.access import Role

PASSWORD_MIN = 10
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
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=PASSWORD_MIN)])
    confirm = PasswordField(
        _l("Repeat password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=PASSWORD_MIN)]
    )
    confirm = PasswordField(
        _l("Repeat new password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


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
    password = PasswordField(_l("New password"), validators=[Optional(), Length(min=PASSWORD_MIN)])


class RolesForm(FlaskForm):
    """The security administrator's: which roles an account holds."""

    roles = SelectMultipleField(_l("Roles"), choices=ROLE_CHOICES)
