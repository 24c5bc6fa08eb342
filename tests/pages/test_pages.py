import pytest
from django.urls import reverse

from irlearn.pages.models import Page


@pytest.mark.django_db
def test_home_page_says_what_irlearn_is_and_leads_to_library_and_elearning(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "interventional radiology" in body.lower()
    assert reverse("procedures:index") in body
    assert reverse("courses:catalogue") in body


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/about/", "/privacy/"])
def test_about_and_privacy_pages_exist_from_the_first_migrate(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "<h1>" in response.content.decode()


@pytest.mark.django_db
def test_editor_changes_to_a_page_show_on_the_site_and_html_is_sanitised(client):
    page = Page.objects.get(slug="about")
    page.body = "## New heading\n\nHello <script>alert(1)</script><b onclick='x()'>bold</b>"
    page.save()
    body = client.get("/about/").content.decode()
    assert "New heading" in body
    assert "<script>alert" not in body
    assert "onclick" not in body
    assert "<b>bold</b>" in body


@pytest.mark.django_db
def test_the_about_page_has_one_address_and_the_old_one_redirects_there_for_good(client):
    response = client.get("/pages/about/")

    assert response.status_code == 301
    assert response["Location"] == "/about/"
    assert Page.objects.get(slug="about").get_absolute_url() == "/about/"
    sitemap = client.get("/sitemap.xml").content.decode()
    assert "<loc>http://testserver/about/</loc>" in sitemap
    assert "/pages/about/" not in sitemap


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["about", "accessibility"])
def test_site_pages_come_from_the_page_cache_for_visitors(client, slug):
    page, _created = Page.objects.get_or_create(
        slug=slug, defaults={"title": "Accessibility", "body": "We test with a screen reader."}
    )

    first = client.get(page.get_absolute_url())
    second = client.get(page.get_absolute_url())

    assert first.status_code == second.status_code == 200
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content


@pytest.mark.django_db
def test_every_page_has_skip_link_main_navigation_search_and_footer_links(client):
    body = client.get("/").content.decode()
    assert 'href="#main"' in body
    assert 'id="main"' in body
    for label in [
        "Procedures",
        "E-learning",
        "My learning",
        'role="search"',
        "Privacy policy",
        "About IRLearn",
    ]:
        assert label in body


@pytest.mark.django_db
def test_unknown_address_is_a_404_in_the_site_style(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["", "x" * 1000, '"quoted" OR 1=1; --', "nephrostomy & | ! <->", "🩻 ультразвук 超音波"],
)
def test_search_never_fails_on_odd_input(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200


@pytest.mark.django_db
def test_my_learning_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("courses:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
