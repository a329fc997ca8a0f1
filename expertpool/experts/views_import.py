"""Bulk import pages: upload → dry-run preview with row-numbered errors → all-or-nothing commit."""

from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..core.access import Role
from ..core.importing import ImportPages
from . import importer, publication_importer
from .forms import ImportCommitForm, ImportForm

IMPORT_TASK = "experts.import_commit"  # a large file's commit, as a background job
PUBLICATIONS_TASK = "experts.import_publications"

PAGES = ImportPages(
    importer=importer,
    blueprint="experts",
    page="experts/import.html",
    upload_endpoint="experts.import_experts",
    stage_prefix="",
    form=ImportForm,
    commit_form=ImportCommitForm,
    imported=lambda n: _("%(n)s experts imported.", n=n),
    download_name="expert-import-template",
    job_task=IMPORT_TASK,
    job_label=_l("Import experts"),
)

# The same pages for the experts' publications (blueprint and forms shared).
PUBLICATION_PAGES = replace(
    PAGES,
    importer=publication_importer,
    page="experts/import_publications.html",
    upload_endpoint="experts.import_publications",
    stage_prefix="pub-",
    imported=lambda n: _("%(n)s publications imported.", n=n),
    download_name="publication-import-template",
    job_task=PUBLICATIONS_TASK,
    job_label=_l("Import publications"),
    name="import_publications",
)

# Only administrators import: the four views of each importer, each guarded.
upload, commit, template, job = PAGES.views(Role.ADMIN)
(
    publications_upload,
    publications_commit,
    publications_template,
    publications_job,
) = PUBLICATION_PAGES.views(Role.ADMIN)
