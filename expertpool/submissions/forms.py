"""Forms of the submissions feature. The edit form carries the record's version."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.province_ui import ProvinceField
from ..experts.forms import VersionedForm
from .constants import GRADE_LABELS, KIND_LABELS, REVIEW_TYPE_LABELS

_LIST_HINT = _l("One per line, or separated by ; or ，")


def _with_blank(labels: dict) -> list[tuple[str, object]]:
    return [("", "—")] + [(str(k), v) for k, v in labels.items()]


class SubmissionForm(VersionedForm):
    kind = SelectField(_l("Kind"), choices=[(str(k), v) for k, v in KIND_LABELS.items()])
    reference = StringField(
        _l("Reference (application number)"), validators=[Optional(), Length(max=64)]
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=256)])
    review_type = SelectField(
        _l("Review type"), choices=_with_blank(REVIEW_TYPE_LABELS), default=""
    )
    grade = SelectField(_l("Grade"), choices=_with_blank(GRADE_LABELS), default="")
    rm_name = StringField(_l("RM name"), validators=[Optional(), Length(max=256)])
    gbw_number = StringField(
        _l("GBW number"),
        validators=[Optional(), Length(max=32)],
        description=_l(
            "Required for reproduction and re-certification, e.g. GBW 08301 or GBW(E) 080123"
        ),
    )
    category = SelectField(_l("GBW category"), default="")
    matrix = StringField(_l("Matrix"), validators=[Optional(), Length(max=256)])
    analytes = TextAreaField(
        _l("Analytes / measurands"), render_kw={"rows": 2}, description=_LIST_HINT
    )
    methods = TextAreaField(_l("Methods"), render_kw={"rows": 2}, description=_LIST_HINT)
    intended_use = TextAreaField(_l("Intended use"), render_kw={"rows": 2})
    applicant_institution = StringField(
        _l("Applicant institution"), validators=[DataRequired(), Length(max=128)]
    )
    applicant_province = ProvinceField(_l("Applicant province"))
    applicant_people = TextAreaField(
        _l("Applicant's people"),
        render_kw={"rows": 2},
        description=_l(
            "Names of the people who developed the RM (checked against declared conflicts)"
        ),
    )
    contact_people = TextAreaField(
        _l("Contact persons"),
        render_kw={"rows": 2},
        description=_l("Names of the applicant's contacts (recusal compares them too)"),
    )
    contact_emails = TextAreaField(
        _l("Contacts' e-mail addresses"),
        render_kw={"rows": 2},
        description=_l(
            "Personal data: stored encrypted and shown to administrators only. Experts whose "
            "institutional e-mail domain is the same are recused (free-mail domains ignored)."
        ),
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 4})
    window_start = DateField(_l("Review window starts"), validators=[Optional()])
    window_end = DateField(_l("Review window ends"), validators=[Optional()])


class WithdrawForm(VersionedForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired()], render_kw={"rows": 2})


class AttachmentForm(FlaskForm):
    file = FileField(
        _l("Attachment"),
        validators=[FileRequired()],
        description=_l("The text of PDF files is used for matching."),
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("File (XLSX, CSV or JSON)"),
        validators=[
            FileRequired(),
            FileAllowed(["xlsx", "csv", "json"], _l("XLSX, CSV or JSON only.")),
        ],
    )
    encoding = SelectField(
        _l("CSV encoding"), choices=[("utf-8", "UTF-8"), ("gb18030", "GB18030 (GBK)")]
    )


class ImportCommitForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
