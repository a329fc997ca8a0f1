"""URL rules of the expert pool."""

from flask import Blueprint

from . import controllers as c
from . import views_import as imp
from . import views_violations as vio

bp = Blueprint("experts", __name__, template_folder="templates")

rule = bp.add_url_rule
rule("/experts/", "index", c.index)
rule("/experts/export.<fmt>", "export", c.export, methods=["GET", "POST"])
rule("/experts/new", "new", c.new, methods=["GET", "POST"])
rule("/experts/<int:expert_id>", "detail", c.detail)
rule("/experts/<int:expert_id>/edit", "edit", c.edit)
rule("/experts/<int:expert_id>/profile", "save_profile", c.save_profile, methods=["POST"])
rule(
    "/experts/<int:expert_id>/review-fields",
    "save_review_fields",
    c.save_review_fields,
    methods=["POST"],
)
rule(
    "/experts/<int:expert_id>/institution", "save_institution", c.save_institution, methods=["POST"]
)
rule("/experts/<int:expert_id>/parts/<kind>", "add_part", c.add_part, methods=["POST"])
rule(
    "/experts/<int:expert_id>/parts/<kind>/<int:part_id>/delete",
    "remove_part",
    c.remove_part,
    methods=["POST"],
)
rule("/experts/<int:expert_id>/status", "change_status", c.change_status, methods=["POST"])
rule("/experts/<int:expert_id>/assessments", "assess", c.assess, methods=["POST"])
rule("/experts/vetting", "vetting", c.vetting)
rule("/experts/changes", "changes", c.changes)
rule("/experts/changes/<int:change_id>", "change", c.change, methods=["GET", "POST"])
rule("/experts/warnings", "warnings", c.warnings)
rule("/experts/coverage", "coverage", c.coverage)
rule("/experts/audit", "audit_log", c.audit_log)
rule("/experts/import", "import_experts", imp.upload, methods=["GET", "POST"])
rule("/experts/import/commit", "import_commit", imp.commit, methods=["POST"])
rule("/experts/import/template.<fmt>", "import_template", imp.template)
rule("/experts/import/jobs/<int:job_id>", "import_job", imp.job)
rule(
    "/experts/publications/import",
    "import_publications",
    imp.publications_upload,
    methods=["GET", "POST"],
)
rule(
    "/experts/publications/import/commit",
    "import_publications_commit",
    imp.publications_commit,
    methods=["POST"],
)
rule(
    "/experts/publications/import/template.<fmt>",
    "import_publications_template",
    imp.publications_template,
)
rule(
    "/experts/publications/import/jobs/<int:job_id>",
    "import_publications_job",
    imp.publications_job,
)
rule("/me/file", "my_file", c.my_file)
# Violations (违规处理)
rule("/experts/violations", "violations", vio.index)
rule("/experts/<int:expert_id>/violations/new", "violation_new", vio.new, methods=["GET", "POST"])
rule("/experts/violations/<int:violation_id>", "violation", vio.detail)
rule("/experts/violations/<int:violation_id>/step", "violation_step", vio.step, methods=["POST"])
rule(
    "/experts/violations/<int:violation_id>/answer",
    "violation_answer",
    vio.answer,
    methods=["POST"],
)
rule("/experts/violations/<int:violation_id>/evidence", "violation_evidence", vio.evidence)
rule("/me/violations", "my_violations", vio.mine)
rule(
    "/me/violations/<int:violation_id>/objection",
    "violation_object",
    vio.object_to,
    methods=["POST"],
)


@bp.app_template_global()
def status_label(status: str) -> str:
    from .constants import STATUS_LABELS, Status

    return str(STATUS_LABELS.get(Status(status), status)) if status in set(Status) else status


@bp.app_template_global()
def role_label(role: str) -> str:
    from flask_babel import gettext as _

    labels = {
        "admin": _("Administrator"),
        "expert": _("Expert"),
        "trainee": _("Trainee"),
        "sysadmin": _("System administrator"),
        "secadmin": _("Security administrator"),
        "auditor": _("Security auditor"),
    }
    return labels.get(role, role)


@bp.app_template_global()
def enum_label(kind: str, value: str | None) -> str:
    """A stored Chinese enumeration value (title, title grade, education) in the UI language."""
    from .constants import enum_label as label

    return label(kind, value)


@bp.app_template_global()
def category_name(code: int) -> str:
    from flask_babel import get_locale

    from .constants import category_label

    return category_label(code, str(get_locale()))


@bp.app_template_global()
def province_name(value: str | None) -> str:
    """A stored province in the interface language (北京市, or Beijing in English)."""
    from ..core.province_ui import label

    return label(value)


@bp.app_template_filter()
def masked(value: str | None, visible: bool) -> str:
    """Personal data (ID numbers, phones) in full only for the person and administrators."""
    from ..core.pii import mask

    if not value:
        return ""
    return value if visible else mask(value)


@bp.app_template_global()
def violation_state_label(state: str) -> str:
    from .violations import STATE_LABELS

    return str(STATE_LABELS.get(state, state))
