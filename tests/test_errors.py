"""Error pages are in the site's style and never leak details."""

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client
from django.urls import path
from django.views.defaults import server_error

from irlearn.urls import urlpatterns as site_urlpatterns


def crash(request):
    raise RuntimeError("a bug")


def refuse(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("odd request")


# The site's own URLs (the error pages link to them) plus views that fail on purpose.
urlpatterns = [
    *site_urlpatterns,
    path("test-errors/500/", crash),
    path("test-errors/403/", refuse),
    path("test-errors/400/", suspicious),
]


@pytest.fixture
def failing_client(client, settings):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
def test_request_for_an_unknown_host_gets_the_400_page(client):
    response = client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "We could not understand that request" in response.content.decode()


@pytest.mark.django_db
def test_learner_opening_the_admin_index_is_sent_to_log_in(learner_client):
    response = learner_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_500_page_renders_without_a_request_context(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "Traceback" not in body


@pytest.mark.django_db
def test_a_form_post_without_a_valid_csrf_token_gets_a_403_that_explains_what_to_do():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "heading"),
    [
        (400, "We could not understand that request"),
        (403, "You do not have access to this page"),
        (500, "Something went wrong on our side"),
    ],
)
def test_errors_raised_by_a_view_get_a_page_in_the_site_style(failing_client, status, heading):
    response = failing_client.get(f"/test-errors/{status}/")

    assert response.status_code == status
    body = response.content.decode()
    assert heading in body
    assert 'id="main"' in body
    assert "Go to the home page" in body
    assert "a bug" not in body
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
