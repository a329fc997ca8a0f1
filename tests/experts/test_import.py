"""Bulk import and export of experts: every refusal is row-numbered and writes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from expertpool.core.audit import AuditLog
from expertpool.core.idnumbers import InvalidIdNumber, check_digit, normalise_id_number
from expertpool.core.pii import mask
from expertpool.db import db
from expertpool.experts import exporter, importer, institutions
from expertpool.experts.importer import COLUMNS, ImportRefused, RowError
from expertpool.experts.models import Expert, Institution

HEADERS = [c.zh for c in COLUMNS]


@pytest.fixture(autouse=True)
def english(app: Any) -> Iterator[None]:
    """Messages are asserted in English, whatever translations the app has."""
    with force_locale("en"):
        yield


def make_id(birth: str = "19750612", seq: str = "001", area: str = "110105") -> str:
    first17 = area + birth + seq
    return first17 + check_digit(first17)


def good_row(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid row keyed by Chinese header."""
    row = {
        "姓名": f"专家{n}",
        "性别": "女",
        "出生日期": "1975-06-12",
        "身份证号": make_id(seq=f"{n:03d}"),
        "手机": f"1380013{n:04d}",
        "电子邮箱": f"imported{n}@example.cn",
        "工作单位": "中国计量科学研究院",
        "部门": "化学所",
        "省份": "北京",
        "城市": "北京",
        "职称": "研究员",
        "职称级别": "正高级",
        "学历": "博士研究生",
        "从业年限": "20",
        "审评类别": "08;10",
        "分析物": "铅;镉",
        "基体": "土壤",
        "技术": "ICP-MS",
        "计量统计能力": "是",
        "状态": "在库",
        "聘期开始": "2024-01-01",
        "聘期结束": "2028-12-31",
        "简介": "重金属标准物质研制。",
    }
    row.update(overrides)
    return row


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or list(rows[0])
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    for cell in (c for line in ws.iter_rows() for c in line):
        if cell.data_type == "f":
            cell.data_type = "s"  # text like "=1+1 ..." is text, as a user typing it means
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(rows: list[dict[str, Any]], headers: list[str] | None = None) -> str:
    headers = headers or list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return out.getvalue()


def csv_bytes(rows: list[dict[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    return csv_text(rows).encode(encoding)


def expert_count() -> int:
    return db.session.scalar(select(func.count(Expert.id))) or 0


def run(filename: str, data: bytes, encoding: str = "utf-8") -> importer.ImportReport:
    return importer.validate(db.session, importer.parse(filename, data, encoding))


def the_error(report: importer.ImportReport, row: int, column: str | None) -> RowError:
    """The one error at (row, column), checked to be named in its message; nothing written."""
    found = [e for e in report.errors if e.row == row and e.column == column]
    assert len(found) == 1, report.errors
    error = found[0]
    text = str(error)
    assert (str(row) in text) if row else True
    assert column is None or column in text
    assert not report.ok
    before = expert_count()
    with pytest.raises(ImportRefused):
        importer.commit(db.session, None, report)
    db.session.commit()
    assert expert_count() == before
    return error


# --- pure parts -------------------------------------------------------------------------------


def test_id_number_check_digit_known_example() -> None:
    # The worked example of GB 11643-1999 ends in X.
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(InvalidIdNumber):
        normalise_id_number("110105194912310021")
    assert check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01",
        "2024/3/1",
        "2024年3月1日",
        "2024.03.01",
        "2024-03-01 00:00:00",
        dt.datetime(2024, 3, 1),
        dt.date(2024, 3, 1),
        45352,
    ],
)
def test_dates_accepted(value: Any) -> None:
    assert importer.parse_date(value) == dt.date(2024, 3, 1)


@pytest.mark.parametrize("value", ["2024-13-01", "2024/2/30", "March 2024", "1975", 1975])
def test_dates_refused(value: Any) -> None:
    with pytest.raises(ValueError):
        importer.parse_date(value)


def test_lists_split_on_every_separator_but_not_inside_chemical_names() -> None:
    assert importer.split_list("1,2-二氯乙烷；铅、镉，汞;铅, 砷") == [
        "1,2-二氯乙烷",
        "铅",
        "镉",
        "汞",
        "砷",
    ]
    assert importer.split_list(None) == []


# --- bad imports ------------------------------------------------------------------------------


def test_missing_required_column_reported_once_on_row_1(app: Any) -> None:
    rows = [good_row(n) for n in (1, 2, 3)]
    for row in rows:
        del row["身份证号"]
    report = run("experts.xlsx", xlsx_bytes(rows))
    error = the_error(report, 1, "身份证号")
    assert "身份证号" in error.message
    assert [e for e in report.errors if e.column == "身份证号"] == [error]


def test_unknown_column_is_a_warning_only(app: Any, nim: Institution) -> None:
    row = good_row(1)
    row["备注"] = "something"
    report = run("experts.xlsx", xlsx_bytes([row]))
    assert report.ok, report.errors
    assert [(w.row, w.column) for w in report.warnings] == [(1, "备注")]


@pytest.mark.parametrize(
    ("header", "value", "fragment"),
    [
        ("出生日期", "1975-13-40", "1975-13-40"),
        ("聘期开始", "next year", "next year"),
        ("审评类别", "08;99", "99"),
        ("审评类别", "", ""),
        ("身份证号", make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1"), "check digit"),
        ("身份证号", "11010519750612001", "18"),
        ("身份证号", "1101051975061200AB", "X"),
        ("身份证号", "110105197513120010", "19751312"),
        ("电子邮箱", "not-an-address", "not-an-address"),
        ("电子邮箱", "a@b", "a@b"),
        ("从业年限", "twenty", "twenty"),
        ("从业年限", "12.5", "12.5"),
        ("状态", "活跃", "活跃"),
        ("性别", "X", "X"),
        ("计量统计能力", "maybe", "maybe"),
        ("手机", "call me", "call me"),
        ("姓名", "", ""),
        ("工作单位", "", ""),
    ],
)
def test_bad_value_names_row_and_column(app: Any, header: str, value: str, fragment: str) -> None:
    rows = [good_row(1), good_row(2, **{header: value}), good_row(3)]
    report = run("experts.xlsx", xlsx_bytes(rows))
    error = the_error(report, 3, header)
    assert fragment in error.message
    assert report.row_numbers == [2, 4]  # the good rows are still checked and reported


def test_term_end_before_start(app: Any) -> None:
    row = good_row(1, 聘期开始="2025-01-01", 聘期结束="2024/12/31")
    error = the_error(run("experts.csv", csv_bytes([row])), 2, "聘期结束")
    assert "2024-12-31" in error.message and "2025-01-01" in error.message


@pytest.mark.parametrize(
    ("header", "second"),
    [
        ("身份证号", make_id(seq="001")),
        ("电子邮箱", "IMPORTED1@example.cn"),  # addresses compare without case
    ],
)
def test_duplicates_within_file_name_both_rows(app: Any, header: str, second: str) -> None:
    rows = [good_row(1), good_row(2), good_row(3, **{header: second})]
    report = run("experts.xlsx", xlsx_bytes(rows))
    error = the_error(report, 4, header)
    assert "row 2" in error.message and "row 4" in error.message


@pytest.mark.parametrize(("header", "field"), [("身份证号", "id_number"), ("电子邮箱", "email")])
def test_duplicates_against_database(
    app: Any, make_expert: Callable[..., Any], header: str, field: str
) -> None:
    row = good_row(7)
    value = row[header]
    make_expert(**{field: value.upper() if field == "email" else value})
    error = the_error(run("experts.xlsx", xlsx_bytes([good_row(1), row])), 3, header)
    # An ID number is named masked (the report is kept with the import's job).
    assert (mask(value) if field == "id_number" else value) in error.message
    assert field != "id_number" or value not in error.message


def test_column_given_twice(app: Any) -> None:
    headers = [*HEADERS, "Email"]
    data = xlsx_bytes([dict(good_row(1), Email="x@example.cn")], headers)
    the_error(run("experts.xlsx", data), 1, "Email")


def test_id_number_stored_as_a_number_is_explained(app: Any) -> None:
    row = good_row(1, 身份证号=1.10105197506120e17)
    error = the_error(run("experts.xlsx", xlsx_bytes([row])), 2, "身份证号")
    assert "text" in error.message


def test_csv_not_utf8_reports_the_line_and_suggests_gb18030(app: Any) -> None:
    # English headers and two ASCII rows: the first non-UTF-8 byte is on line 4.
    ascii_rows = [
        good_row(
            n,
            姓名=f"Expert {n}",
            工作单位="NIM",
            部门="Chemistry",
            省份="",
            城市="",
            职称="",
            职称级别="",
            学历="",
            分析物="Pb",
            基体="soil",
            计量统计能力="yes",
            状态="active",
            简介="",
            性别="F",
        )
        for n in (1, 2)
    ]
    english = {c.zh: c.en for c in COLUMNS}
    rows = [{english[k]: v for k, v in r.items()} for r in [*ascii_rows, good_row(3)]]
    data = csv_text(rows).encode("gb18030")
    assert data.split(b"\r\n")[2].isascii() and not data.split(b"\r\n")[3].isascii()
    parsed = importer.parse("experts.csv", data)
    assert parsed.rows == []
    error = the_error(importer.validate(db.session, parsed), 4, None)
    assert "line 4" in error.message and "GB18030" in error.message
    assert importer.validate(db.session, importer.parse("experts.csv", data, "gb18030")).ok


def test_csv_in_gb18030_accepted_when_chosen(app: Any) -> None:
    data = csv_bytes([good_row(1), good_row(2, 工作单位="北京化工大学")], "gb18030")
    report = run("experts.csv", data, "gb18030")
    assert report.ok, report.errors
    assert [r["institution"] for r in report.rows] == ["中国计量科学研究院", "北京化工大学"]
    assert report.rows[0]["categories"] == [8, 10]


def test_utf8_file_read_as_utf8_even_when_gb18030_chosen(app: Any) -> None:
    report = run("experts.csv", csv_bytes([good_row(1)], "utf-8"), "gb18030")
    assert report.ok, report.errors
    assert report.rows[0]["name"] == "专家1"
    assert any(w.row == 0 and "UTF-8" in w.message for w in report.warnings)


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("experts.xlsx", b"PK\x03\x04 not really a zip", "xlsx"),
        ("experts.xlsx", "姓名,身份证号\n张三,1\n".encode(), "xlsx"),
        ("experts.xlsx", b"", "empty"),
        ("experts.csv", b"", "empty"),
        ("experts.csv", b"\xef\xbb\xbf\r\n", "empty"),
        ("experts.csv", ",".join(HEADERS).encode("utf-8-sig"), "no experts"),
        ("experts.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("experts.txt", b"hello", ".txt"),
    ],
)
def test_file_level_errors(app: Any, filename: str, data: bytes, fragment: str) -> None:
    report = run(filename, data)
    error = the_error(report, 0, None)
    assert fragment in error.message
    assert report.rows == []


# --- good imports -----------------------------------------------------------------------------


@pytest.fixture
def nim(app: Any) -> Institution:
    inst = institutions.get_or_create(db.session, "中国计量科学研究院", "北京", "北京")
    institutions.add_alias(db.session, inst, "中国计量院")
    institutions.add_alias(db.session, inst, "NIM")
    db.session.commit()
    return inst


def test_good_xlsx_import(app: Any, nim: Institution, admin: Any) -> None:
    rows = [
        good_row(1, 工作单位="中国计量院", 出生日期=dt.datetime(1975, 6, 12), 分析物="铅；镉、汞"),
        good_row(
            2,
            工作单位="ＮＩＭ",
            身份证号=make_id("19491231", "002").lower(),
            性别="M",
            出生日期="1949年12月31日",
            状态="",
            计量统计能力="否",
            审评类别="环境化学；食品",
            聘期开始=None,
            聘期结束=None,
        ),
        good_row(
            3, 工作单位="新单位研究所", 省份="上海", 城市="上海", 状态="suspended", 审评类别="1、13"
        ),
    ]
    report = run("experts.xlsx", xlsx_bytes(rows))
    assert report.ok, report.errors
    assert [(w.row, w.column) for w in report.warnings] == [(4, "工作单位")]
    progress: list[int] = []
    created = importer.commit(db.session, admin, report, progress=progress.append)
    db.session.commit()
    assert progress == [2, 3, 4]
    first, second, third = (db.session.get(Expert, e.id) for e in created)
    assert first.institution_id == second.institution_id == nim.id
    assert first.birth_date == dt.date(1975, 6, 12) and first.gender == "F"
    assert first.category_codes == [8, 10]
    assert first.specialties_of("analyte") == ["铅", "镉", "汞"]
    assert first.specialties_of("technique") == ["ICP-MS"]
    assert first.metrology_competent is True and first.status == "active"
    assert (first.term_start, first.term_end) == (dt.date(2024, 1, 1), dt.date(2028, 12, 31))
    assert first.years_experience == 20 and first.phone == "13800130001"
    assert second.id_number.endswith("X") and second.status == "applicant"
    assert second.category_codes == [8, 10] and second.metrology_competent is False
    assert (
        third.institution.name == "新单位研究所" and third.province == "上海市"
    )  # the alias 上海, stored canonical
    assert third.category_codes == [1, 13] and third.status == "suspended"
    assert db.session.scalar(select(func.count(Institution.id))) == 2
    actors = set(
        db.session.scalars(select(AuditLog.actor_id).where(AuditLog.entity_type == "Expert"))
    )
    assert actors == {admin.id}


def test_good_csv_import_with_english_headers(app: Any, nim: Institution) -> None:
    rows = [good_row(n, 工作单位="NIM") for n in (1, 2)]
    english = {c.zh: c.en for c in COLUMNS}
    data = csv_text([{english[k]: v for k, v in r.items()} for r in rows]).encode("utf-8")
    report = run("experts.csv", data)
    assert report.ok, report.errors
    assert report.warnings == []
    created = importer.commit(db.session, None, report)
    db.session.commit()
    assert expert_count() == 2
    assert {e.institution_id for e in created} == {nim.id}
    assert created[1].email == "imported2@example.cn"


def test_commit_is_all_or_nothing(app: Any, make_expert: Callable[..., Any]) -> None:
    report = run("experts.xlsx", xlsx_bytes([good_row(n) for n in (1, 2, 3)]))
    assert report.ok
    # Someone adds row 4's address after the preview: the third insert fails at commit time.
    make_expert(email="imported3@example.cn")
    with pytest.raises(ImportRefused) as raised:
        importer.commit(db.session, None, report)
    assert "4" in str(raised.value)
    db.session.commit()
    assert list(db.session.scalars(select(Expert.email))) == ["imported3@example.cn"]


def test_commit_leaves_the_commit_to_the_caller(app: Any) -> None:
    report = run("experts.xlsx", xlsx_bytes([good_row(1), good_row(2)]))
    assert len(importer.commit(db.session, None, report)) == 2
    assert expert_count() == 2
    db.session.rollback()  # e.g. a later step of the same request failed
    assert expert_count() == 0


def test_template_xlsx_round_trip(app: Any) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(importer.template_xlsx()))
    assert wb.sheetnames == ["专家", "说明"]
    sheet, help_sheet = wb["专家"], wb["说明"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.max_row == 1  # no sample expert that could be imported by mistake
    described = {row[0] for row in help_sheet.iter_rows(min_row=2, values_only=True)}
    assert set(HEADERS) <= described
    examples = {
        r[0]: r[4]
        for r in help_sheet.iter_rows(min_row=2, max_row=len(COLUMNS) + 1, values_only=True)
    }
    for _ in range(2):
        sheet.append([examples[h] for h in HEADERS])
    sheet.cell(row=3, column=HEADERS.index("身份证号") + 1, value=make_id(seq="777"))
    sheet.cell(row=3, column=HEADERS.index("电子邮箱") + 1, value="other@example.cn")
    out = io.BytesIO()
    wb.save(out)
    report = run("filled.xlsx", out.getvalue())
    assert report.ok, report.errors
    importer.commit(db.session, None, report)
    db.session.commit()
    assert expert_count() == 2
    assert report.rows[0]["name"] == examples["姓名"]
    assert report.rows[0]["categories"] == [8, 10]


def test_template_csv_round_trip(app: Any) -> None:
    template = importer.template_csv()
    assert template.startswith(b"\xef\xbb\xbf")
    filled = template.decode("utf-8-sig") + csv_text([good_row(1)]).split("\r\n", 1)[1]
    report = run("filled.csv", filled.encode("utf-8-sig"))
    assert report.ok, report.errors
    assert report.rows[0]["id_number"] == make_id(seq="001")


def _snapshot(expert: Expert) -> dict[str, Any]:
    keys = (
        "name",
        "gender",
        "birth_date",
        "id_number",
        "phone",
        "email",
        "department",
        "province",
        "city",
        "title",
        "title_grade",
        "education",
        "years_experience",
        "summary",
        "metrology_competent",
        "status",
        "term_start",
        "term_end",
    )
    values = {k: getattr(expert, k) for k in keys}
    values["institution"] = expert.institution.name
    values["categories"] = expert.category_codes
    values["specialties"] = {
        k: expert.specialties_of(k) for k in ("analyte", "matrix", "technique")
    }
    return values


@pytest.mark.parametrize(
    ("fmt", "locale"), [("xlsx", "zh_CN"), ("xlsx", "en"), ("csv", "zh_CN"), ("csv", "en")]
)
def test_export_then_reimport(app: Any, nim: Institution, fmt: str, locale: str) -> None:
    rows = [
        good_row(1, 手机="+86 10 6452 4000", 简介="=1+1 is not a formula"),
        good_row(
            2,
            分析物="1,2-二氯乙烷;苯",
            性别="",
            出生日期="",
            状态="退休",
            计量统计能力="否",
            从业年限="",
        ),
        good_row(3, 工作单位="中国计量院", 审评类别="13"),
    ]
    report = run("experts.xlsx", xlsx_bytes(rows))
    importer.commit(db.session, None, report)
    db.session.commit()
    experts = list(db.session.scalars(select(Expert).order_by(Expert.id)))
    before = [_snapshot(e) for e in experts]
    if fmt == "xlsx":
        data = exporter.export_xlsx(experts, locale, full_personal=True)
        cells = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
        assert cells[1][HEADERS.index("身份证号")] == make_id(seq="001")  # IDs are exported
    else:
        data = exporter.export_csv(experts, locale, full_personal=True)
        assert data.startswith(b"\xef\xbb\xbf")
        assert "'+86 10 6452 4000" in data.decode("utf-8-sig")  # no formula for Excel to run
    for expert in experts:
        db.session.delete(expert)
    db.session.commit()
    report = run(f"export.{fmt}", data)
    assert report.ok, report.errors
    assert report.warnings == []
    importer.commit(db.session, None, report)
    db.session.commit()
    after = [_snapshot(e) for e in db.session.scalars(select(Expert).order_by(Expert.id))]
    assert after == before


# --- command line -----------------------------------------------------------------------------


def test_cli_import_success(app: Any, runner: Any, admin: Any, tmp_path: Path) -> None:
    path = tmp_path / "experts.xlsx"
    path.write_bytes(xlsx_bytes([good_row(n) for n in (1, 2, 3)]))
    result = runner.invoke(args=["experts", "import", str(path), "--as-user", "admin"])
    assert result.exit_code == 0, result.output
    assert "Imported 3" in result.output
    assert expert_count() == 3
    names = set(
        db.session.scalars(select(AuditLog.actor_name).where(AuditLog.entity_type == "Expert"))
    )
    assert names == {"admin"}


def test_cli_import_failure_writes_nothing(app: Any, runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "experts.xlsx"
    path.write_bytes(
        xlsx_bytes([good_row(1), good_row(2, 电子邮箱="broken"), good_row(3, 审评类别="99")])
    )
    result = runner.invoke(args=["experts", "import", str(path)])
    assert result.exit_code != 0
    assert "Row 3" in result.output and "电子邮箱" in result.output
    assert "Row 4" in result.output and "审评类别" in result.output
    assert expert_count() == 0


def test_cli_dry_run_writes_nothing(app: Any, runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_bytes(csv_bytes([good_row(1)]))
    result = runner.invoke(args=["experts", "import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 expert" in result.output
    assert expert_count() == 0


def test_cli_gb18030(app: Any, runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_bytes(csv_bytes([good_row(1), good_row(2)], "gb18030"))
    refused = runner.invoke(args=["experts", "import", str(path)])
    assert refused.exit_code != 0
    assert "line 1" in refused.output and "GB18030" in refused.output
    assert expert_count() == 0
    accepted = runner.invoke(args=["experts", "import", str(path), "--encoding", "gb18030"])
    assert accepted.exit_code == 0, accepted.output
    assert expert_count() == 2


def test_cli_refuses_a_non_administrator(
    app: Any, runner: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    make_user(username="clerk")
    path = tmp_path / "experts.csv"
    path.write_bytes(csv_bytes([good_row(1)]))
    result = runner.invoke(args=["experts", "import", str(path), "--as-user", "clerk"])
    assert result.exit_code != 0
    assert expert_count() == 0


def test_cli_export_by_status(app: Any, runner: Any, tmp_path: Path) -> None:
    rows = [good_row(1), good_row(2, 状态="申请"), good_row(3)]
    importer.commit(db.session, None, run("experts.xlsx", xlsx_bytes(rows)))
    db.session.commit()
    path = tmp_path / "active.xlsx"
    result = runner.invoke(args=["experts", "export", str(path), "--status", "active"])
    assert result.exit_code == 0, result.output
    parsed = importer.parse(path.name, path.read_bytes())
    assert [raw["email"] for _row, raw in parsed.rows] == [
        "imported1@example.cn",
        "imported3@example.cn",
    ]
