"""Bulk import pages: upload → dry-run preview with row-numbered errors → all-or-nothing commit."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.access import Role
from ..core.importing import ImportPages
from . import importer
from .forms import ImportCommitForm, ImportForm

IMPORT_TASK = "submissions.import_commit"  # a large file's commit, as a background job

PAGES = ImportPages(
    importer=importer,
    blueprint="submissions",
    page="submissions/import.html",
    upload_endpoint="submissions.import_submissions",
    stage_prefix="sub-",
    form=ImportForm,
    commit_form=ImportCommitForm,
    imported=lambda n: _("%(n)s submissions imported.", n=n),
    download_name="submission-import-template",
    job_task=IMPORT_TASK,
    job_label=_l("Import submissions"),
)

# Only administrators import: the four views, each guarded.
upload, commit, template, job = PAGES.views(Role.ADMIN)
