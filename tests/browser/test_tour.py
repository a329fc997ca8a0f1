"""Every page of each role's menus, in Chinese and in English, photographed and checked by axe;
and the navigation bar on one line at 1280 px, collapsed behind its toggle on a phone."""

from __future__ import annotations

from typing import Any

import pytest


def menu_addresses(journey: Any) -> list[str]:
    """The addresses the navigation bar offers (menu items included), in their order."""
    links = journey.page.get_by_role("navigation").first.locator("a[href^='/']")
    seen: list[str] = []
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        if href not in seen:
            seen.append(href)
    return seen


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("role", ["trainee", "expert", "admin"])
def test_every_menu_page_passes_the_accessibility_rules(
    journey: Any, role: str, locale: str
) -> None:
    if locale == "en":
        journey.goto("/login")
        journey.use_english()
    journey.sign_in_as(role)
    addresses = menu_addresses(journey)
    assert len(addresses) >= 4, addresses
    for address in addresses:
        journey.goto(address)
    journey.assert_clean()


def sign_in_with_every_role(journey: Any) -> None:
    from expertpool.accounts import operations as accounts
    from expertpool.core.access import Role
    from expertpool.db import db
    from expertpool.experts.models import Expert

    with journey.server.app_context():
        from sqlalchemy import select

        from expertpool.accounts.models import User

        if not db.session.scalar(select(User.id).where(User.username == "allroles")):
            user = accounts.create_user(
                db.session,
                username="allroles",
                name="Zhang Wei 张伟",
                email="allroles@example.cn",
                password="All-Roles-2026!",
                roles=[Role.ADMIN, Role.EXPERT, Role.TRAINEE],
            )
            expert = db.session.scalars(select(Expert).where(Expert.user_id.is_(None))).first()
            expert.user_id = user.id
            db.session.commit()
    journey.sign_in("allroles", "All-Roles-2026!")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_navigation_bar_fits_at_1280_and_collapses_on_a_phone(
    journey: Any, locale: str
) -> None:
    page = journey.page
    if locale == "en":
        journey.goto("/login")
        journey.use_english()
    sign_in_with_every_role(journey)  # the most menus anyone has
    bar = page.get_by_role("navigation").first
    items = bar.locator(".navbar-nav > li:visible, form:visible, .navbar-brand")
    tops = {round(items.nth(i).bounding_box()["y"]) for i in range(items.count())}
    assert items.count() >= 8  # brand, five menus, inbox, search, language, account
    box = bar.bounding_box()
    assert box["height"] < 70 and max(tops) - min(tops) < 20, (box, tops)
    # and nothing squeezed to fit: the language selector still shows "English" / "中文" whole
    assert bar.get_by_label(journey.t("Language")).bounding_box()["width"] >= 100
    journey.photo("navbar-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    toggle = bar.get_by_role("button", name=journey.t("Menu"))
    assert (
        toggle.is_visible()
        and not bar.get_by_role("link", name=journey.t("Catalogue")).first.is_visible()
    )
    toggle.click()
    page.locator("#nav.show").wait_for()
    journey.photo("navbar-phone-open")
    assert bar.get_by_role("button", name=journey.t("Learning"), exact=True).is_visible()
    journey.assert_clean()
