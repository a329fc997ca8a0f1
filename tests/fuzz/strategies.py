"""Hypothesis strategies for hostile input: path values, query strings, form fields, uploads.

Every URL converter the app uses must have a strategy in PATH_VALUES (tests/fuzz/test_routes.py
fails for a route whose converter has none), so a new route is fuzzed as soon as it exists.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
import zlib
from typing import Any

from hypothesis import strategies as st

# Numbers around the edges of every integer type a database or a driver has.
EDGE_NUMBERS = [
    "0",
    "1",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",  # 2**63 - 1: the largest key a database can hold
    "9223372036854775808",  # 2**63
    "18446744073709551616",  # 2**64
    "10000000000000000000",
    "9" * 60,
    "1e308",
    "-0",
    "0x10",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() says yes, int() says yes
    "²",  # superscript two: str.isdigit() says yes, int() says no
    "½",
    "NaN",
    "inf",
]
ODD_TEXT = [
    "",
    " ",
    "\u202e",  # right-to-left override
    "\ufeff",
    "𝒜𝒷𝒸",
    "標準物質",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../etc/passwd",
    "%00",
    "%",
    "{{7*7}}",
    "a" * 5000,
    "中" * 3000,
    "9999-12-31",
    "0000-00-00",
    "2024-02-30",
    "-99999-01-01",
]
# Control characters go everywhere, saved form text included: every export and PDF removes
# them (core/cells.py, issue 12 item 4), so a saved one must not break a later page.
CONTROL = ["\x00", "\x01", "\x0b", "\x1f", "\x7f", "\r\n", "\t"]

_SAVED_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029"
) | st.sampled_from(["\t", "\n", "\r"])
_ANY_CHARS = st.characters(blacklist_categories=("Cs",))


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGE_NUMBERS),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.integers(min_value=2**63 - 5, max_value=2**63 + 5).map(str),
    )


def text(saved: bool = False, max_size: int = 40) -> st.SearchStrategy[str]:
    """Junk text: odd unicode, edge numbers, long strings, control characters (long runs of
    them only where nothing is saved)."""
    chars = _SAVED_CHARS if saved else _ANY_CHARS
    pool = [st.text(chars, max_size=max_size), st.sampled_from(ODD_TEXT), numbers()]
    pool.append(st.sampled_from(CONTROL))
    if not saved:
        pool.append(
            st.builds(
                lambda s, n: s * n, st.sampled_from(CONTROL + ["x", "é"]), st.integers(1, 3000)
            )
        )
    return st.one_of(*pool)


def path_segment(known: list[Any]) -> st.SearchStrategy[str]:
    """A path segment: a value that exists (from the crawl), an edge number, or junk text."""
    pool = [numbers(), text(max_size=30).filter(lambda s: "/" not in s and s not in (".", ".."))]
    if known:
        pool.insert(0, st.sampled_from([str(v) for v in known]))
    return st.one_of(*pool)


# Every URL converter the app uses; `path` is the static folder's.
PATH_VALUES = {
    "IdConverter": "id",
    "IntegerConverter": "id",
    "UnicodeConverter": "text",
    "PathConverter": "path",
}

# Query names every list may read, on top of those its filter forms name (found by the crawl).
QUERY_NAMES = [
    "page",
    "per_page",
    "sort",
    "desc",
    "q",
    "status",
    "category",
    "province",
    "k",
    "round",
    "chapter",
    "next",
    "kind",
    "entity_id",
    "year",
    "course",
    "lang",
    "fmt",
]


# One request per value with every query name set to it, before the random examples: the
# values that broke lists before (a superscript digit passes str.isdigit(), 2**63 overflows the
# driver), so the default run (fixed seed, few examples) always tries them.
SWEEP = ["²", "9223372036854775808", "-1", "\x00", "中" * 300]


def query_value() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGE_NUMBERS), st.sampled_from(ODD_TEXT + CONTROL), text(max_size=60)
    )


def query_names(names: set[str]) -> list[str]:
    return sorted(set(QUERY_NAMES) | names)


def query(names: set[str]) -> st.SearchStrategy[dict[str, str]]:
    known = st.fixed_dictionaries({}, optional={n: query_value() for n in query_names(names)})
    extra = st.dictionaries(text(max_size=12), query_value(), max_size=2)
    return st.builds(lambda k, e: {**e, **k}, known, extra)


# --- uploads --------------------------------------------------------------------------------


@functools.cache
def _xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["姓名", "工作单位"])
    book.active.append(["张三", "中国计量科学研究院"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_truncated(cut: int) -> bytes:
    data = _xlsx()
    return data[: max(1, len(data) * cut // 100)]


def _zip_with(name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, content)
    return out.getvalue()


@functools.cache
def _nested_json(depth: int, opener: str) -> bytes:
    close = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return ('{"a":' * depth + "1" + close * depth).encode()
    return (opener * depth + close * depth).encode()


@functools.cache
def _pdf_with_stream(size: int) -> bytes:
    """A one-page PDF whose content stream inflates to `size` bytes (a few KiB compressed)."""
    raw = b"BT /F1 12 Tf 72 712 Td (x) Tj ET\n" * (size // 34 + 1)
    stream = zlib.compress(raw, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _csv(text_: str, encoding: str) -> bytes:
    return text_.encode(encoding, errors="replace")


_CSV_TEXT = "姓名,工作单位,邮箱\n张三,中国计量科学研究院,a@b.cn\n"

FILE_CONTENTS = st.one_of(
    st.binary(max_size=2048),
    st.builds(_xlsx_truncated, st.integers(1, 99)),
    st.sampled_from(
        [
            b"",
            b"PK\x03\x04",
            _zip_with("[Content_Types].xml", b"<not xml"),
            _zip_with("word/document.xml", b"<w:document/>"),
            b"%PDF-1.4\n",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ntrailer << /Root 1 0 R >>\n",
            b"\xff\xfe" + _CSV_TEXT.encode("utf-16-le"),
            b"\xef\xbb\xbf" + _CSV_TEXT.encode("utf-8"),
            _csv(_CSV_TEXT, "gb18030"),
            _csv(_CSV_TEXT, "big5"),
            _csv(_CSV_TEXT, "latin-1"),
            b"\xef\xbb\xbf\xef\xbb\xbf" + _CSV_TEXT.encode(),
            b"a,b\n" + b'"' * 1000,
            b"," * 20000 + b"\n",
            json.dumps({"submissions": [{}]}).encode(),
            json.dumps([None, 1, "x", [], {"title": ["x"] * 50}]).encode(),
            b'{"a": 1e99999}',
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
            b"<html><script>alert(1)</script></html>",
        ]
    ),
    st.builds(_nested_json, st.sampled_from([200, 1000, 5000, 100_000]), st.sampled_from("[{")),
    st.builds(_pdf_with_stream, st.sampled_from([1_000, 200_000, 3_000_000])),
)

FILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "data.xlsx",
            "data.csv",
            "data.json",
            "doc.pdf",
            "cover.png",
            "video.mp4",
            "notes.txt",
            "page.html",
            "course.zip",
            "a.XLSX",
            "no-extension",
            ".xlsx",
            "../../etc/passwd.csv",
            "名单.csv",
            "x" * 300 + ".pdf",
            "\u202etxt.exe",
        ]
    ),
    text(saved=True, max_size=30),
)


# Files that broke imports and uploads before, each under the name that sends it to its parser:
# every form with a file field gets each once, before the random examples.
UPLOAD_SWEEP = [
    ("nested.json", lambda: _nested_json(100_000, "[")),
    ("nested-objects.json", lambda: _nested_json(50_000, "{")),
    ("stream.pdf", lambda: _pdf_with_stream(14_000_000)),
    ("truncated.xlsx", lambda: _xlsx_truncated(60)),
    ("utf16.csv", lambda: b"\xff\xfe" + _CSV_TEXT.encode("utf-16-le")),
    ("superscript.csv", lambda: "类别,姓名\n²,张三\n".encode()),
]


def upload() -> st.SearchStrategy[tuple[io.BytesIO, str]]:
    """A file: random or crafted content, under a random name or one matching the content."""
    named = st.sampled_from(UPLOAD_SWEEP).map(lambda item: (io.BytesIO(item[1]()), item[0]))
    return named | st.builds(lambda data, name: (io.BytesIO(data), name), FILE_CONTENTS, FILE_NAMES)


# --- forms ----------------------------------------------------------------------------------


def field_value(field: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value for one scraped form field: its own default or options, or hostile input."""
    kind, default, options = field["kind"], field["value"], field["options"]
    if kind == "file":
        return upload()
    junk = text(saved=True, max_size=80)
    if kind in ("select", "radio", "checkbox") and options:
        one = st.sampled_from(options) | junk
        if field["multiple"] or kind == "checkbox":
            return st.lists(one, max_size=4)
        return one
    if kind == "hidden":
        return st.just(default) | junk
    return st.one_of(st.just(default), junk, numbers())


DROP = object()  # a field left out of the request


def form_data(form: dict[str, Any], token: str) -> st.SearchStrategy[dict[str, Any]]:
    """Data for one scraped form: each field kept as rendered, changed, or left out."""
    fields = [f for f in form["fields"] if f["name"] != "csrf_token"]
    values = st.fixed_dictionaries(
        {f["name"]: st.one_of(st.just(_rendered(f)), field_value(f), st.just(DROP)) for f in fields}
    )
    extra = st.dictionaries(text(saved=True, max_size=10), text(saved=True), max_size=2)
    return st.builds(
        lambda v, e: {**e, **{k: x for k, x in v.items() if x is not DROP}, "csrf_token": token},
        values,
        extra,
    )


def rendered(form: dict[str, Any], token: str, value: str | None = None) -> dict[str, Any]:
    """The form as the page renders it; with `value`, every field one types into set to it."""
    data: dict[str, Any] = {"csrf_token": token}
    for field in form["fields"]:
        if field["name"] == "csrf_token" or field["kind"] == "file":
            continue
        typed = field["kind"] not in ("checkbox", "radio")
        data[field["name"]] = value if value is not None and typed else _rendered(field)
    return data


def _rendered(field: dict[str, Any]) -> Any:
    if field["kind"] == "file":
        return DROP
    if field["kind"] in ("select", "radio") and field["options"] and not field["value"]:
        return field["options"][-1]
    return field["value"]
