"""Issue 12 items 3-4 for the pool: control characters in a profile never break an export.

Before the fix: a U+000B or U+0001 saved in one expert's profile made `/experts/export.xlsx`
answer 500 (openpyxl's IllegalCharacterError), so one profile broke the whole-pool export.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.support.spreadsheets import CONTROL_NAME, HOSTILE_NAME, assert_text_not_formula


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_control_characters_in_a_profile_do_not_break_the_export(client, auth, make_expert, fmt):
    make_expert(name=CONTROL_NAME, summary="简介\x01含\x0b控制字符\t与制表符")
    make_expert(name="王五")
    auth.login()
    response = client.get(f"/experts/export.{fmt}")
    assert response.status_code == 200
    if fmt == "xlsx":
        rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.values)
    else:
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    names = {row[0] for row in rows[1:]}
    assert names == {"控制字符专家", "王五"}


def test_formula_names_stay_text_in_the_pool_export(client, auth, make_expert):
    make_expert(name=HOSTILE_NAME)
    auth.login()
    assert_text_not_formula(client.get("/experts/export.xlsx").data, HOSTILE_NAME)
    body = client.get("/experts/export.csv").data.decode("utf-8-sig")
    assert "'" + HOSTILE_NAME in {row[0] for row in csv.reader(io.StringIO(body))}
