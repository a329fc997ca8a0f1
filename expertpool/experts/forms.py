"""Forms of the expert pool. Edit forms carry the record's version for optimistic locking."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from ..core.province_ui import ProvinceField
from ..core.requests import whole_number
from .constants import (
    CATEGORIES,
    EDUCATION_LABELS,
    EDUCATIONS,
    TITLE_GRADE_LABELS,
    TITLE_GRADES,
    TITLE_LABELS,
    TITLES,
    YEARS,
)


def _choices(values: tuple[str, ...], labels: dict[str, Any]) -> list[tuple[str, Any]]:
    """Stored values stay Chinese (as the regulator's forms spell them); labels are translated."""
    return [("", "—")] + [(v, labels.get(v, v)) for v in values]


class VersionedForm(FlaskForm):
    version = HiddenField()

    def expected_version(self) -> int | None:
        return whole_number(self.version.data)


class ProfileForm(VersionedForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=64)])
    gender = SelectField(
        _l("Gender"), choices=[("", "—"), ("M", _l("Male")), ("F", _l("Female"))], default=""
    )
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Regexp(r"^[0-9+\- ]{6,20}$")])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=128)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=32)])
    title = SelectField(
        _l("Professional title"), choices=_choices(TITLES, TITLE_LABELS), default=""
    )
    title_grade = SelectField(
        _l("Title grade"), choices=_choices(TITLE_GRADES, TITLE_GRADE_LABELS), default=""
    )
    education = SelectField(
        _l("Education"), choices=_choices(EDUCATIONS, EDUCATION_LABELS), default=""
    )
    years_experience = IntegerField(
        _l("Years of experience"), validators=[Optional(), NumberRange(0, 70)]
    )
    summary = TextAreaField(
        _l("Profile summary"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 4}
    )


class AdminProfileForm(ProfileForm):
    # Checked (check digit included) by the operation, as for the import: `core.idnumbers`.
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=32)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email()])
    province = ProvinceField(_l("Province"))


class NewExpertForm(AdminProfileForm):
    institution = StringField(_l("Institution"), validators=[DataRequired(), Length(max=128)])
    categories = SelectMultipleField(_l("GBW categories"), coerce=int)


class ReviewFieldsForm(VersionedForm):
    categories = SelectMultipleField(_l("GBW categories"), coerce=int, validators=[DataRequired()])
    analytes = TextAreaField(
        _l("Analytes / measurands"),
        render_kw={"rows": 2},
        description=_l("One per line, or separated by ; or ，"),
    )
    matrices = TextAreaField(_l("Matrices"), render_kw={"rows": 2})
    techniques = TextAreaField(_l("Techniques"), render_kw={"rows": 2})
    metrology_competent = BooleanField(_l("Metrology / statistics competence"))


class InstitutionForm(VersionedForm):
    institution = StringField(_l("Institution"), validators=[DataRequired(), Length(max=128)])


class StatusForm(VersionedForm):
    action = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2})
    term_start = DateField(_l("Term starts"), validators=[Optional()])
    term_end = DateField(_l("Term ends"), validators=[Optional()])


class PublicationForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=512)])
    abstract = TextAreaField(_l("Abstract"), render_kw={"rows": 3})
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(*YEARS)])
    language = SelectField(_l("Language"), choices=[("zh", "中文"), ("en", "English")])
    venue = StringField(_l("Journal / venue"), validators=[Optional(), Length(max=256)])
    authors = TextAreaField(
        _l("Authors"),
        render_kw={"rows": 2},
        description=_l(
            "Every author as on the paper, yourself included, one per line or separated by ; "
            "(e.g. Zhang Wei; 欧阳建国). Co-authors of the applicant's people are recused."
        ),
    )


class DevelopedRMForm(FlaskForm):
    gbw_number = StringField(
        _l("GBW number"),
        validators=[
            DataRequired(),
            Regexp(r"^GBW(\(E\))?\s?\d{5,6}$", message=_l("e.g. GBW 08301 or GBW(E) 080123")),
        ],
    )
    name = StringField(_l("RM name"), validators=[Optional(), Length(max=256)])
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(*YEARS)])


class UnavailableForm(FlaskForm):
    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=256)])


class ConflictForm(FlaskForm):
    kind = SelectField(
        _l("Conflict with"),
        choices=[("institution", _l("An institution")), ("person", _l("A person"))],
    )
    institution = StringField(_l("Institution"), validators=[Optional(), Length(max=128)])
    person_name = StringField(_l("Person"), validators=[Optional(), Length(max=64)])
    relation = SelectField(
        _l("Relation to the person"),
        choices=[
            ("", _l("Other")),
            ("advisor", _l("My advisor (supervisor)")),
            ("student", _l("My student")),
        ],
        default="",
        description=_l("An advisor or student is recused however the name is spelt."),
    )
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=256)])


class EmploymentForm(FlaskForm):
    institution = StringField(_l("Former employer"), validators=[DataRequired(), Length(max=128)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class AssessmentForm(FlaskForm):
    kind = SelectField(
        _l("Kind"),
        choices=[("annual", _l("Annual assessment")), ("review_quality", _l("Review quality"))],
    )
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    rating = SelectField(_l("Rating"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)])
    comment = TextAreaField(_l("Comment"), render_kw={"rows": 2})


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), render_kw={"rows": 2})


class ImportForm(FlaskForm):
    file = FileField(
        _l("File (XLSX or CSV)"),
        validators=[FileRequired(), FileAllowed(["xlsx", "csv"], _l("XLSX or CSV only."))],
    )
    encoding = SelectField(
        _l("CSV encoding"), choices=[("utf-8", "UTF-8"), ("gb18030", "GB18030 (GBK)")]
    )


class ImportCommitForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


def category_choices(locale: str) -> list[tuple[int, str]]:
    from .constants import category_label

    return [(code, category_label(code, locale)) for code in CATEGORIES]


PART_FORMS = {
    "publication": PublicationForm,
    "developed_rm": DevelopedRMForm,
    "unavailable": UnavailableForm,
    "conflict": ConflictForm,
    "employment": EmploymentForm,
}


# --- violations (违规处理) ---------------------------------------------------------------------


def _labelled(labels: dict[str, Any]) -> list[tuple[str, Any]]:
    return list(labels.items())


class ViolationReportForm(FlaskForm):
    kind = SelectField(_l("Kind of violation"), validators=[DataRequired()])
    description = TextAreaField(
        _l("Description"), validators=[DataRequired(), Length(max=5000)], render_kw={"rows": 4}
    )
    occurred_on = DateField(_l("Date of the incident"), validators=[Optional()])
    reporter = StringField(_l("Reported by"), validators=[Optional(), Length(max=128)])
    evidence = TextAreaField(
        _l("Evidence"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 3}
    )
    evidence_file = FileField(
        _l("Evidence file"), description=_l("PDF, picture, text, Word or Excel file; optional.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .violations import KIND_LABELS

        super().__init__(*args, **kwargs)
        self.kind.choices = _labelled(KIND_LABELS)


class ViolationStepForm(FlaskForm):
    """One step of the case: investigate, decide, dismiss, or an internal note."""

    step = HiddenField(validators=[DataRequired()])
    decision = TextAreaField(_l("Decision (shown to the expert)"), render_kw={"rows": 2})
    consequence = SelectField(_l("Consequence"), validators=[Optional()])
    note = TextAreaField(_l("Internal note (never shown to the expert)"), render_kw={"rows": 2})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .violations import CONSEQUENCE_LABELS

        super().__init__(*args, **kwargs)
        self.consequence.choices = [("", "—"), *_labelled(CONSEQUENCE_LABELS)]


class ObjectionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason of the objection"),
        validators=[DataRequired(), Length(max=5000)],
        render_kw={"rows": 3},
    )


class ObjectionAnswerForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), validators=[DataRequired()])
    answer = TextAreaField(
        _l("Answer (shown to the expert)"),
        validators=[DataRequired(), Length(max=5000)],
        render_kw={"rows": 3},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .violations import OUTCOME_LABELS

        super().__init__(*args, **kwargs)
        self.outcome.choices = _labelled(OUTCOME_LABELS)
