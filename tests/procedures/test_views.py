import datetime
import json
import re
from html import unescape

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from tests.factories import (
    CategoryFactory,
    ContentEditorFactory,
    FigureFactory,
    ProcedureFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

INDEX_URL = reverse("procedures:index")
JSON_LD = re.compile(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', re.DOTALL)


def meta_description(response):
    found = re.search(r'<meta name="description" content="([^"]*)">', response.content.decode())
    return unescape(found.group(1))


# The library page.


def test_library_lists_published_procedures_grouped_by_category_with_counts(client):
    biliary = CategoryFactory(name="Hepatobiliary", order=2)
    renal = CategoryFactory(name="Genitourinary", order=1)
    ProcedureFactory(title="Percutaneous transhepatic cholangiography", category=biliary)
    ProcedureFactory(title="Biliary drainage", category=biliary)
    ProcedureFactory(title="Nephrostomy", category=renal)

    response = client.get(INDEX_URL)

    assert response.status_code == 200
    groups = [(c.name, [p.title for p in ps]) for c, ps in response.context["categories"]]
    assert groups == [
        ("Genitourinary", ["Nephrostomy"]),
        ("Hepatobiliary", ["Biliary drainage", "Percutaneous transhepatic cholangiography"]),
    ]
    assertContains(response, "3 procedures in 2 categories.")
    assertContains(response, '2<span class="visually-hidden"> procedures</span>', html=True)
    assertContains(response, '1<span class="visually-hidden"> procedure</span>', html=True)
    assertContains(response, f'href="{biliary.get_absolute_url()}"')


def test_library_leaves_out_drafts_and_categories_with_only_drafts(client):
    shown = CategoryFactory(name="Hepatobiliary")
    hidden = CategoryFactory(name="Interventional oncology")
    ProcedureFactory(title="Biliary drainage", category=shown)
    ProcedureFactory(title="Secret biliary draft", category=shown, draft=True)
    ProcedureFactory(title="Chemoembolisation", category=hidden, draft=True)

    response = client.get(INDEX_URL)

    assertContains(response, "Biliary drainage")
    assertNotContains(response, "Secret biliary draft")
    assertNotContains(response, "Chemoembolisation")
    assertNotContains(response, "Interventional oncology")
    assertContains(response, "1 procedure in 1 category.")


def test_library_filtered_by_guidance_shows_only_the_procedures_it_guides(client):
    ProcedureFactory(title="Ultrasound-guided biopsy", guidance=["ultrasound"])
    ProcedureFactory(title="Nephrostomy", guidance=["ultrasound", "fluoroscopy"])
    ProcedureFactory(title="CT-guided biopsy", guidance=["ct"])

    response = client.get(INDEX_URL, {"guidance": "ultrasound"})

    assert response.status_code == 200
    assertContains(response, "Ultrasound-guided biopsy")
    assertContains(response, "Nephrostomy")
    assertNotContains(response, "CT-guided biopsy")
    assertContains(response, "2 procedures guided by Ultrasound in 2 categories.")
    assertContains(response, '<option value="ultrasound" selected>Ultrasound</option>', html=True)
    assertNotContains(response, "We do not know that kind of imaging guidance")


def test_library_filtered_by_guidance_that_guides_nothing_says_so(client):
    ProcedureFactory(title="CT-guided biopsy", guidance=["ct"])

    response = client.get(INDEX_URL, {"guidance": "mri"})

    assert response.status_code == 200
    assertNotContains(response, "CT-guided biopsy")
    assertContains(response, "No procedures match.")


@pytest.mark.parametrize(
    "guidance",
    ["x-ray", "ULTRASOUND", "' OR 1=1 --", "<script>alert(1)</script>", "🩻" * 500],
)
def test_library_with_unknown_guidance_shows_every_procedure_with_a_warning(client, guidance):
    ProcedureFactory(title="Ultrasound-guided biopsy", guidance=["ultrasound"])
    ProcedureFactory(title="CT-guided biopsy", guidance=["ct"])

    response = client.get(INDEX_URL, {"guidance": guidance})

    assert response.status_code == 200
    assertContains(response, "We do not know that kind of imaging guidance")
    assertContains(response, "Ultrasound-guided biopsy")
    assertContains(response, "CT-guided biopsy")
    assertNotContains(response, "<script>alert(1)</script>")


def test_library_with_nothing_published_says_so(client):
    ProcedureFactory(draft=True)

    response = client.get(INDEX_URL)

    assert response.status_code == 200
    assertContains(response, "0 procedures in 0 categories.")
    assertContains(response, "No procedures match.")


# Category pages.


def test_category_page_lists_its_published_procedures_only(client):
    category = CategoryFactory(name="Genitourinary", description="Kidneys, ureters and bladder.")
    ProcedureFactory(title="Nephrostomy", category=category, abbreviation="PCN")
    ProcedureFactory(title="Antegrade ureteric stent", category=category)
    ProcedureFactory(title="Ureteric stent draft", category=category, draft=True)
    ProcedureFactory(title="Biliary drainage")

    response = client.get(category.get_absolute_url())

    assert response.status_code == 200
    assert [p.title for p in response.context["procedures"]] == [
        "Antegrade ureteric stent",
        "Nephrostomy",
    ]
    assertContains(response, "<h1>Genitourinary</h1>", html=True)
    assertContains(response, "Kidneys, ureters and bladder.")
    assertNotContains(response, "Ureteric stent draft")
    assertNotContains(response, "Biliary drainage")
    assert meta_description(response) == "Kidneys, ureters and bladder."


def test_category_page_has_a_breadcrumb_back_to_the_library(client):
    category = CategoryFactory(name="Genitourinary")

    response = client.get(category.get_absolute_url())

    assertContains(
        response,
        f'<li class="breadcrumb-item"><a href="{INDEX_URL}">Procedure library</a></li>',
        html=True,
    )
    assertContains(
        response,
        '<li class="breadcrumb-item active" aria-current="page">Genitourinary</li>',
        html=True,
    )


def test_category_without_published_procedures_says_so(client):
    category = CategoryFactory()
    ProcedureFactory(category=category, draft=True)

    response = client.get(category.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "No procedures in this category have been published yet.")


@pytest.mark.parametrize("slug", ["no-such-category", "genitourinary-2"])
def test_unknown_category_is_404(client, slug):
    CategoryFactory(name="Genitourinary")

    response = client.get(reverse("procedures:category-detail", kwargs={"slug": slug}))

    assert response.status_code == 404


# Procedure pages.


def test_procedure_page_shows_title_summary_facts_and_every_section(client):
    procedure = ProcedureFactory(
        title="Radiologically inserted gastrostomy",
        abbreviation="RIG",
        also_known_as="Percutaneous gastrostomy, G-tube",
        summary="A feeding tube placed through the skin into the stomach.",
        technique="1. Inflate the stomach\n2. Fix it to the abdominal wall with **T-fasteners**",
        guidance=["fluoroscopy", "ultrasound"],
        last_reviewed=datetime.date(2026, 4, 9),
    )

    response = client.get(procedure.get_absolute_url())

    assert response.status_code == 200
    assertContains(
        response,
        '<h1 id="procedure-title">Radiologically inserted gastrostomy <span class="abbr-tag">'
        '<span class="visually-hidden">(</span>RIG<span class="visually-hidden">)</span>'
        "</span></h1>",
        html=True,
    )
    assertContains(response, "Also known as Percutaneous gastrostomy, G-tube.")
    assertContains(response, "<title>Radiologically inserted gastrostomy (RIG) – IRLearn</title>")
    assertContains(response, "<dd>Ultrasound, Fluoroscopy</dd>", html=True)
    assertContains(response, "Usually a day case")
    assertContains(response, "<strong>T-fasteners</strong>", html=True)
    for name, heading in procedure.SECTIONS:
        assertContains(response, f'<h2 id="{name.replace("_", "-")}">{heading}</h2>', html=True)
    assertContains(response, '<h2 id="references">References and further reading</h2>', html=True)


def test_procedure_page_shows_when_it_was_last_reviewed(client):
    procedure = ProcedureFactory(last_reviewed=datetime.date(2026, 4, 9))

    response = client.get(procedure.get_absolute_url())

    assertContains(
        response,
        '<dt>Last reviewed</dt><dd><time datetime="2026-04-09">9 April 2026</time></dd>',
        html=True,
    )


def test_procedure_page_without_a_review_date_leaves_it_out(client):
    procedure = ProcedureFactory(last_reviewed=None)

    response = client.get(procedure.get_absolute_url())

    assertNotContains(response, "Last reviewed")
    assert "lastReviewed" not in json.loads(JSON_LD.search(response.content.decode()).group(1))


def test_table_of_contents_links_to_each_filled_section_in_page_order(client):
    procedure = ProcedureFactory(contraindications="", setting_notes="", references="")

    response = client.get(procedure.get_absolute_url())

    toc = re.search(r'<nav class="toc.*?</nav>', response.content.decode(), re.DOTALL).group()
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', toc)
    assert links == [
        ("what-it-is", "What it is"),
        ("indications", "Why it is done"),
        ("technique", "How it is done"),
        ("imaging-guidance", "Imaging guidance"),
        ("anaesthesia", "Anaesthesia and sedation"),
        ("aftercare", "Aftercare"),
        ("risks", "Risks and complications"),
        ("alternatives", "Alternatives"),
        ("referral", "Who refers, and how"),
    ]
    for anchor, _heading in links:
        assertContains(response, f'id="{anchor}"', count=1)
    assertNotContains(response, "When it is not done")
    assertNotContains(response, "References")


def test_procedure_page_has_breadcrumbs_through_its_category(client):
    category = CategoryFactory(name="Hepatobiliary")
    procedure = ProcedureFactory(
        title="Percutaneous transhepatic cholangiography", abbreviation="PTC", category=category
    )

    response = client.get(procedure.get_absolute_url())

    breadcrumb = re.search(
        r'<nav aria-label="Breadcrumb">.*?</nav>', response.content.decode(), re.DOTALL
    ).group()
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', breadcrumb) == [
        (INDEX_URL, "Procedure library"),
        (category.get_absolute_url(), "Hepatobiliary"),
    ]
    assertContains(
        response, '<li class="breadcrumb-item active" aria-current="page">PTC</li>', html=True
    )


def test_procedure_page_shows_its_figures_with_alt_text_caption_and_credit(client):
    procedure = ProcedureFactory()
    first = FigureFactory(procedure=procedure, alt_text="A tube in the renal pelvis", order=1)
    second = FigureFactory(
        procedure=procedure,
        alt_text="The wire coiled in the stomach",
        caption="",
        credit="",
        order=2,
    )

    response = client.get(procedure.get_absolute_url())

    content = response.content.decode()
    assertContains(response, f'src="{first.image.url}" alt="A tube in the renal pelvis"')
    assertContains(response, f'src="{second.image.url}" alt="The wire coiled in the stomach"')
    assert content.index("A tube in the renal pelvis") < content.index("The wire coiled")
    assertContains(response, "Where the tube goes.", count=1)
    assertContains(response, "<figcaption", count=1)
    figure_alts = re.findall(r'<img class="figure-img[^>]*alt="([^"]*)"', content)
    assert figure_alts == ["A tube in the renal pelvis", "The wire coiled in the stomach"]


def test_related_procedures_show_on_both_pages(client):
    nephrostomy = ProcedureFactory(title="Nephrostomy", abbreviation="PCN")
    stent = ProcedureFactory(title="Antegrade ureteric stent", related=[nephrostomy])

    from_stent = client.get(stent.get_absolute_url())
    from_nephrostomy = client.get(nephrostomy.get_absolute_url())

    assert [p.title for p in from_stent.context["related"]] == ["Nephrostomy"]
    assert [p.title for p in from_nephrostomy.context["related"]] == ["Antegrade ureteric stent"]
    assertContains(from_stent, f'<a href="{nephrostomy.get_absolute_url()}">Nephrostomy</a>')
    assertContains(from_nephrostomy, f'<a href="{stent.get_absolute_url()}">')


def test_draft_related_procedures_are_not_shown_to_learners(learner_client):
    draft = ProcedureFactory(title="Unfinished embolisation page", draft=True)
    published = ProcedureFactory(title="Nephrostomy")
    procedure = ProcedureFactory(related=[draft, published])

    response = learner_client.get(procedure.get_absolute_url())

    assert [p.title for p in response.context["related"]] == ["Nephrostomy"]
    assertNotContains(response, "Unfinished embolisation page")
    assertNotContains(response, draft.get_absolute_url())


def test_procedure_with_only_draft_related_procedures_has_no_related_box(client):
    procedure = ProcedureFactory(related=[ProcedureFactory(draft=True)])

    response = client.get(procedure.get_absolute_url())

    assertNotContains(response, "Related procedures")


def test_meta_description_is_the_summary_cut_to_300_characters(client):
    procedure = ProcedureFactory(summary="Drains bile & relieves jaundice. " + "Word " * 100)

    response = client.get(procedure.get_absolute_url())

    description = meta_description(response)
    assert description.startswith("Drains bile & relieves jaundice. Word")
    assert len(description) == 300
    assert description.endswith("…")


def test_procedure_page_has_schema_org_medical_procedure_json_ld(client):
    procedure = ProcedureFactory(
        title="Percutaneous transhepatic cholangiography",
        abbreviation="PTC",
        also_known_as="Transhepatic cholangiogram",
        summary="Dye injected into the bile ducts through the liver.",
        last_reviewed=datetime.date(2026, 2, 1),
    )

    response = client.get(procedure.get_absolute_url())

    data = json.loads(JSON_LD.search(response.content.decode()).group(1))
    assert data == {
        "@context": "https://schema.org",
        "@type": "MedicalProcedure",
        "name": "Percutaneous transhepatic cholangiography",
        "alternateName": ["PTC", "Transhepatic cholangiogram"],
        "description": "Dye injected into the bile ducts through the liver.",
        "url": f"http://testserver{procedure.get_absolute_url()}",
        "procedureType": "https://schema.org/PercutaneousProcedure",
        "lastReviewed": "2026-02-01",
    }


def test_json_ld_escapes_a_closing_script_tag_in_editor_text(client):
    sneaky = 'Safe </script><script>alert("x")</script> & <!-- more'
    procedure = ProcedureFactory(title=sneaky, summary=sneaky, also_known_as=sneaky)

    response = client.get(procedure.get_absolute_url())

    content = response.content.decode()
    script = JSON_LD.search(content).group(1)
    assert "<" not in script and ">" not in script
    data = json.loads(script)
    assert data["name"] == data["description"] == sneaky
    assert data["alternateName"] == [sneaky]
    assert '<script>alert("x")' not in content
    for tag in re.findall(r"<script[^>]*>", content):
        assert 'type="application/ld+json"' in tag or 'src="/static/' in tag, tag


def test_unknown_procedure_slug_is_404(client):
    ProcedureFactory(slug="nephrostomy")

    response = client.get(reverse("procedures:procedure-detail", kwargs={"slug": "nefrostomy"}))

    assert response.status_code == 404


def test_procedure_address_that_is_not_a_slug_is_404(client):
    assert client.get("/procedures/n%C3%A9phrostomy/").status_code == 404
    # NUL is refused for every URL before any view (irlearn/middleware.py).
    assert client.get("/procedures/%00/").status_code == 400
    assert client.get(INDEX_URL, {"guidance": "\x00"}).status_code == 400


def test_draft_procedure_is_404_for_anonymous_visitors(client):
    procedure = ProcedureFactory(draft=True)

    assert client.get(procedure.get_absolute_url()).status_code == 404


def test_draft_procedure_is_404_for_learners(learner_client):
    procedure = ProcedureFactory(draft=True)

    assert learner_client.get(procedure.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("factory", [ContentEditorFactory, StaffFactory])
def test_staff_preview_a_draft_with_a_banner(client, factory):
    client.force_login(factory())
    procedure = ProcedureFactory(title="Unfinished embolisation page", draft=True)

    response = client.get(procedure.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "<strong>Draft preview.</strong>", html=True)
    assertContains(response, "Unfinished embolisation page")


def test_published_procedure_has_no_draft_banner_for_staff(client):
    client.force_login(ContentEditorFactory())
    procedure = ProcedureFactory()

    response = client.get(procedure.get_absolute_url())

    assertNotContains(response, "Draft preview")


def test_unpublished_procedure_disappears_from_every_learner_page(client):
    procedure = ProcedureFactory(title="Nephrostomy")
    procedure.status = procedure.Status.DRAFT
    procedure.save()

    assert client.get(procedure.get_absolute_url()).status_code == 404
    assertNotContains(client.get(INDEX_URL), "Nephrostomy")
    assertNotContains(client.get(procedure.category.get_absolute_url()), "Nephrostomy")


# Sitemap and robots.txt.


def test_sitemap_lists_published_procedures_and_categories_but_not_drafts(client):
    category = CategoryFactory(slug="genitourinary")
    published = ProcedureFactory(slug="nephrostomy", category=category)
    draft = ProcedureFactory(slug="secret-draft", draft=True)

    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    content = response.content.decode()
    assert f"<loc>http://testserver{published.get_absolute_url()}</loc>" in content
    assert f"<loc>http://testserver{category.get_absolute_url()}</loc>" in content
    assert draft.get_absolute_url() not in content


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode().splitlines()


@pytest.mark.django_db
def test_an_editors_headings_nest_under_the_section_heading_without_skipping_a_level(client):
    """A "##" typed inside a section sits under the section's <h2> as an <h3>, not an <h4>
    (axe's heading-order rule), and a deeper heading below it follows on."""
    procedure = ProcedureFactory(technique="## Before the puncture\n\nText.\n\n#### Check\n\nMore.")

    html = client.get(procedure.get_absolute_url()).content.decode()

    assert re.search(r"<h3[^>]*>Before the puncture</h3>", html)
    assert re.search(r"<h4[^>]*>Check</h4>", html)
