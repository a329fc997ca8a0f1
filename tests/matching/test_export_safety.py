"""Issue 12 item 3: /assignments.csv never carries a formula typed into a name or a title.

Before the fix the expert's name and the submission's title were written as they were, so an
expert named `=HYPERLINK(...)` became a live formula cell when the CSV was opened in Excel.
"""

from __future__ import annotations

import csv
import io

from expertpool.db import db
from expertpool.reviews.operations import assign_panel
from tests.support.spreadsheets import CONTROL_NAME, HOSTILE_NAME


def test_assignments_csv_neutralises_formulas_and_control_characters(
    client, auth, admin, make_expert, make_submission
):
    submission = make_submission(title="@SUM(1+1) 土壤标准物质")
    hostile = make_expert(name=HOSTILE_NAME)
    control = make_expert(name=CONTROL_NAME)
    members = [(hostile.id, -0.25, {}), (control.id, 0.5, {})]
    assign_panel(db.session, admin, submission, members, [], None, check_eligibility=False)
    db.session.commit()
    auth.login()
    response = client.get("/assignments.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    by_name = {row["expert_name"]: row for row in rows}
    assert set(by_name) == {"'" + HOSTILE_NAME, "控制字符专家"}
    assert {row["submission_title"] for row in rows} == {"'@SUM(1+1) 土壤标准物质"}
    assert by_name["'" + HOSTILE_NAME]["affinity"] == "-0.25"  # a number is never guarded
    for row in rows:
        assert not any(value.startswith(("=", "+", "@", "\t", "\r")) for value in row.values())
