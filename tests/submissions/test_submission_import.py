"""Bulk import of submissions (XLSX, CSV, JSON): row-numbered refusals, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from expertpool.core.audit import AuditLog
from expertpool.db import db
from expertpool.experts import institutions
from expertpool.submissions import importer
from expertpool.submissions.importer import COLUMNS, ImportRefused
from expertpool.submissions.models import Submission

HEADERS = [c.zh for c in COLUMNS]


def good_row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid RM-certification row keyed by Chinese header."""
    row = {
        "受理编号": f"SAMR-2025-{n:04d}",
        "类型": "标准物质定级评审",
        "评审类型": "新研制",
        "级别": "一级",
        "标题": f"土壤成分分析标准物质 {n}",
        "标准物质名称": "土壤成分分析标准物质",
        "GBW编号": "",
        "类别": "08",
        "基体": "土壤",
        "分析物": "铅;镉;砷",
        "方法": "ICP-MS;原子荧光",
        "预期用途": "土壤环境监测质量控制",
        "申请单位": "中国计量科学研究院",
        "省份": "北京",
        "研制人员": "王强;刘芳",
        "联系人": "陈立新",
        "联系人邮箱": "chenlx@nim.ac.cn",
        "说明": "采集典型土壤制备。",
        "评审开始": "2025-03-01",
        "评审结束": "2025-04-30",
    }
    row.update(overrides)
    return row


def assistance_row(n: int = 2) -> dict[str, Any]:
    return good_row(
        n,
        类型="技术帮扶",
        评审类型="",
        级别="",
        标准物质名称="",
        类别="",
        标题="食品企业质控样品均匀性评估帮扶",
        申请单位="某食品有限公司",
        省份="广东",
    )


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or list(rows[0])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(
    rows: list[dict[str, Any]], encoding: str = "utf-8-sig", headers: list[str] | None = None
) -> bytes:
    headers = headers or list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def check(filename: str, data: bytes, encoding: str = "utf-8") -> importer.ImportReport:
    return importer.validate(db.session, importer.parse(filename, data, encoding))


def submission_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Submission)) or 0


# --- good files -------------------------------------------------------------------------------


def test_good_xlsx_import_resolves_aliases(app: Any, admin: Any) -> None:
    nim = institutions.get_or_create(db.session, "中国计量科学研究院", "北京")
    institutions.add_alias(db.session, nim, "中国计量院")
    db.session.commit()
    rows = [
        good_row(1, 申请单位="中国计量院"),
        good_row(3, 评审类型="复制", 级别="", 类别="", GBW编号="gbw（e） 080123"),
        assistance_row(),
    ]
    report = check("s.xlsx", xlsx_bytes(rows))
    assert report.ok, report.errors
    assert report.row_numbers == [2, 3, 4]
    created = importer.commit(db.session, admin, report)
    db.session.commit()
    first, reproduction, assistance = created
    assert first.applicant_institution_id == nim.id  # the alias found the institution
    assert first.analytes == ["铅", "镉", "砷"] and first.methods == ["ICP-MS", "原子荧光"]
    assert first.applicant_people == ["王强", "刘芳"]
    assert str(first.window_end) == "2025-04-30"
    # Grade and category follow from the GBW number; the number is stored in canonical form.
    assert (reproduction.gbw_number, reproduction.grade, reproduction.category) == (
        "GBW(E) 080123",
        "second",
        8,
    )
    assert assistance.kind == "technical_assistance" and assistance.review_type is None
    assert assistance.applicant_institution.name == "某食品有限公司"
    logged = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Submission"))
    assert {e.note for e in logged} == {"import s.xlsx"}


def test_good_csv_with_english_headers_in_gb18030(app: Any) -> None:
    row = good_row(1)
    english = {c.en: row[c.zh] for c in COLUMNS}
    english["Kind"] = "RM certification"
    report = check("s.csv", csv_bytes([english], encoding="gb18030"), "gb18030")
    assert report.ok, report.errors
    assert report.rows[0]["kind"] == "rm_certification"
    assert report.rows[0]["title"] == "土壤成分分析标准物质 1"


def test_good_json_with_arrays_and_wrapper_object(app: Any, admin: Any) -> None:
    record = {
        "kind": "rm_certification",
        "review_type": "recertification",
        "title": "血清中肌酐标准物质新定值",
        "rm_name": "人血清肌酐",
        "gbw_number": "GBW 09172",
        "analytes": ["肌酐"],
        "methods": ["同位素稀释质谱"],
        "applicant_institution": "中国计量科学研究院",
        "applicant_people": ["李明"],
        "window_start": "2025-05-01",
        "extra": "ignored",
    }
    data = json.dumps({"submissions": [record]}, ensure_ascii=False).encode()
    report = check("s.json", data)
    assert report.ok, report.errors
    assert any("extra" in str(w) for w in report.warnings)
    (created,) = importer.commit(db.session, admin, report)
    assert (created.grade, created.category, created.gbw_number) == ("first", 9, "GBW 09172")
    assert created.analytes == ["肌酐"]


def test_json_template_is_a_valid_file(app: Any) -> None:
    report = check("template.json", importer.template_json())
    assert report.ok, report.errors
    assert report.rows[0]["analytes"] == ["铅", "镉", "砷"]


def test_xlsx_template_round_trip(app: Any) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(importer.template_xlsx()))
    ws = wb[importer.DATA_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers == HEADERS
    assert importer.HELP_SHEET in wb.sheetnames
    ws.append([good_row(1).get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    assert check("t.xlsx", out.getvalue()).ok


def test_csv_template_round_trip(app: Any) -> None:
    text = importer.template_csv().decode("utf-8-sig")
    assert text.strip().split(",") == HEADERS
    data = (text + ",".join(str(good_row(1)[h]) for h in HEADERS) + "\r\n").encode("utf-8")
    assert check("t.csv", data).ok


# --- refusals ---------------------------------------------------------------------------------


# One bad value per row (spreadsheet rows 3 to 14): (cells changed, column named, message part).
BAD_ROWS = [
    ({"GBW编号": "GBW 8301"}, "GBW编号", "is not a GBW number"),
    ({"评审类型": "复制", "GBW编号": ""}, "GBW编号", "Required for a reproduction"),
    ({"GBW编号": "GBW(E) 080123"}, "级别", "grade does not match"),
    ({"GBW编号": "GBW 10301"}, "类别", "category does not match"),
    ({"类型": "咨询"}, "类型", "Unknown value"),
    ({"评审类型": ""}, "评审类型", "Required for an RM certification"),
    ({"标准物质名称": ""}, "标准物质名称", "Required for an RM certification"),
    ({"类别": "99"}, "类别", "Unknown category"),
    ({"评审开始": "2025-05-01", "评审结束": "2025-04-01"}, "评审结束", "ends before it starts"),
    ({"评审开始": "2025-13-01"}, "评审开始", "is not a date"),
    ({"标题": ""}, "标题", "A value is required"),
    ({"分析物": "铅;" + "x" * 70}, "分析物", "too long"),
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_each_bad_value_names_its_row_and_column(app: Any, fmt: str) -> None:
    rows = [good_row(1)] + [good_row(n, **bad) for n, (bad, _c, _m) in enumerate(BAD_ROWS, 2)]
    data = xlsx_bytes(rows, HEADERS) if fmt == "xlsx" else csv_bytes(rows, headers=HEADERS)
    report = check(f"s.{fmt}", data)
    assert not report.ok
    found = [(e.row, e.column) for e in report.errors]
    assert found == [(row, column) for row, (_b, column, _m) in enumerate(BAD_ROWS, 3)]
    for error, (_b, _c, fragment) in zip(report.errors, BAD_ROWS, strict=True):
        assert fragment in error.message, (error, fragment)
    assert report.row_numbers == [2]  # the good row passes, but nothing will be written


def test_json_records_are_numbered_from_1(app: Any) -> None:
    records = [
        {"kind": "technical_assistance", "title": "a", "applicant_institution": "x"},
        {"kind": "technical_assistance", "applicant_institution": "x"},
    ]
    report = check("s.json", json.dumps(records).encode())
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (2, "title", "A value is required.")
    ]


def test_missing_required_column_reported_on_row_1(app: Any) -> None:
    headers = [h for h in HEADERS if h != "申请单位"]
    report = check("s.csv", csv_bytes([good_row(1)], headers=headers))
    assert [(e.row, e.column) for e in report.errors] == [(1, "申请单位")]


def test_repeated_reference_in_file_and_database(app: Any, make_submission: Any) -> None:
    make_submission(reference="SAMR-2025-0009")
    rows = [good_row(1), good_row(2, 受理编号="SAMR-2025-0001"), good_row(9)]
    report = check("s.csv", csv_bytes(rows))
    messages = {(e.row, e.message) for e in report.errors}
    assert any(row == 3 and "row 2 and row 3" in m for row, m in messages)
    assert any(row == 4 and "already registered" in m for row, m in messages)


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("s.txt", b"x", "Unsupported file type"),
        ("s.csv", b"", "empty"),
        ("s.json", b'[{"title": 1}', "not valid"),
        ("s.json", b'{"title": "x"}', "must be a list"),
        ("s.json", b"[1]", "JSON object"),
        ("s.json", b"[]", "holds no submissions"),
        ("s.xlsx", b"PK not really", "not an Excel"),
        ("s.csv", "标题\n".encode("gb18030"), "not UTF-8"),
    ],
)
def test_file_level_errors(filename: str, data: bytes, fragment: str) -> None:
    parsed = importer.parse(filename, data)  # no database needed to refuse these
    assert parsed.errors and not parsed.rows
    assert fragment in " ".join(e.message for e in parsed.errors)


def test_invalid_json_names_line_and_column(app: Any) -> None:
    report = check("s.json", b'[\n  {"title": "a",}\n]')
    assert "line 2" in report.errors[0].message


def test_commit_refuses_a_report_with_errors(app: Any, admin: Any) -> None:
    report = check("s.xlsx", xlsx_bytes([good_row(1), good_row(2, 类别="99")], HEADERS))
    with pytest.raises(ImportRefused):
        importer.commit(db.session, admin, report)
    assert submission_count() == 0


def test_commit_is_all_or_nothing_when_a_row_fails(
    app: Any, admin: Any, make_submission: Any
) -> None:
    report = check("s.xlsx", xlsx_bytes([good_row(1), good_row(2)], HEADERS))
    assert report.ok
    make_submission(reference="SAMR-2025-0002")  # registered between preview and commit
    with pytest.raises(ImportRefused, match="Row 3"):
        importer.commit(db.session, admin, report)
    db.session.commit()
    assert submission_count() == 1  # only the one made above


# --- pages and CLI ----------------------------------------------------------------------------


def test_preview_writes_nothing_then_commit_imports(admin_client: Any) -> None:
    client = admin_client
    data = {
        "file": (io.BytesIO(xlsx_bytes([good_row(1), assistance_row()])), "s.xlsx"),
        "encoding": "utf-8",
    }
    page = client.post("/submissions/import", data=data, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 rows are valid" in html
    assert submission_count() == 0
    token = html.split('name="token" type="hidden" value="')[1].split('"')[0]
    done = client.post("/submissions/import/commit", data={"token": token})
    assert done.status_code == 302
    assert submission_count() == 2
    again = client.post("/submissions/import/commit", data={"token": token})
    assert again.status_code == 302 and submission_count() == 2  # the token is spent


def test_preview_shows_row_numbered_errors(admin_client: Any) -> None:
    client = admin_client
    data = {
        "file": (io.BytesIO(csv_bytes([good_row(1), good_row(2, 类别="99")])), "s.csv"),
        "encoding": "utf-8",
    }
    html = client.post(
        "/submissions/import", data=data, content_type="multipart/form-data"
    ).get_data(as_text=True)
    assert "<td>3</td><td>类别</td>" in html
    assert 'name="token"' not in html


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_template_downloads(admin_client: Any, fmt: str) -> None:
    client = admin_client
    response = client.get(f"/submissions/import/template.{fmt}")
    assert response.status_code == 200
    assert f"submission-import-template.{fmt}" in response.headers["Content-Disposition"]
    assert client.get("/submissions/import/template.pdf").status_code == 404


def test_cli_import_and_dry_run(app: Any, runner: Any, admin: Any, tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            [{"kind": "technical_assistance", "title": "帮扶", "applicant_institution": "某企业"}],
            ensure_ascii=False,
        )
    )
    dry = runner.invoke(args=["submissions", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "would be imported" in dry.output
    assert submission_count() == 0
    result = runner.invoke(args=["submissions", "import", str(path), "--as-user", "admin"])
    assert result.exit_code == 0, result.output
    assert submission_count() == 1
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "x"}]')
    failed = runner.invoke(args=["submissions", "import", str(bad)])
    assert failed.exit_code != 0 and "nothing was imported" in failed.output


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"[" * 100_000],
    ids=["arrays", "objects", "unclosed"],
)
def test_deeply_nested_json_is_refused_before_parsing(admin_client: Any, data: bytes) -> None:
    """Issue 12 item 8: the parser's RecursionError was a 500; now a clear refusal."""
    page = admin_client.post(
        "/submissions/import",
        data={"file": (io.BytesIO(data), "s.json"), "encoding": "utf-8"},
        content_type="multipart/form-data",
    )
    assert page.status_code == 200
    assert "more than 32 levels deep" in page.get_data(as_text=True)
    assert submission_count() == 0


def test_json_nesting_within_the_limit_still_parses() -> None:
    deep = {"submissions": [{"title": "x", "analytes": ["铅"], "extra": [[[[[[1]]]]]]}]}
    parsed = importer.parse("s.json", json.dumps(deep).encode())
    assert not any("levels deep" in e.message for e in parsed.errors)
