"""URL rules of submissions."""

from __future__ import annotations

from flask import Blueprint

from . import controllers as c
from . import views_import as imp

bp = Blueprint("submissions", __name__, template_folder="templates")

rule = bp.add_url_rule
rule("/submissions/", "index", c.index)
rule("/submissions/new", "new", c.new, methods=["GET", "POST"])
rule("/submissions/<int:submission_id>", "detail", c.detail)
rule("/submissions/<int:submission_id>/edit", "edit", c.edit, methods=["GET", "POST"])
rule("/submissions/<int:submission_id>/withdraw", "withdraw", c.withdraw, methods=["POST"])
rule(
    "/submissions/<int:submission_id>/attachments",
    "add_attachment",
    c.add_attachment,
    methods=["POST"],
)
rule("/submissions/<int:submission_id>/attachments/<int:attachment_id>", "attachment", c.attachment)
rule(
    "/submissions/<int:submission_id>/attachments/<int:attachment_id>/delete",
    "remove_attachment",
    c.remove_attachment,
    methods=["POST"],
)
rule("/submissions/import", "import_submissions", imp.upload, methods=["GET", "POST"])
rule("/submissions/import/commit", "import_commit", imp.commit, methods=["POST"])
rule("/submissions/import/template.<fmt>", "import_template", imp.template)
rule("/submissions/import/jobs/<int:job_id>", "import_job", imp.job)


@bp.app_template_global()
def submission_status_label(status: str) -> str:
    from .constants import STATUS_LABELS, SubmissionStatus

    return (
        str(STATUS_LABELS[SubmissionStatus(status)]) if status in set(SubmissionStatus) else status
    )
