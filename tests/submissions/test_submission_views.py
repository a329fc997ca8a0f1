"""Submission pages through the test client: list, filters, form, detail, attachments."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from expertpool.db import db
from expertpool.submissions.models import Attachment, Submission


def _titles(client: Any, query: str) -> set[str]:
    page = client.get(f"/submissions/?{query}").get_data(as_text=True)
    return set(re.findall(r'/submissions/\d+">([^<]+)</a>', page))


def test_list_filters(admin_client: Any, make_submission: Any) -> None:
    make_submission(
        title="土壤铅", applicant_institution="广东省计量科学研究院", applicant_province="广东"
    )
    make_submission(
        title="血清肌酐",
        category=9,
        matrix="血清",
        applicant_institution="中国计量科学研究院",
        applicant_province="北京",
    )
    make_submission(
        kind="technical_assistance",
        title="企业帮扶",
        rm_name=None,
        category=None,
        applicant_institution="某企业",
        applicant_province="江苏",
    )
    assert _titles(admin_client, "") == {"土壤铅", "血清肌酐", "企业帮扶"}
    assert _titles(admin_client, "category=9") == {"血清肌酐"}
    assert _titles(admin_client, "kind=technical_assistance") == {"企业帮扶"}
    assert _titles(admin_client, "province=广东") == {"土壤铅"}
    assert _titles(admin_client, "q=中国计量") == {"血清肌酐"}  # finds the applicant
    assert _titles(admin_client, "status=withdrawn") == set()
    assert _titles(admin_client, "category=zz&status=bogus") == {"土壤铅", "血清肌酐", "企业帮扶"}


def test_list_paginates(app: Any, admin_client: Any, make_submission: Any) -> None:
    app.config["PER_PAGE"] = 2
    for n in range(5):
        make_submission(title=f"S{n}")
    first = _titles(admin_client, "sort=title&desc=0")
    third = _titles(admin_client, "sort=title&desc=0&page=3")
    assert first == {"S0", "S1"} and third == {"S4"}


def test_create_through_the_form(admin_client: Any) -> None:
    form = {
        "kind": "rm_certification",
        "title": "大米粉中镉",
        "review_type": "reproduction",
        "grade": "",
        "rm_name": "大米粉镉",
        "gbw_number": "GBW 10045",
        "category": "",
        "analytes": "镉\n铅",
        "methods": "ICP-MS；石墨炉原子吸收",
        "applicant_institution": "中国计量科学研究院",
        "applicant_people": "张三，李四",
        "window_start": "2025-06-01",
        "window_end": "2025-07-01",
    }
    response = admin_client.post("/submissions/new", data=form)
    assert response.status_code == 302
    submission = db.session.scalar(select(Submission))
    assert (submission.grade, submission.category) == ("first", 10)
    assert submission.analytes == ["镉", "铅"] and submission.applicant_people == ["张三", "李四"]
    detail = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "大米粉中镉" in detail and "GBW 10045" in detail and "No panel yet." in detail


def test_form_refusal_keeps_the_input(admin_client: Any) -> None:
    form = {
        "kind": "rm_certification",
        "title": "缺编号",
        "review_type": "recertification",
        "grade": "first",
        "rm_name": "x",
        "category": "8",
        "applicant_institution": "中国计量科学研究院",
    }
    page = admin_client.post("/submissions/new", data=form)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Required for a reproduction or re-certification." in html and "缺编号" in html
    assert db.session.scalar(select(Submission)) is None


def test_edit_with_a_stale_version_is_refused(admin_client: Any, make_submission: Any) -> None:
    submission = make_submission()
    page = admin_client.get(f"/submissions/{submission.id}/edit").get_data(as_text=True)
    assert 'value="土壤中重金属成分分析标准物质"' in page and "铅\n镉" in page
    form = {
        "kind": "rm_certification",
        "title": "新标题",
        "review_type": "new",
        "grade": "first",
        "rm_name": "土壤",
        "category": "8",
        "applicant_institution": "广东省计量科学研究院",
        "version": str(submission.version),
    }
    assert admin_client.post(f"/submissions/{submission.id}/edit", data=form).status_code == 302
    stale = admin_client.post(f"/submissions/{submission.id}/edit", data={**form, "title": "旧"})
    assert stale.status_code == 400
    assert "changed by someone else" in stale.get_data(as_text=True)
    db.session.refresh(submission)
    assert submission.title == "新标题"


def test_attachment_upload_download_remove(
    app: Any, admin_client: Any, make_submission: Any
) -> None:
    submission = make_submission()
    url = f"/submissions/{submission.id}/attachments"
    data = {"file": (io.BytesIO("定值报告 ICP-MS".encode()), "report.txt")}
    assert admin_client.post(url, data=data, content_type="multipart/form-data").status_code == 302
    attachment = db.session.scalar(select(Attachment))
    assert attachment.text == "定值报告 ICP-MS"
    download = admin_client.get(f"{url}/{attachment.id}")
    assert download.status_code == 200 and download.data == "定值报告 ICP-MS".encode()
    download.close()  # send_file streams from an open file
    assert admin_client.get(f"/submissions/999/attachments/{attachment.id}").status_code == 404
    assert admin_client.post(f"{url}/{attachment.id}/delete").status_code == 302
    assert db.session.scalar(select(Attachment)) is None


def test_attachment_path_outside_the_folder_is_never_served_nor_deleted(
    app: Any, admin_client: Any, make_submission: Any
) -> None:
    """The upload names nothing on disk; a row whose stored path leads out (only a tampered
    database holds one) is 404 for download, and removing it leaves the outside file alone."""
    submission = make_submission()
    url = f"/submissions/{submission.id}/attachments"
    data = {"file": (io.BytesIO(b"report"), "../../../../etc/report.txt")}
    assert admin_client.post(url, data=data, content_type="multipart/form-data").status_code == 302
    attachment = db.session.scalar(select(Attachment))
    assert attachment.stored_path.startswith(f"submissions/{submission.id}/")
    assert attachment.filename == "report.txt"
    outside = Path(app.config["UPLOAD_FOLDER"]).parent / "outside.txt"
    outside.write_text("not an upload")
    attachment.stored_path = "../outside.txt"
    db.session.commit()
    assert admin_client.get(f"{url}/{attachment.id}").status_code == 404
    assert admin_client.post(f"{url}/{attachment.id}/delete").status_code == 302
    assert db.session.scalar(select(Attachment)) is None and outside.exists()


def test_withdraw_through_the_page(admin_client: Any, make_submission: Any) -> None:
    submission = make_submission()
    url = f"/submissions/{submission.id}/withdraw"
    admin_client.post(url, data={"reason": "", "version": submission.version})
    db.session.refresh(submission)
    assert submission.status == "registered"
    admin_client.post(url, data={"reason": "申请人撤回", "version": submission.version})
    db.session.refresh(submission)
    assert submission.status == "withdrawn"
    page = admin_client.get(f"/submissions/{submission.id}").get_data(as_text=True)
    assert "申请人撤回" in page and "/edit" not in page


def test_a_huge_content_stream_uploaded_as_an_attachment_is_kept_without_text(
    admin_client: Any, make_submission: Any
) -> None:
    """Issue 12 item 8: pypdf's LimitReachedError on a 14 MB content stream was a 500."""
    from tests.fuzz.strategies import _pdf_with_stream

    submission = make_submission()
    data = {"file": (io.BytesIO(_pdf_with_stream(14_000_000)), "dossier.pdf")}
    url = f"/submissions/{submission.id}/attachments"
    assert admin_client.post(url, data=data, content_type="multipart/form-data").status_code == 302
    attachment = db.session.scalar(select(Attachment))
    assert attachment.filename == "dossier.pdf" and not attachment.text
