"""A learner finds a procedure by browsing the library and by searching; axe-core checks every
page on the way (conftest.py)."""

import re

import pytest
from playwright.sync_api import expect

from procedures.models import Procedure
from tests.factories import (
    CategoryFactory,
    ContentEditorFactory,
    FigureFactory,
    ProcedureFactory,
)

PTC = "Percutaneous transhepatic cholangiography"
FIGURE_ALT = "A needle entering the liver below the ribs, with contrast filling the bile ducts"


def long_text(topic):
    """A section as long as a real one: several paragraphs, a list and some emphasis."""
    paragraph = (
        f"{topic} is explained here in the detail a referring doctor needs: who it helps, what "
        "the patient feels, and what the team watches for afterwards. "
    ) * 4
    return (
        f"{paragraph}\n\n**Before you refer**\n\n- Check the clotting\n- Stop anticoagulants "
        f"as your local policy says\n- Explain the procedure\n\n{paragraph}\n\n"
        f"[Read the national guidance](https://www.bsir.org/) before the first case."
    )


@pytest.fixture
def library():
    """Two categories; PTC has long sections, a figure, related procedures and a hidden draft."""
    hepatobiliary = CategoryFactory(
        name="Hepatobiliary",
        order=1,
        description="Procedures on the liver, bile ducts and gallbladder.",
    )
    genitourinary = CategoryFactory(
        name="Genitourinary", order=2, description="Relieving blocked kidneys and ureters."
    )
    drainage = ProcedureFactory(
        title="Percutaneous biliary drainage",
        abbreviation="PTBD",
        category=hepatobiliary,
        summary="A tube through the liver drains bile blocked by a tumour or a stone.",
        guidance=["ultrasound", "fluoroscopy"],
    )
    nephrostomy = ProcedureFactory(
        title="Nephrostomy",
        category=genitourinary,
        summary="A tube through the back drains a blocked kidney.",
        guidance=["ultrasound", "fluoroscopy"],
    )
    draft = ProcedureFactory(
        title="Biliary stent (draft)", category=hepatobiliary, draft=True, guidance=["ct"]
    )
    ptc = ProcedureFactory(
        title=PTC,
        abbreviation="PTC",
        also_known_as="Transhepatic cholangiogram",
        category=hepatobiliary,
        summary="Contrast is injected into the bile ducts through the liver to show a blockage.",
        guidance=["ultrasound", "fluoroscopy"],
        related=[drainage, nephrostomy, draft],
        **{name: long_text(heading) for name, heading in Procedure.SECTIONS},
    )
    FigureFactory(procedure=ptc, alt_text=FIGURE_ALT, caption="The route of the needle.", order=1)
    FigureFactory(
        procedure=ptc, alt_text="A drain left in the bile duct after the procedure", order=2
    )
    return ptc


def test_learner_browses_the_library_to_a_procedure_and_its_sections(page, library):
    header = page.get_by_role("banner")
    page.goto("/")
    header.get_by_role("link", name="Procedures").click()

    expect(page.get_by_role("heading", level=1, name="Procedure library")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("3 procedures in 2 categories.")
    expect(page.get_by_role("link", name="Biliary stent (draft)")).to_have_count(0)
    page.get_by_role("link", name="Hepatobiliary").click()

    expect(page.get_by_role("heading", level=1, name="Hepatobiliary")).to_be_visible()
    page.get_by_role("link", name=PTC).click()

    expect(page.get_by_role("heading", level=1, name=re.compile(PTC))).to_be_visible()
    breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
    expect(breadcrumb.get_by_role("link")).to_have_text(["Procedure library", "Hepatobiliary"])
    figure = page.get_by_role("img", name=FIGURE_ALT)
    expect(figure).to_be_visible()
    expect(figure).to_have_js_property("complete", True)
    assert figure.evaluate("image => image.naturalWidth") > 0, "the figure did not load"
    related = page.get_by_role("region", name="Related procedures")
    expect(related.get_by_role("link")).to_have_text(
        ["Nephrostomy", "Percutaneous biliary drainage"]
    )

    contents = page.get_by_role("navigation", name="On this page")
    contents.get_by_role("link", name="Risks and complications").click()

    expect(page).to_have_url(re.compile(r"#risks$"))
    expect(page.get_by_role("heading", level=2, name="Risks and complications")).to_be_in_viewport()

    related.get_by_role("link", name="Nephrostomy").click()

    expect(page.get_by_role("heading", level=1, name="Nephrostomy")).to_be_visible()
    expect(page.get_by_role("region", name="Related procedures")).to_contain_text(PTC)


def test_learner_filters_the_library_by_imaging_guidance(page, library):
    page.goto("/procedures/")
    page.get_by_label("Imaging guidance").select_option(label="Ultrasound")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"\?guidance=ultrasound$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "3 procedures guided by Ultrasound in 2 categories."
    )
    page.get_by_label("Imaging guidance").select_option(label="CT")
    page.get_by_role("button", name="Filter").click()

    expect(page.get_by_text("No procedures match.")).to_be_visible()
    page.get_by_role("link", name="Show the whole library").click()

    expect(page.get_by_role("link", name=PTC)).to_be_visible()


def test_unknown_imaging_guidance_shows_the_whole_library_with_a_warning(page, library):
    page.goto("/procedures/?guidance=x-ray")

    expect(page.get_by_text("We do not know that kind of imaging guidance")).to_be_visible()
    expect(page.get_by_role("link", name=PTC)).to_be_visible()


def test_learner_searches_an_abbreviation_from_the_header_and_opens_the_result(page, library):
    page.goto("/")
    search_box = page.get_by_role("search").get_by_role("searchbox")
    search_box.fill("PTC")
    search_box.press("Enter")

    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/search/\?q=PTC$"))
    results = page.get_by_role("region", name="Procedures")
    expect(results.get_by_role("heading", level=3).first).to_contain_text(PTC)
    results.get_by_role("link", name=PTC).click()

    expect(page.get_by_role("heading", level=1, name=re.compile(PTC))).to_be_visible()
    expect(page.get_by_role("img", name=FIGURE_ALT)).to_be_visible()


def test_search_with_no_results_suggests_browsing(page, library):
    page.goto("/search/?q=craniotomy")

    expect(page.get_by_role("status")).to_have_text(
        "0 results for “craniotomy”: 0 procedures, 0 courses and 0 modules."
    )
    page.get_by_role("link", name="browse the library").click()

    expect(page.get_by_role("heading", level=1, name="Procedure library")).to_be_visible()


def test_content_editor_previews_a_draft_with_its_banner(page, log_in, library):
    log_in(ContentEditorFactory())
    page.goto("/procedures/biliary-stent-draft/")

    expect(page.get_by_text("Draft preview.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Biliary stent (draft)")).to_be_visible()
