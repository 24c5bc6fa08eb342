"""A visitor mistypes a search and an abbreviation: the page shows the results of the spelling the
content uses, and a way back to what was typed. axe-core checks every page (conftest.py)."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import LessonFactory, ModuleFactory, ProcedureFactory


@pytest.fixture
def content():
    ProcedureFactory(title="Percutaneous nephrostomy", summary="A tube into a blocked kidney.")
    ProcedureFactory(
        title="Radiologically inserted gastrostomy",
        abbreviation="RIG",
        summary="A feeding tube through the skin into the stomach.",
    )
    ProcedureFactory(title="Right heart catheterisation", summary="Pressures in the right heart.")
    module = ModuleFactory(
        title="Radiation safety", summary="Doses, your duties under IR(ME)R 2017, and shielding."
    )
    LessonFactory(module=module, title="IR(ME)R 2017: who does what")


def test_visitor_mistypes_an_abbreviation_and_goes_back_to_what_they_typed(page, content):
    page.goto("/")
    search_box = page.get_by_role("search").get_by_role("searchbox")
    search_box.fill("IRMER")
    search_box.press("Enter")

    expect(page.get_by_text("Showing results for IR(ME)R.")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "1 result for “IR(ME)R”: 0 procedures, 0 courses and 1 module."
    )
    expect(page.get_by_role("link", name="Radiation safety")).to_be_visible()
    expect(page.locator("#search-page-q")).to_have_value("IR(ME)R")

    page.get_by_role("link", name="IRMER").click()

    expect(page).to_have_url(re.compile(r"/search/\?q=IRMER&as_typed=1$"))
    expect(page.get_by_role("status")).to_have_text(
        "0 results for “IRMER”: 0 procedures, 0 courses and 0 modules."
    )
    page.get_by_role("link", name="IR(ME)R").click()

    expect(page.get_by_role("status")).to_have_text(
        "1 result for “IR(ME)R”: 0 procedures, 0 courses and 1 module."
    )
    expect(page.get_by_text("Showing results for")).to_have_count(0)


def test_rig_finds_the_gastrostomy_alone(page, content):
    page.goto("/search/?q=RIG")

    results = page.get_by_role("region", name="Procedures")
    expect(results.get_by_role("heading", level=3)).to_have_count(1)
    expect(results.get_by_role("heading", level=3)).to_contain_text(
        "Radiologically inserted gastrostomy"
    )


def test_a_misspelt_search_fits_a_narrow_screen(page, content):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/search/?q=nefrostomy")

    expect(page.get_by_role("link", name="Percutaneous nephrostomy")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
