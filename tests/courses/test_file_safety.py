"""Issue 12 item 12: uploaded course files never run in our origin (core.storage.send).

Before the fix an .html file on a text lesson was served `text/html` inline, and an .html, .js
or .svg material went out as text/html, text/javascript or image/svg+xml (downloads, but a
`<script src>` on our origin would have run the .js under `script-src 'self'`).
"""

from __future__ import annotations

import pytest

from courses import operations as ops
from courses.operations.authoring import Upload
from expertpool.db import db

HOSTILE_FILES = {
    "page.html": b"<html><script>alert(document.cookie)</script></html>",
    "page.htm": b"<script>alert(1)</script>",
    "app.js": b"alert(document.cookie)",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "page.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
    "data.xml": b"<?xml version='1.0'?><x/>",
    "style.css": b"body{}",
}


def _check_download(response) -> None:
    response.close()  # a file response holds its file open until closed
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_active_materials_are_downloads_of_a_neutral_type(
    app, client, login, admin, make_course, name
):
    course = make_course()
    lesson = course.lessons[0]
    upload = Upload(name, HOSTILE_FILES[name])
    material = ops.add_material(db.session, course, lesson, "", upload, app.config["UPLOAD_FOLDER"])
    db.session.commit()
    login(admin)
    _check_download(client.get(f"/courses/{course.slug}/materials/{material.id}"))


@pytest.mark.parametrize("name", ["page.html", "app.js", "drawing.svg"])
def test_a_lesson_file_is_never_shown_as_html_js_or_svg(
    app, client, login, admin, make_course, name
):
    course = make_course()
    lesson = course.lessons[0]
    ops.save_lesson(
        db.session,
        lesson.chapter,
        lesson,
        title=lesson.title,
        kind="text",
        minutes=10,
        markdown="正文",
        upload=Upload(name, HOSTILE_FILES[name]),
        upload_root=app.config["UPLOAD_FOLDER"],
    )
    db.session.commit()
    login(admin)
    _check_download(client.get(f"/courses/{course.slug}/lessons/{lesson.id}/file"))


@pytest.mark.parametrize(
    ("name", "data", "mimetype"),
    [
        ("slides.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
        ("photo.png", b"\x89PNG\r\n", "image/png"),
    ],
)
def test_pdf_and_images_stay_inline_with_their_type(
    app, client, login, admin, make_course, name, data, mimetype
):
    course = make_course()
    lesson = course.lessons[0]
    ops.save_lesson(
        db.session,
        lesson.chapter,
        lesson,
        title=lesson.title,
        kind="text",
        minutes=10,
        markdown="正文",
        upload=Upload(name, data),
        upload_root=app.config["UPLOAD_FOLDER"],
    )
    db.session.commit()
    login(admin)
    response = client.get(f"/courses/{course.slug}/lessons/{lesson.id}/file")
    response.close()
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
