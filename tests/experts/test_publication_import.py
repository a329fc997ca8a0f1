"""Bulk import of experts' publications: author lists kept, row-numbered refusals, nothing
written unless every row is good, and the file's co-authors recused like a form's."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from expertpool.core.audit import AuditLog
from expertpool.core.jobs.models import Job
from expertpool.core.pii import mask
from expertpool.db import db
from expertpool.experts import publication_importer as importer
from expertpool.experts.models import Expert, Publication
from expertpool.experts.publication_importer import COLUMNS, ImportRefused
from tests.experts.test_import import csv_text, make_id, xlsx_bytes

HEADERS = [c.zh for c in COLUMNS]


@pytest.fixture(autouse=True)
def english(app: Any) -> Iterator[None]:
    with force_locale("en"):
        yield


@pytest.fixture
def experts(make_expert: Any) -> list[Expert]:
    """Two experts: 欧阳建国 (named by e-mail in the files) and 李红 (by ID number)."""
    return [
        make_expert(name="欧阳建国", email="ouyang@nim.ac.cn"),
        make_expert(name="李红", email="lihong@cas.cn", id_number=make_id(seq="007")),
    ]


def paper(n: int = 1, **overrides: Any) -> dict[str, Any]:
    row = {
        "专家": "ouyang@nim.ac.cn",
        "题名": f"土壤中铅同位素比值的测定 {n}",
        "年份": "2023",
        "期刊/会议": "分析化学",
        "语言": "中文",
        "作者": "欧阳建国；陈立新; Xiao-Ming Qiu",
        "摘要": "采用多接收电感耦合等离子体质谱法。",
    }
    row.update(overrides)
    return row


def papers(n: int) -> bytes:
    """An XLSX file of n good rows (for the job tests too)."""
    return xlsx_bytes([paper(i) for i in range(1, n + 1)], HEADERS)


def run(filename: str, data: bytes, encoding: str = "utf-8") -> importer.ImportReport:
    return importer.validate(db.session, importer.parse(filename, data, encoding))


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Publication.id))) or 0


def refused(report: importer.ImportReport) -> list[tuple[int, str | None, str]]:
    """The report's errors as (row, column, message); committing it writes nothing."""
    before = count()
    with pytest.raises(ImportRefused):
        importer.commit(db.session, None, report)
    db.session.rollback()
    assert count() == before
    return [(e.row, e.column, e.message) for e in report.errors]


def test_good_xlsx_keeps_author_lists_and_audits_under_the_expert(
    app: Any, experts: list[Expert], admin: Any
) -> None:
    ouyang, li = experts
    version = ouyang.version
    jobs_before = db.session.scalar(select(func.max(Job.id))) or 0
    rows = [
        paper(1),
        paper(2, 专家=make_id(seq="007"), 作者="Li Hong, W. Zhang", 语言="", 题名="Lead in rice"),
    ]
    report = run("p.xlsx", xlsx_bytes(rows, HEADERS))
    assert report.ok, report.errors
    created = importer.commit(db.session, admin, report)
    db.session.commit()
    assert len(created) == 2
    db.session.expire_all()
    [first] = db.session.get(Expert, ouyang.id).publications
    assert first.authors == ["欧阳建国", "陈立新", "Xiao-Ming Qiu"]
    assert (first.year, first.venue, first.language) == (2023, "分析化学", "zh")
    [second] = db.session.get(Expert, li.id).publications
    assert second.authors == ["Li Hong", "W. Zhang"] and second.language == "en"  # guessed
    assert second.year == 2023
    # Audited as created under the expert, by the importer, with the file as the note.
    logs = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Publication")).all()
    assert {(log.subject_id, log.actor_id, log.action) for log in logs} == {
        (ouyang.id, admin.id, "create"),
        (li.id, admin.id, "create"),
    }
    assert all(log.note == "import p.xlsx" for log in logs)
    # The files changed: stamped, the version moved on, one index job for both experts.
    assert db.session.get(Expert, ouyang.id).version == version + 1
    index = db.session.scalars(
        select(Job).where(Job.task == "matching.index_experts", Job.id > jobs_before)
    ).all()
    assert [sorted(job.args["expert_ids"]) for job in index] == [[ouyang.id, li.id]]


def test_good_csv_with_english_headers(app: Any, experts: list[Expert]) -> None:
    rows = [
        {"Expert": "OUYANG@nim.ac.cn", "Title": "Cadmium in rice", "Authors": "OUYANG Jianguo;Li Q"}
    ]
    data = csv_text(rows, ["Expert", "Title", "Authors"]).encode("gb18030")
    report = run("p.csv", data, "gb18030")
    assert report.ok, report.errors
    importer.commit(db.session, None, report)
    db.session.commit()
    [pub] = db.session.get(Expert, experts[0].id).publications
    assert pub.authors == ["OUYANG Jianguo", "Li Q"] and pub.year is None


@pytest.mark.parametrize(
    ("overrides", "column", "fragment"),
    [
        ({"专家": "nobody@nim.ac.cn"}, "专家", "No expert with e-mail nobody@nim.ac.cn"),
        (
            {"专家": make_id(seq="123")},
            "专家",
            f"No expert with ID number {mask(make_id(seq='123'))}",
        ),
        ({"专家": "张三"}, "专家", "neither an e-mail address nor an ID number"),
        ({"专家": "110105197506120019"}, "专家", "check digit"),
        ({"题名": ""}, "题名", "A value is required."),
        ({"题名": "长" * 513}, "题名", "at most 512 characters"),
        ({"期刊/会议": "刊" * 257}, "期刊/会议", "at most 256 characters"),
        ({"年份": "二〇二三"}, "年份", "is not a year from 1950 to 2100"),
        ({"年份": "1890"}, "年份", "is not a year from 1950 to 2100"),
        ({"语言": "法文"}, "语言", "Unknown language"),
        ({"作者": "A" * 129}, "作者", "at most 128 characters per item"),
    ],
)
def test_bad_row_is_named_and_nothing_is_written(
    app: Any, experts: list[Expert], overrides: dict[str, Any], column: str, fragment: str
) -> None:
    report = run("p.xlsx", xlsx_bytes([paper(1), paper(2, **overrides)], HEADERS))
    [(row, named, message)] = refused(report)
    assert (row, named) == (3, column)
    assert fragment in message, message
    assert f"Row 3, column “{column}”" in str(report.errors[0])


def test_duplicates_in_the_file_and_in_the_expert_file(
    app: Any, experts: list[Expert], admin: Any
) -> None:
    from expertpool.experts import operations as ops

    ops.add_part(
        db.session,
        admin,
        experts[0],
        "publication",
        {"title": "已有论文", "year": 2020, "language": "zh", "authors": "欧阳建国"},
    )
    db.session.commit()
    rows = [
        paper(1),
        paper(1, 题名="  土壤中铅同位素比值的测定 1 "),  # the same title, other spacing
        paper(2, 题名="已有论文", 年份="2020"),
        paper(3, 题名="已有论文", 年份="2021"),  # another year: another paper
        paper(4, 专家=make_id(seq="007"), 题名="土壤中铅同位素比值的测定 1"),  # another expert
    ]
    errors = refused(run("p.xlsx", xlsx_bytes(rows, HEADERS)))
    assert errors == [
        (3, "题名", "The same publication of this expert (title and year) is also in row 2."),
        (4, "题名", "欧阳建国 already has “已有论文” (2020) in their file."),
    ]


def test_an_author_list_without_the_expert_is_a_warning(app: Any, experts: list[Expert]) -> None:
    rows = [
        paper(1, 作者="陈立新;王强"),
        paper(2, 作者="Chen Lixin"),
        paper(3, 作者="欧阳 建国"),
        paper(4, 作者="OUYANG Jianguo; Chen Lixin"),  # the expert in pinyin
        paper(5, 作者=""),  # no list: nothing to compare
    ]
    report = run("p.xlsx", xlsx_bytes(rows, HEADERS))
    assert report.ok
    assert [(w.row, w.column) for w in report.warnings] == [(2, "作者"), (3, "作者")]
    assert "欧阳建国" in report.warnings[0].message


def test_missing_column_and_empty_file(app: Any) -> None:
    report = run("p.xlsx", xlsx_bytes([{"题名": "x"}], ["题名"]))
    assert [(e.row, e.column) for e in report.errors] == [(1, "专家")]
    report = run("p.csv", ",".join(HEADERS).encode())
    assert "holds no publications" in report.errors[0].message


def test_templates_round_trip(app: Any) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(importer.template_xlsx()))
    assert wb.sheetnames == ["论文", "说明"]
    assert [c.value for c in wb["论文"][1]] == HEADERS
    assert [v.formula1 for v in wb["论文"].data_validations.dataValidation] == ['"中文,英文"']
    assert run("t.xlsx", importer.template_xlsx()).errors[0].row == 0  # no rows, nothing else
    text = importer.template_csv().decode("utf-8-sig")
    assert text.strip() == ",".join(HEADERS)


def test_imported_coauthor_of_a_contact_makes_the_expert_conflicted(
    app: Any, experts: list[Expert], make_submission_for_import: Any
) -> None:
    from expertpool.reviews.eligibility import exclusion_reasons, rules_from_config

    submission = make_submission_for_import(contact_people="Xiaoming Qiu")
    ouyang = experts[0]
    today = dt.date.today()
    rules = rules_from_config(app.config)
    before = {r.code for r in exclusion_reasons(db.session, ouyang, submission, rules, today)}
    assert "coauthor" not in before
    year = str(today.year - 1)
    report = run("p.xlsx", xlsx_bytes([paper(1, 年份=year)], HEADERS))
    importer.commit(db.session, None, report)
    db.session.commit()
    reasons = exclusion_reasons(db.session, ouyang, submission, rules, today)
    [coauthor] = [r for r in reasons if r.code == "coauthor"]
    assert "Xiao-Ming Qiu" in str(coauthor.params)


@pytest.fixture
def make_submission_for_import(admin: Any) -> Any:
    from tests.conftest import submission_maker

    return submission_maker(
        admin,
        window_start=dt.date.today() + dt.timedelta(days=10),
        window_end=dt.date.today() + dt.timedelta(days=60),
    )


# --- pages, roles, command line ----------------------------------------------------------------


def _upload(client: Any, data: bytes, name: str = "p.xlsx") -> Any:
    return client.post(
        "/experts/publications/import",
        data={"file": (io.BytesIO(data), name), "encoding": "utf-8"},
        content_type="multipart/form-data",
    )


def test_preview_then_confirm(client: Any, auth: Any, experts: list[Expert]) -> None:
    auth.login()
    client.post("/language", data={"locale": "en"})
    home = client.get("/").get_data(as_text=True)
    assert 'href="/experts/publications/import"' in home  # reachable from the menu
    page = client.get("/experts/publications/import").get_data(as_text=True)
    assert "/experts/publications/import/template.xlsx" in page
    assert client.get("/experts/publications/import/template.csv").status_code == 200
    bad = _upload(client, xlsx_bytes([paper(1, 年份="abc")], HEADERS)).get_data(as_text=True)
    assert "<td>2</td><td>年份</td>" in bad and 'name="token"' not in bad
    page = _upload(client, papers(2)).get_data(as_text=True)
    assert count() == 0  # a preview writes nothing
    assert "<td>欧阳建国; 陈立新; Xiao-Ming Qiu</td>" in page
    token = re.search(r'name="token" type="hidden" value="(\w+)"', page).group(1)
    response = client.post("/experts/publications/import/commit", data={"token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/experts/")
    assert count() == 2


@pytest.mark.parametrize("role", ["expert", "trainee"])
def test_only_administrators_import(
    client: Any, auth: Any, make_user: Any, role: str, experts: list[Expert]
) -> None:
    from expertpool.core.access import Role

    make_user(Role(role), username="someone")
    auth.login("someone")
    assert client.get("/experts/publications/import").status_code == 403
    assert _upload(client, papers(1)).status_code == 403
    assert count() == 0


def test_cli(app: Any, runner: Any, admin: Any, experts: list[Expert], tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    path.write_bytes(papers(3))
    args = ["experts", "import-publications", str(path), "--as-user", "admin"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0 and "3 publication(s) would be imported" in dry.output
    assert count() == 0
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert count() == 3
    again = runner.invoke(args=args)  # every row is now a duplicate
    assert again.exit_code != 0 and "already has" in again.output
    assert count() == 3
