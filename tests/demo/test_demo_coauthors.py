"""The demo data shows co-authorship recusal: author lists, and conflicts of each kind."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from expertpool.core.assignment import eligibility, possible_conflicts
from expertpool.db import db
from expertpool.experts.models import Publication
from expertpool.reviews.eligibility import file_records, rules_from_config, submission_record
from expertpool.submissions.models import Submission


def test_demo_has_author_lists_and_each_kind_of_conflict(app, runner):
    result = runner.invoke(args=["demo", "load", "--if-empty", "--experts", "120"])
    assert result.exit_code == 0, result.output
    pubs = list(db.session.scalars(select(Publication)))
    assert pubs and all(2 <= len(p.authors) <= 7 for p in pubs)
    assert any(p.expert.name in p.authors for p in pubs if p.language == "zh")
    rules, today = rules_from_config(app.config), dt.date.today()
    records = file_records(db.session)
    found, warned = set(), set()
    for submission in db.session.scalars(select(Submission).order_by(Submission.id).limit(4)):
        sub = submission_record(submission)
        for record in records:
            found |= {x.code for x in eligibility(record, sub, rules, today)}
            warned |= {w.code for w in possible_conflicts(record, sub, rules, today)}
    assert {"coauthor", "shared_email_domain", "advisor_student"} <= found
    assert "possible_coauthor" in warned
    contacts = db.session.scalars(select(Submission).limit(1)).one()
    assert contacts.contact_email_list and "qq.com" in contacts.contact_domains
