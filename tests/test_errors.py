"""Error pages are in the site's style and never leak details."""

import pytest
from django.test import Client
from django.views.defaults import server_error


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
