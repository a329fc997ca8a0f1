"""Issue 12 item 5: import files are checked before they are expanded (core/sheetlimits.py).

The hostile files are built in memory. Memory is measured with tracemalloc around the parse
(the peak of what Python allocated), never with timings. Before the fix:
- a sheet declaring A1:XFD<n> was padded to 16,384 cells a row: 300 rows cost ~40 MB here
  (64 KiB of upload cost +1.5 GB on the probe's server);
- a single cell of 1 MiB, or a shared string of 200 MiB in a ~200 KiB file, was parsed whole;
- a CSV line of a million commas became a list of a million fields;
- cells past column 200, 60,000 rows, 2,000 parts and a DOCTYPE were all read.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from flask_babel import force_locale

from expertpool.core import sheetlimits, tabular
from expertpool.core.sheetlimits import SheetLimits
from expertpool.experts import importer

MIB = 1024 * 1024
HEADER = ["姓名", "身份证号", "电子邮箱", "工作单位", "审评类别"]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="专家" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> str:
    return (
        '<row r="1">'
        + "".join(_cell(f"{c}1", h) for c, h in zip("ABCDE", HEADER, strict=True))
        + "</row>"
    )


def xlsx(
    rows: str | Callable[[Any], None],
    *,
    dimension: str | None = None,
    shared: list[str] | Callable[[Any], None] | None = None,
    extra_members: int = 0,
    before_sheet: str = "",
) -> bytes:
    """A workbook by hand: the sheet's <sheetData> is `rows` (text, or a writer of chunks)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((before_sheet + SHEET_START).encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            if callable(rows):
                rows(sheet)
            else:
                sheet.write(rows.encode())
            sheet.write(b"</sheetData></worksheet>")
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(
                b'<?xml version="1.0" encoding="UTF-8"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            if callable(shared):
                shared(sst)
            else:
                for text in shared or []:
                    sst.write(f"<si><t>{text}</t></si>".encode())
            sst.write(b"</sst>")
        for n in range(extra_members):
            zf.writestr(f"docProps/custom{n}.xml", "<x/>")
    return out.getvalue()


def _parse(data: bytes, filename: str = "bomb.xlsx") -> tuple[Any, int]:
    """The experts importer's parse of `data`, and the peak bytes Python allocated for it."""
    tracemalloc.start()
    try:
        with force_locale("en"):
            parsed = importer.parse(filename, data)
            errors = [str(e) for e in parsed.errors]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (parsed, errors), peak


@pytest.fixture
def app_ctx(app):
    return app


def test_a_declared_dimension_pads_nothing(app_ctx):
    """300 real rows in column A under a declared A1:XFD300: read as they are, in little memory."""
    rows = _header_row() + "".join(
        f'<row r="{r}">{_cell(f"A{r}", f"专家{r}")}</row>' for r in range(2, 301)
    )
    data = xlsx(rows, dimension="A1:XFD300")
    (parsed, errors), peak = _parse(data)
    assert len(parsed.rows) == 299 and parsed.rows[0][1]["name"] == "专家2"
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"  # padded: 300 × 16,384 cells ≈ 40 MiB


def test_a_cell_past_the_last_column_is_refused(app_ctx):
    rows = _header_row() + f'<row r="2">{_cell("A2", "张三")}{_cell("XFD2", "x")}</row>'
    (parsed, errors), peak = _parse(xlsx(rows))
    assert errors == [
        "Row 2: A cell lies in column XFD, past the last column read (200 columns). "
        "Delete the columns after the table and save the file again."
    ]
    assert parsed.rows == []


def _huge_inline_cell(size: int) -> Callable[[Any], None]:
    def write(sheet: Any) -> None:
        sheet.write((_header_row() + '<row r="2"><c r="B2" t="inlineStr"><is><t>').encode())
        chunk = b"a" * MIB
        for _ in range(size // MIB):
            sheet.write(chunk)
        sheet.write(b"</t></is></c></row>")

    return write


def test_an_oversized_inline_cell_is_refused_before_it_is_read(app_ctx):
    data = xlsx(_huge_inline_cell(8 * MIB))
    assert len(data) < 64 * 1024  # 8 MiB of text compresses to a few KiB
    (parsed, errors), peak = _parse(data)
    assert errors == ["Row 2, column “B”: A cell holds more than 32767 characters."]
    assert peak < 3 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_an_oversized_shared_string_is_refused_before_it_is_read(app_ctx):
    def runs(sst: Any) -> None:  # one string of many rich-text runs, each under the limit
        sst.write(b"<si>")
        for _ in range(64):
            sst.write(b"<r><t>" + b"b" * 30_000 + b"</t></r>")
        sst.write(b"</si>")

    (parsed, errors), peak = _parse(xlsx(_header_row(), shared=runs))
    assert errors == ["A cell holds more than 32767 characters."]
    assert peak < 3 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_a_200_mib_string_is_refused_from_the_archive_directory(app_ctx):
    """The probe's file: one 200 MiB string in ~200 KiB; refused before any XML is parsed."""
    data = xlsx(_huge_inline_cell(200 * MIB))
    assert len(data) < 400 * 1024
    (parsed, errors), peak = _parse(data)
    assert errors == ["The workbook unpacks to more than 100 MB; split it into smaller files."]
    assert peak < 2 * MIB, f"peak {peak / MIB:.1f} MiB"


def test_too_many_rows_are_refused_with_the_row_number(app_ctx):
    app_ctx.config["IMPORT_MAX_ROWS"] = 1_000
    rows = _header_row() + "".join(f'<row r="{r}"><c r="A{r}"/></row>' for r in range(2, 1_200))
    (parsed, errors), _peak = _parse(xlsx(rows))
    assert errors == ["Row 1001: The sheet has more than 1000 rows."]


def test_too_many_parts_and_doctype_are_refused(app_ctx):
    (_parsed, errors), _peak = _parse(xlsx(_header_row(), extra_members=1_000))
    assert errors == ["The workbook holds more than 1000 parts; it is not an ordinary Excel file."]
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
    data = xlsx(_header_row(), before_sheet=laughs).replace(
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet', b"<worksheet", 1
    )
    (_parsed, errors), _peak = _parse(data)
    assert errors == ["The workbook holds a document type declaration; Excel never writes one."]


def test_an_ordinary_workbook_still_imports(app_ctx):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["张三", None, "zhang@example.cn", "中国计量科学研究院", "08"])
    out = io.BytesIO()
    book.save(out)
    (parsed, errors), _peak = _parse(out.getvalue())
    assert errors == [] and parsed.rows[0][1]["name"] == "张三"


# --- CSV --------------------------------------------------------------------------------------


def test_an_overlong_csv_line_is_refused_before_it_is_split(app_ctx):
    data = (",".join(HEADER) + "\n" + "," * (4 * MIB) + "\n").encode()
    (parsed, errors), peak = _parse(data, "bomb.csv")
    assert errors == ["Row 2: The line is longer than 1000000 characters."]
    # split, the line was a list of 4 million fields (32 MiB of pointers alone)
    assert peak < 4 * len(data), f"peak {peak / MIB:.1f} MiB"  # the text: 2 bytes a character


def test_csv_columns_cells_and_rows_are_limited(app_ctx):
    wide = (",".join(HEADER) + "\n" + "张三" + ",x" * 300 + "\n").encode()
    assert _parse(wide, "w.csv")[0][1] == [
        "Row 2: The row has more than 200 columns; at most 200 are read."
    ]
    long_cell = (",".join(HEADER) + "\n张三," + "x" * 40_000 + "\n").encode()
    assert _parse(long_cell, "c.csv")[0][1] == [
        "Row 2, column “B”: A cell holds more than 32767 characters."
    ]
    app_ctx.config["IMPORT_MAX_ROWS"] = 100
    many = (",".join(HEADER) + "\n" + "\n".join(f"专家{i}" for i in range(200))).encode()
    assert _parse(many, "r.csv")[0][1] == ["Row 101: The file has more than 100 rows."]


def test_limits_come_from_the_settings(app_ctx):
    app_ctx.config.update(IMPORT_MAX_COLUMNS=3, IMPORT_MAX_UNPACKED_MB=7)
    limits = sheetlimits.current()
    assert limits == SheetLimits(max_columns=3, max_unpacked_bytes=7 * MIB)
    rows = _header_row()
    assert "past the last column read (3 columns)" in _parse(xlsx(rows))[0][1][0]


def test_the_upload_page_shows_the_refusal(client, auth, admin):
    auth.login()
    page = client.post(
        "/experts/import",
        data={
            "file": (io.BytesIO(xlsx(_huge_inline_cell(2 * MIB))), "bomb.xlsx"),
            "encoding": "utf-8",
        },
        content_type="multipart/form-data",
    )
    assert page.status_code == 200
    assert "32767" in page.get_data(as_text=True)
    assert 'name="token"' not in page.get_data(as_text=True)  # nothing staged for import


def test_reader_level_rows_are_lazy():
    """read_xlsx returns rows one at a time (the importers stop at their own row limit)."""
    rows = _header_row() + "".join(
        f'<row r="{r}">{_cell(f"A{r}", "x")}</row>' for r in range(2, 50)
    )
    table = tabular.read_xlsx(xlsx(rows), "说明", "not xlsx", SheetLimits())
    assert next(table)[0] == 1 and next(table)[0] == 2
    table.close()
