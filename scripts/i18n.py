"""Translation catalogues: extract messages, update both catalogues, compile, check completeness.

    python scripts/i18n.py update    # extract + merge new strings into zh_CN and en
    python scripts/i18n.py compile   # .po -> .mo (run by make)
    python scripts/i18n.py check     # exit 1 listing untranslated strings

English is the source language: the en catalogue copies each msgid into msgstr so a missing
entry is as visible there as in zh_CN.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "expertpool" / "translations"
# Babel reads "zh_CN" as zh_Hans_CN and Flask-Babel looks for that folder name.
LOCALES = ("zh_Hans_CN", "en")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
}
METHODS = [
    ("expertpool/**.py", "python"),
    ("courses/**.py", "python"),
    ("expertpool/**/templates/**.html", "jinja2"),
    ("courses/**/templates/**.html", "jinja2"),
]


def extract() -> Catalog:
    """The messages the code uses now."""
    catalog = Catalog(project="expertpool", charset="utf-8")
    options = {"**.html": {"extensions": "jinja2.ext.do"}}
    for msg in extract_from_dir(
        str(ROOT), METHODS, options, KEYWORDS, ("NOTE",), directory_filter=_wanted_dir
    ):
        filename, lineno, message, comments, context = msg
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _wanted_dir(path: str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and name not in (
        "instance",
        "node_modules",
        "__pycache__",
        "demo_content",
        "static",
    )


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="expertpool", charset="utf-8")
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def update() -> None:
    template = extract()
    for locale in LOCALES:
        catalog = load(locale)
        catalog.update(template, no_fuzzy_matching=True)
        if locale == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        catalog.obsolete.clear()
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, omit_header=False)


def compile_all() -> None:
    for locale in LOCALES:
        catalog = load(locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo = po_path(locale).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != buffer.getvalue():
            mo.write_bytes(buffer.getvalue())


def missing() -> dict[str, list[str]]:
    """Per locale: messages in the code with no (or a fuzzy) translation."""
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in extract() if m.id}
    out: dict[str, list[str]] = {}
    for locale in LOCALES:
        catalog = load(locale)
        done = set()
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings):
                done.add(message.id if isinstance(message.id, str) else message.id[0])
        out[locale] = sorted(wanted - done)
    return out


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        gaps = missing()
        for locale, items in gaps.items():
            for item in items:
                print(f"{locale}: {item}")
        return 1 if any(gaps.values()) else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
