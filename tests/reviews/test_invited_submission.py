"""An invited expert sees the submission and its files before answering; nobody else does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from expertpool.core import audit
from expertpool.db import db
from expertpool.reviews import operations as ops
from expertpool.reviews.models import Assignment
from expertpool.submissions.operations import add_attachment


def _setup(admin: Any, pool: Any) -> tuple[Any, Any]:
    audit.set_actor(db.session, admin)
    submission = pool.submission
    submission.description = "候选物为红壤，取自湖南。"
    attachment = add_attachment(
        db.session,
        admin,
        submission,
        "研制报告.txt",
        "均匀性检验报告".encode(),
        current_app.config["UPLOAD_FOLDER"],
        "text/plain",
    )
    members = [(e.id, 0.9, {}) for e in pool.members]
    alternates = [(e.id, 0.5, {}) for e in pool.alternates]
    ops.assign_panel(db.session, admin, submission, members, alternates, dt.date(2030, 1, 1))
    db.session.commit()
    return submission, attachment


def _assignment(submission: Any, expert: Any) -> Assignment:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.submission_id == submission.id, Assignment.expert_id == expert.id
        )
    )


def test_invited_expert_reaches_the_submission_and_its_files(admin, pool, sign_in):
    submission, attachment = _setup(admin, pool)
    mine = _assignment(submission, pool.members[0])
    client = sign_in("e1")
    invitations = client.get("/reviews/invitations").get_data(as_text=True)
    page_url = f"/reviews/assignments/{mine.id}/submission"
    assert page_url in invitations
    page = client.get(page_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        submission.title,
        submission.rm_name,
        "08 Environmental chemistry",
        "广东省计量科学研究院",
        "候选物为红壤",
        "研制报告.txt",
    ):
        assert text in html, text
    file_url = f"/reviews/assignments/{mine.id}/attachments/{attachment.id}"
    assert file_url in html
    download = client.get(file_url)
    body = download.data
    download.close()
    assert download.status_code == 200 and body == "均匀性检验报告".encode()


def test_another_expert_cannot_see_the_invited_submission_or_its_files(admin, pool, sign_in):
    submission, attachment = _setup(admin, pool)
    theirs = _assignment(submission, pool.members[0])
    client = sign_in("e2")  # invited to the same submission, but this is e1's invitation
    assert client.get(f"/reviews/assignments/{theirs.id}/submission").status_code == 403
    download = client.get(f"/reviews/assignments/{theirs.id}/attachments/{attachment.id}")
    assert download.status_code == 404  # someone else's assignment: its existence stays private
    assert download.data != "均匀性检验报告".encode()


def test_an_alternate_not_yet_invited_cannot_see_it(admin, pool, sign_in):
    submission, attachment = _setup(admin, pool)
    waiting = _assignment(submission, pool.alternates[0])
    assert waiting.status == "proposed"
    client = sign_in(pool.alternates[0].name)
    assert client.get(f"/reviews/assignments/{waiting.id}/submission").status_code == 403
    url = f"/reviews/assignments/{waiting.id}/attachments/{attachment.id}"
    assert client.get(url).status_code == 404


def test_administrators_read_the_full_submission_page_instead(admin, pool, auth, client):
    submission, _attachment = _setup(admin, pool)
    auth.login()
    theirs = _assignment(submission, pool.members[1])
    assert client.get(f"/reviews/assignments/{theirs.id}/submission").status_code == 403
    page = client.get(f"/submissions/{submission.id}")
    assert page.status_code == 200 and submission.title in page.get_data(as_text=True)


def test_submitting_a_review_asks_first_and_says_it_is_final(admin, pool, sign_in):
    submission, _attachment = _setup(admin, pool)
    mine = _assignment(submission, pool.members[0])
    client = sign_in("e1")
    client.post(
        f"/reviews/assignments/{mine.id}/accept", data={"version": mine.version, "no_conflict": "y"}
    )
    html = client.get(f"/reviews/assignments/{mine.id}/review").get_data(as_text=True)
    assert (
        'value="submit" data-confirm="Submit the review? Once submitted it cannot be changed."'
        in html
    )


def test_invited_expert_never_gets_a_file_outside_the_upload_folder(admin, pool, sign_in):
    submission, attachment = _setup(admin, pool)
    outside = Path(current_app.config["UPLOAD_FOLDER"]).parent / "outside.txt"
    outside.write_text("not an upload")
    attachment.stored_path = "../outside.txt"  # only a tampered row holds such a path
    db.session.commit()
    mine = _assignment(submission, pool.members[0])
    client = sign_in("e1")
    assert (
        client.get(f"/reviews/assignments/{mine.id}/attachments/{attachment.id}").status_code == 404
    )
