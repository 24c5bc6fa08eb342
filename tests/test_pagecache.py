"""Whole pages for anonymous visitors come from the cache until content changes."""

import pytest
from django.test import Client
from django.urls import path
from pytest_django.asserts import assertContains, assertNotContains

from procedures.models import Procedure
from tests.factories import ContentEditorFactory, CourseFactory, ProcedureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def procedure():
    return ProcedureFactory(title="Nephrostomy", status="published")


def test_an_anonymous_page_is_rendered_once_then_served_from_the_cache(
    client, procedure, django_assert_num_queries
):
    first = client.get(procedure.get_absolute_url())
    with django_assert_num_queries(0):
        second = client.get(procedure.get_absolute_url())

    assert first.status_code == second.status_code == 200
    assert "X-Page-Cache" not in first
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content


def test_publishing_a_change_in_the_admin_shows_at_the_next_request(client, procedure):
    client.get(procedure.get_absolute_url())
    editor = Client()
    editor.force_login(ContentEditorFactory())

    procedure.summary = "A tube that drains urine straight from the kidney."
    procedure.save()

    response = client.get(procedure.get_absolute_url())
    assert "X-Page-Cache" not in response
    assertContains(response, "A tube that drains urine straight from the kidney.")


def test_unpublishing_through_the_admin_action_takes_the_page_down_at_once(client, procedure):
    assert client.get("/procedures/").status_code == 200
    editor = Client()
    editor.force_login(ContentEditorFactory())

    editor.post(
        "/admin/procedures/procedure/",
        {"action": "unpublish", "_selected_action": [procedure.pk]},
    )

    assert Procedure.objects.get(pk=procedure.pk).status == "draft"
    assertNotContains(client.get("/procedures/"), "Nephrostomy")
    assert client.get(procedure.get_absolute_url()).status_code == 404


def test_a_new_course_appears_in_the_cached_catalogue_at_once(client):
    client.get("/learn/")
    CourseFactory(title="Radiation safety refresher")

    assertContains(client.get("/learn/"), "Radiation safety refresher")


def test_logged_in_pages_are_never_cached(learner_client, procedure):
    learner_client.get(procedure.get_absolute_url())
    response = learner_client.get(procedure.get_absolute_url())

    assert "X-Page-Cache" not in response
    assertContains(response, "Account")


def test_a_page_cached_for_visitors_is_not_served_to_a_learner(client, learner, procedure):
    client.get(procedure.get_absolute_url())
    client.get(procedure.get_absolute_url())
    client.force_login(learner)

    response = client.get(procedure.get_absolute_url())

    assert "X-Page-Cache" not in response


def test_pages_with_a_csrf_token_are_not_cached(client):
    client.get("/accounts/login/")
    response = client.get("/accounts/login/")

    assert "X-Page-Cache" not in response


def test_a_page_showing_a_message_is_not_cached(client, learner, procedure):
    client.force_login(learner)
    client.post("/accounts/logout/")  # "You have logged out." waits in a cookie
    with_message = client.get("/")
    without = client.get("/")

    assertContains(with_message, "You have logged out.")
    assert "X-Page-Cache" not in with_message
    assert "X-Page-Cache" not in without  # the first page without the message
    # A browser forgets the cookies the site deleted; the test client keeps them, empty.
    for name in [name for name, cookie in client.cookies.items() if not cookie.value]:
        del client.cookies[name]
    client.get("/")
    assert client.get("/")["X-Page-Cache"] == "hit"


def test_the_footer_sign_up_works_from_a_cached_page_with_csrf_checks_on(
    procedure, mailoutbox, django_capture_on_commit_callbacks
):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    page = browser.get("/")
    assert page["X-Page-Cache"] == "hit"
    assertNotContains(page, "csrfmiddlewaretoken")

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/newsletter/",
            {"email": "ana@example.org", "consent": "on"},
            headers={"Sec-Fetch-Site": "same-origin"},
        )

    assert response.status_code == 302
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_a_sign_up_posted_from_another_site_is_refused(client, mailoutbox, headers):
    response = client.post(
        "/newsletter/", {"email": "ana@example.org", "consent": "on"}, headers=headers
    )

    assert response.status_code == 403
    assert mailoutbox == []


def test_a_sign_up_from_our_own_origin_is_accepted(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/newsletter/",
            {"email": "ana@example.org", "consent": "on"},
            headers={"Origin": "http://testserver"},
        )

    assert response.status_code == 302
    assert len(mailoutbox) == 1


def test_the_page_cache_can_be_turned_off(client, procedure, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.get(procedure.get_absolute_url())

    assert "X-Page-Cache" not in client.get(procedure.get_absolute_url())


@pytest.mark.parametrize("page", ["home", "procedure", "catalogue", "course"])
def test_cached_pages_carry_no_csp_nonce_for_visitors_to_share(client, procedure, page):
    course = CourseFactory()
    url = {
        "home": "/",
        "procedure": procedure.get_absolute_url(),
        "catalogue": "/learn/",
        "course": course.get_absolute_url(),
    }[page]
    first, second = client.get(url), client.get(url)

    assert second["X-Page-Cache"] == "hit"
    for response in (first, second):
        assert "'nonce-" not in response["Content-Security-Policy"]
        assert b"nonce=" not in response.content


def nonce_page(request):
    from django.http import HttpResponse
    from django.middleware.csp import get_nonce

    return HttpResponse(f'<script nonce="{get_nonce(request)}" src="/static/x.js"></script>')


urlpatterns = [path("", nonce_page, name="home")]


def test_a_page_that_uses_a_nonce_is_never_served_from_the_cache(client, settings):
    settings.ROOT_URLCONF = __name__
    first, second = client.get("/"), client.get("/")

    assert "X-Page-Cache" not in second
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]
    assert "'nonce-" in second["Content-Security-Policy"]
