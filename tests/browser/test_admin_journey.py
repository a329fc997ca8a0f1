"""An administrator's journey, by clicking only, each step starting from the home page: vet an
applicant → import experts → import publications → match a submission and assign its panel → propose and confirm a
review round → rate a review."""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

_numbers = itertools.count(1)


def _id_number(serial: int) -> str:
    from expertpool.core.idnumbers import check_digit

    first17 = f"11010819800101{serial:03d}"
    return first17 + check_digit(first17)


def import_file(folder: Path, locale: str) -> tuple[Path, list[str]]:
    """A CSV in the import template's columns with two new experts."""
    batch = next(_numbers)
    names = [f"导入专家{batch}{locale[:2]}甲", f"导入专家{batch}{locale[:2]}乙"]
    header = (
        "姓名,性别,出生日期,身份证号,手机,电子邮箱,工作单位,省份,职称,职称级别,审评类别,技术,状态"
    )
    rows = [
        [
            name,
            "男" if i == 0 else "女",
            "1980-01-01",
            _id_number(100 * batch + 10 * (locale == "en") + i),
            f"1390000{batch:02d}{i:02d}",
            f"import{batch}{locale[:2]}{i}@example.cn",
            "中国计量科学研究院",
            "北京市",
            "研究员",
            "正高级",
            "08",
            "ICP-MS",
            "active",
        ]
        for i, name in enumerate(names)
    ]
    buffer = io.StringIO()
    buffer.write(header + "\n")
    csv.writer(buffer).writerows(rows)
    path = folder / f"experts-{batch}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path, names


def home(journey: Any) -> None:
    """Back to the home page through the brand link of the navigation bar."""
    navigation = journey.page.get_by_role("navigation").first
    journey.click(navigation.get_by_role("link", name=journey.t("RM Expert Pool")).first)


def queue(journey: Any, message: str, **values: Any) -> Any:
    """The link of a work-queue entry on the administrator's home page."""
    card = journey.page.locator("#admin-queue .card", has_text=journey.t(message, **values))
    return card.get_by_role("link")


def vet_an_applicant(journey: Any) -> None:
    page = journey.page
    home(journey)
    journey.click(queue(journey, "Applications to vet").first)
    journey.click(page.get_by_role("main").locator("table a").first)
    name = page.get_by_role("heading", level=1).inner_text()
    start = journey.button("Start vetting")
    if start.count():
        journey.click(start)
    journey.click(journey.button("Approve"))
    assert journey.t("Active") in page.get_by_role("main").inner_text(), name


def import_experts(journey: Any) -> None:
    page = journey.page
    home(journey)
    journey.menu("Expert pool", "Import experts")
    path, names = import_file(journey.folder, journey.locale)
    page.locator("input[type=file]").set_input_files(str(path))
    journey.click(journey.button("Check the file"))
    journey.click_and_confirm(page.get_by_role("button", name=re.compile("2")).first)
    for name in names:
        assert _expert_count(journey, name) == 1


def import_publications(journey: Any) -> None:
    """Two papers of a pool expert, named by e-mail, with their author lists."""
    from expertpool.db import db
    from expertpool.experts.models import Expert, Publication

    page = journey.page
    with journey.server.app_context():
        email, name = db.session.execute(select(Expert.email, Expert.name).limit(1)).one()
    batch = next(_numbers)
    titles = [f"导入论文{batch}{journey.locale[:2]}{i}" for i in range(2)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["专家", "题名", "年份", "作者"])
    writer.writerows([email, title, "2024", f"{name};陈立新"] for title in titles)
    path = journey.folder / f"publications-{batch}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    home(journey)
    journey.menu("Expert pool", "Import publications")
    page.locator("input[type=file]").set_input_files(str(path))
    journey.click(journey.button("Check the file"))
    journey.click_and_confirm(page.get_by_role("button", name=re.compile("2")).first)
    with journey.server.app_context():
        stored = db.session.scalars(select(Publication).where(Publication.title.in_(titles)))
        assert sorted(p.authors for p in stored) == [[name, "陈立新"]] * 2


def _expert_count(journey: Any, name: str) -> int:
    from expertpool.db import db
    from expertpool.experts.models import Expert

    with journey.server.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Expert).where(Expert.name == name)
        )


def match_and_assign(journey: Any) -> str:
    page = journey.page
    home(journey)
    journey.click(queue(journey, "Submissions without a panel").first)
    journey.click(page.get_by_role("main").locator("table a").first)
    title = page.get_by_role("heading", level=1).inner_text()
    journey.click(journey.link("Find reviewers"))
    # The proposed panel comes ticked: the administrator reads it and invites it.
    assert page.locator("input[name=members]:checked").count() == 3
    # Below the first candidates, each row's best texts come in place, on demand.
    show = page.locator("a.js-texts").first
    slot = page.locator(".js-texts-slot").first
    show.click()
    expect(slot.locator("a.js-texts")).to_have_count(0)
    expect(slot).to_be_focused()
    assert slot.inner_text().strip(), "the quoted texts (or that none matches)"
    journey.seen("candidate-texts")
    journey.click_and_confirm(journey.button("Invite the ticked members"))
    assert page.locator("table", has_text=journey.t("Invited")).count()
    return title


def propose_and_confirm_round(journey: Any) -> None:
    page = journey.page
    home(journey)
    journey.menu("Reviews", "Review rounds")
    journey.click(journey.link("New round"))
    boxes = page.locator("input[name=submissions]")
    for i in range(min(2, boxes.count())):
        boxes.nth(i).check()
    journey.click(journey.button("Propose panels"))
    # The proposal is a background job: the round page shows its stages and reloads itself when
    # the job is done. Here the server runs jobs eagerly (JOBS_EAGER), within the request, so
    # the page opened after "Propose panels" already holds the proposal; with a worker the
    # button would appear after the reload, which this wait also covers.
    journey.button("Confirm and invite").wait_for(state="visible", timeout=60_000)
    said = journey.click_and_confirm(journey.button("Confirm and invite"))
    assert re.search(r"\d", said), said


def rate_a_review(journey: Any) -> None:
    page = journey.page
    home(journey)
    journey.click(queue(journey, "Submissions with reviews to rate").first)
    journey.click(page.get_by_role("main").locator("table tbody a").first)  # the submission
    submitted = page.get_by_role("main").locator("table a", has_text=journey.t("Submitted"))
    journey.click(submitted.first)
    page.get_by_label(journey.t("Review quality")).select_option("4")
    journey.click(journey.button("Record rating"))
    assert "★" in page.get_by_role("main").inner_text()


def test_administrator_keeps_the_pool_and_runs_reviews(journey: Any) -> None:
    journey.sign_in_as("admin")
    vet_an_applicant(journey)
    import_experts(journey)
    import_publications(journey)
    match_and_assign(journey)
    propose_and_confirm_round(journey)
    rate_a_review(journey)
    journey.assert_clean()


@pytest.mark.parametrize("step", [vet_an_applicant, import_experts, import_publications])
def test_administrator_in_english(journey: Any, step: Any) -> None:
    journey.goto("/login")
    journey.use_english()
    journey.sign_in_as("admin")
    step(journey)
    journey.assert_clean()
