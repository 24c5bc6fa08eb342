"""What a page says about itself to search engines and to link previews: a canonical address
and OpenGraph tags, absolute and built from the request; and /favicon.ico."""

import re

import pytest
from django.contrib.staticfiles import finders
from pytest_django.asserts import assertContains, assertNotContains

from tests.factories import FigureFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


def meta(response, prop):
    found = re.search(rf'<meta property="{prop}" content="([^"]*)">', response.content.decode())
    return found and found.group(1)


def test_home_has_a_canonical_address_and_opengraph_tags(client, settings):
    settings.ALLOWED_HOSTS = ["irlearn.example"]
    response = client.get("/", HTTP_HOST="irlearn.example")

    assertContains(response, '<link rel="canonical" href="http://irlearn.example/">')
    assert meta(response, "og:url") == "http://irlearn.example/"
    assert meta(response, "og:site_name") == "IRLearn"
    assert meta(response, "og:type") == "website"
    assert meta(response, "og:title") == "IRLearn – learn interventional radiology"
    assert meta(response, "og:description").startswith("IRLearn explains interventional")
    assert meta(response, "og:image") is None


def test_canonical_address_leaves_out_the_query_string(client):
    response = client.get("/procedures/?guidance=ultrasound")

    assertContains(response, '<link rel="canonical" href="http://testserver/procedures/">')


def test_procedure_page_is_an_article_with_its_title_summary_and_first_figure(client):
    procedure = ProcedureFactory(
        title="Percutaneous nephrostomy", abbreviation="PCN", summary='A tube "into" the kidney.'
    )
    first = FigureFactory(procedure=procedure, order=1, alt_text="The tube in the kidney")
    FigureFactory(procedure=procedure, order=2)

    response = client.get(procedure.get_absolute_url())

    url = f"http://testserver{procedure.get_absolute_url()}"
    assertContains(response, f'<link rel="canonical" href="{url}">')
    assert meta(response, "og:type") == "article"
    assert meta(response, "og:url") == url
    assert meta(response, "og:title") == "Percutaneous nephrostomy (PCN) – IRLearn"
    assert meta(response, "og:description") == "A tube &quot;into&quot; the kidney."
    assert meta(response, "og:image") == f"http://testserver{first.image.url}"
    assert meta(response, "og:image:alt") == "The tube in the kidney"


def test_procedure_page_without_a_figure_has_no_og_image(client):
    procedure = ProcedureFactory()

    response = client.get(procedure.get_absolute_url())

    assertNotContains(response, 'property="og:image"')


def test_error_pages_name_no_canonical_address(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assertNotContains(response, 'rel="canonical"', status_code=404)


def test_favicon_ico_redirects_to_the_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.ico"
    assert finders.find("img/favicon.ico")
