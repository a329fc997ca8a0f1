"""The one file-storage rule (`core.storage`): generated names, nothing outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from expertpool.core import storage
from expertpool.core.storage import UnsafePath


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    (folder / "courses" / "1").mkdir(parents=True)
    (folder / "courses" / "1" / "ok.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "secret.txt").write_text("secret")
    return folder


@pytest.mark.parametrize(
    "relative",
    ["", ".", "..", "../secret.txt", "courses/../../secret.txt", "/etc/passwd", "a\x00b"],
)
def test_paths_outside_the_folder_are_refused(root: Path, relative: str) -> None:
    with pytest.raises(UnsafePath):
        storage.resolve(root, relative)


def test_an_absolute_path_to_a_file_inside_is_still_inside(root: Path) -> None:
    inside = root / "courses" / "1" / "ok.pdf"
    assert storage.resolve(root, str(inside)) == inside.resolve()


def test_a_symlink_that_leads_out_is_refused(root: Path) -> None:
    os.symlink(root.parent / "secret.txt", root / "courses" / "1" / "link.txt")
    os.symlink(root.parent, root / "courses" / "up")
    for relative in ("courses/1/link.txt", "courses/up/secret.txt"):
        with pytest.raises(UnsafePath):
            storage.resolve(root, relative)


def test_save_uses_a_generated_name_in_its_folder(root: Path) -> None:
    relative = storage.save(root, "submissions/7", "../../evil.PDF", b"data")
    folder, name = relative.rsplit("/", 1)
    assert folder == "submissions/7" and len(name) == 36 and name.endswith(".pdf")
    assert (root / relative).read_bytes() == b"data"
    kept = storage.save(root, "courses/1", "../讲义 v2.pdf", b"x", keep_name=True)
    assert kept.startswith("courses/1/") and kept.endswith("-v2.pdf") and ".." not in kept


@pytest.mark.parametrize(
    ("filename", "suffix"),
    [("a.PDF", ".pdf"), ("a.tar.gz", ".gz"), ("a", ""), ("a.p df", ""), ("a.", "")],
)
def test_safe_suffix(filename: str, suffix: str) -> None:
    assert storage.safe_suffix(filename) == suffix


def test_delete_leaves_outside_alone_and_ignores_missing(root: Path) -> None:
    assert storage.delete(root, "../secret.txt") is False
    assert (root.parent / "secret.txt").exists()
    assert storage.delete(root, "courses/1/gone.pdf") is False
    assert storage.delete(root, "courses") is False  # a folder is not a stored file
    assert storage.delete(root, "courses/1/ok.pdf") is True
    assert not (root / "courses" / "1" / "ok.pdf").exists()


@pytest.mark.parametrize(
    ("mime", "filename", "served"),
    [
        (None, "a.pdf", "application/pdf"),
        (None, "a.PNG", "image/png"),
        (None, "a.mp4", "video/mp4"),
        (None, "a.txt", "text/plain"),
        (None, "a.csv", "text/csv"),
        (None, "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (None, "a.html", "application/octet-stream"),
        (None, "a.js", "application/octet-stream"),
        (None, "a.mjs", "application/octet-stream"),
        (None, "a.svg", "application/octet-stream"),
        (None, "a.xhtml", "application/octet-stream"),
        (None, "a.xml", "application/octet-stream"),
        ("application/vnd.mozilla.xul+xml", "a", "application/octet-stream"),
        ("multipart/x-mixed-replace", "a", "application/octet-stream"),
        ("application/x-sh", "a.sh", "application/octet-stream"),
        (None, "a.unknown-ext", "application/octet-stream"),
        # a type the uploader declared is not believed when it could run
        ("text/html; charset=utf-8", "a.pdf", "application/octet-stream"),
        ("IMAGE/SVG+XML", "a.png", "application/octet-stream"),
        ("application/javascript", "a.txt", "application/octet-stream"),
        ("text/plain\r\nX-Evil: 1", "a.txt", "application/octet-stream"),
        ("application/pdf", "a.bin", "application/pdf"),
    ],
)
def test_served_type_never_lets_a_browser_run_a_stored_file(mime, filename, served) -> None:
    assert storage.served_type(mime, filename) == served
