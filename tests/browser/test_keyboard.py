"""The site shell with the keyboard alone, and at the narrowest width WCAG asks for (320px)."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory


def tab_to(page, locator):
    page.keyboard.press("Tab")
    expect(locator).to_be_focused()


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_main_content(page):
    page.goto("/")
    skip_link = page.get_by_role("link", name="Skip to main content")
    hidden_box = skip_link.bounding_box()

    tab_to(page, skip_link)
    shown_box = skip_link.bounding_box()
    assert hidden_box["width"] <= 1
    assert shown_box["width"] > 1 and shown_box["height"] > 1
    assert 0 <= shown_box["y"] < page.viewport_size["height"]

    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/#main$"))
    # The next stop is the page's own content, not the header again.
    tab_to(page, page.get_by_role("link", name="Browse the procedure library"))


def test_header_links_and_search_work_from_the_keyboard(page):
    page.goto("/")
    header = page.get_by_role("banner")
    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    tab_to(page, header.get_by_role("link", name="IRLearn"))
    for name in ["Procedures", "E-learning", "My learning"]:
        tab_to(page, header.get_by_role("link", name=name, exact=True))
    search_box = header.get_by_role("searchbox", name="Search procedures and e-learning")
    tab_to(page, search_box)

    page.keyboard.type("nephrostomy")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/search/\?q=nephrostomy$"))
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("“nephrostomy”")
    expect(search_box).to_have_value("nephrostomy")
    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    tab_to(page, header.get_by_role("link", name="IRLearn"))
    tab_to(page, header.get_by_role("link", name="Procedures"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Procedure library")).to_be_visible()
    expect(header.get_by_role("link", name="Procedures")).to_have_attribute("aria-current", "page")


def test_account_menu_opens_and_leads_to_the_profile_from_the_keyboard(page, log_in, axe):
    log_in(UserFactory(full_name="Priya Raman"))
    page.goto("/")
    header = page.get_by_role("banner")
    menu = header.locator("details.account-menu")
    account = header.get_by_text("Account")
    for _ in range(8):  # skip link, brand, three links, search box and button, Account
        page.keyboard.press("Tab")
    expect(account).to_be_focused()
    expect(header.get_by_role("link", name="Profile")).to_be_hidden()

    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    expect(menu).to_contain_text("Priya Raman")
    axe.check(again=True)  # the open menu is a state no navigation leads to
    tab_to(page, header.get_by_role("link", name="Profile"))
    tab_to(page, header.get_by_role("link", name="Email addresses"))
    tab_to(page, header.get_by_role("link", name="Change password"))
    tab_to(page, header.get_by_role("button", name="Log out"))
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(header.get_by_role("link", name="Profile")).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Your profile")).to_be_visible()


@pytest.mark.parametrize(
    "url", ["/", "/search/?q=percutaneous+transhepatic+cholangiography", "/accounts/signup/"]
)
def test_pages_fit_320_pixels_without_scrolling_sideways(page, url):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


@pytest.mark.parametrize("url", ["/accounts/profile/", "/accounts/email/"])
def test_learner_pages_and_open_account_menu_fit_320_pixels(page, log_in, axe, url):
    log_in(UserFactory(email="a.very.long.address.for.a.learner@nhs-trust.example.org"))
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    # On a phone the account menu is inside the header's Menu disclosure.
    page.get_by_role("banner").get_by_text("Menu").click()
    page.get_by_role("banner").get_by_text("Account").click()
    menu = page.get_by_role("banner").get_by_role("list").filter(has_text="Profile")
    expect(menu).to_be_visible()
    axe.check(again=True)
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


@pytest.mark.parametrize("width", [320, 390])
def test_phone_header_is_one_row_with_a_menu_that_opens_from_the_keyboard(page, axe, width):
    page.set_viewport_size({"width": width, "height": 700})
    page.goto("/")
    header = page.get_by_role("banner")
    brand = header.get_by_role("link", name="IRLearn")
    menu = header.get_by_text("Menu")
    expect(header.get_by_role("link", name="Procedures")).to_be_hidden()
    # One row: the brand and the Menu button side by side, the header no taller than that.
    assert abs(brand.bounding_box()["y"] - menu.bounding_box()["y"]) < 12
    assert header.bounding_box()["height"] < 80

    tab_to(page, page.get_by_role("link", name="Skip to main content"))
    tab_to(page, brand)
    tab_to(page, header.locator("summary", has_text="Menu"))
    page.keyboard.press("Enter")

    axe.check(again=True)  # the open menu is a state no navigation leads to
    for name in ["Procedures", "E-learning", "My learning"]:
        tab_to(page, header.get_by_role("link", name=name, exact=True))
    search_box = header.get_by_role("searchbox", name="Search procedures and e-learning")
    tab_to(page, search_box)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.keyboard.type("nephrostomy")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=nephrostomy$"))
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()


def test_wide_header_shows_the_whole_navigation_without_a_menu_button(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/")
    header = page.get_by_role("banner")

    expect(header.get_by_text("Menu")).to_be_hidden()
    for name in ["Procedures", "E-learning", "My learning", "Log in", "Sign up"]:
        expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(header.get_by_role("searchbox")).to_be_visible()
    assert header.bounding_box()["height"] < 80
