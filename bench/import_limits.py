"""What the upload limits cost an honest import, and what the hostile files cost (issue 12, item 5).

    .venv/bin/python bench/import_limits.py [--rows 3000] [--repeat 3]

An honest expert XLSX of `--rows` rows (every template column filled, as an export writes it) is
parsed by the experts importer (`importer.parse`, the preview's first step) `--repeat` times;
the pre-scan alone (`sheetlimits.check_xlsx`) is timed on the same bytes, so its share of the
parse is measured, not guessed. Then the hostile files of tests/core/test_sheet_limits.py are
parsed once each, and the peak of what Python allocated (tracemalloc) is printed with the
file's size and the answer. Prints one table; nothing is written.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from _model import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024


def honest_file(rows: int) -> bytes:
    """`rows` rows under the export's headers, every cell filled (Chinese text or a number)."""
    import openpyxl

    from expertpool.experts import exporter

    columns = exporter.headers(None)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(columns)
    for n in range(rows):
        sheet.append(
            [
                f"专家{n} 字段{i} 标准物质定值与均匀性检验" if i % 3 else n
                for i in range(len(columns))
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = fn()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from flask_babel import force_locale

    from expertpool import create_app
    from expertpool.core import sheetlimits
    from expertpool.experts import importer
    from tests.core import test_sheet_limits as hostile

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "bench"})
    with app.app_context(), force_locale("en"):
        data = honest_file(args.rows)
        limits = sheetlimits.current()
        parse = timed(lambda: importer.parse("pool.xlsx", data), args.repeat)
        scan = timed(lambda: sheetlimits.check_xlsx(data, limits), args.repeat)
        parse_peak, parsed = peak(lambda: importer.parse("pool.xlsx", data))
        print(f"machine: {machine()}")
        print(
            f"honest XLSX, {args.rows} rows x {len(parsed.columns)} columns, "
            f"{len(data) / MIB:.2f} MiB: parse {parse:.2f} s (median of {args.repeat}), "
            f"of which the limit scan {scan:.2f} s ({100 * scan / parse:.0f} %); "
            f"parse peak {parse_peak / MIB:.1f} MiB"
        )
        cases = {
            "A1:XFD300 declared, 300 rows in column A": hostile.xlsx(
                hostile._header_row()
                + "".join(
                    f'<row r="{r}">{hostile._cell(f"A{r}", "x")}</row>' for r in range(2, 301)
                ),
                dimension="A1:XFD300",
            ),
            "8 MiB inline string": hostile.xlsx(hostile._huge_inline_cell(8 * MIB)),
            "200 MiB inline string": hostile.xlsx(hostile._huge_inline_cell(200 * MIB)),
            "CSV line of 4 Mi commas": (
                ",".join(hostile.HEADER) + "\n" + "," * (4 * MIB) + "\n"
            ).encode(),
        }
        print("| hostile file | size | peak | answer |")
        print("|---|---|---|---|")
        for name, body in cases.items():
            filename = "bomb.csv" if name.startswith("CSV") else "bomb.xlsx"
            used, result = peak(lambda b=body, f=filename: importer.parse(f, b))
            answer = "; ".join(str(e) for e in result.errors)[:80] or f"{len(result.rows)} rows"
            print(f"| {name} | {len(body) / 1024:.0f} KiB | {used / MIB:.1f} MiB | {answer} |")


if __name__ == "__main__":
    main()
