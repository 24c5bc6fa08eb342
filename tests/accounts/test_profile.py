import json

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from irlearn.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")
EXPORT_URL = reverse("accounts:data-export")
DELETE_URL = reverse("accounts:delete")
LOGIN_URL = reverse("account_login")

# The session and the user: the page itself needs nothing else.
# The session and the user, plus the footer's subscriber count on a cold cache.
PROFILE_PAGE_QUERIES = 3


def test_profile_page_shows_the_form_filled_in(learner_client, learner):
    response = learner_client.get(PROFILE_URL)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["full_name"] == learner.full_name
    assert form.initial["grade"] == learner.grade
    assert learner.email in response.content.decode()


def test_profile_edit_saves_full_name_grade_and_specialty(learner_client, learner):
    response = learner_client.post(
        PROFILE_URL,
        {"full_name": "Dr Aisha Khan", "grade": User.Grade.REGISTRAR, "specialty": "Radiology"},
        follow=True,
    )

    assert response.redirect_chain == [(PROFILE_URL, 302)]
    assert "Your profile has been saved." in response.content.decode()
    learner.refresh_from_db()
    assert learner.full_name == "Dr Aisha Khan"
    assert learner.grade == User.Grade.REGISTRAR
    assert learner.specialty == "Radiology"


def test_profile_edit_cannot_change_email_or_staff_status(learner_client, learner):
    email = learner.email
    learner_client.post(
        PROFILE_URL,
        {
            "full_name": "Dr Aisha Khan",
            "grade": "",
            "specialty": "",
            "email": "someone-else@example.org",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )

    learner.refresh_from_db()
    assert learner.email == email
    assert not learner.is_staff
    assert not learner.is_superuser


@pytest.mark.parametrize("full_name", ["", "   "])
def test_blank_full_name_is_a_form_error(learner_client, learner, full_name):
    before = learner.full_name

    response = learner_client.post(
        PROFILE_URL, {"full_name": full_name, "grade": "", "specialty": ""}
    )

    assert response.status_code == 200
    assert "full_name" in response.context["form"].errors
    learner.refresh_from_db()
    assert learner.full_name == before


def test_unknown_grade_is_a_form_error(learner_client, learner):
    response = learner_client.post(
        PROFILE_URL, {"full_name": "A Name", "grade": "professor", "specialty": ""}
    )

    assert response.status_code == 200
    assert "grade" in response.context["form"].errors


@pytest.mark.parametrize("url", [PROFILE_URL, EXPORT_URL, DELETE_URL])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(client, url, method):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={url}"


def test_download_my_data_is_a_json_attachment_with_my_data(learner_client, learner):
    response = learner_client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="irlearn-my-data-')
    assert response["Content-Disposition"].endswith('.json"')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["email"] == learner.email
    assert data["account"]["full_name"] == learner.full_name
    assert data["account"]["grade"] == learner.get_grade_display()
    assert data["account"]["specialty"] == learner.specialty
    assert data["email_addresses"] == [{"email": learner.email, "verified": True, "primary": True}]


def test_download_my_data_never_contains_another_users_data(learner_client, learner):
    other = UserFactory(full_name="Zebedee Otheruser", specialty="Otherology")

    response = learner_client.get(EXPORT_URL)

    body = response.content.decode()
    assert other.email not in body
    assert other.full_name not in body
    assert "Otherology" not in body


def test_download_my_data_keeps_non_ascii_names_readable(client):
    user = UserFactory(full_name="Siân Ó Súilleabháin")
    client.force_login(user)

    data = json.loads(client.get(EXPORT_URL).content)

    assert data["account"]["full_name"] == "Siân Ó Súilleabháin"


def test_download_my_data_only_answers_get(learner_client):
    assert learner_client.post(EXPORT_URL).status_code == 405


def test_delete_page_warns_and_asks_for_the_password(learner_client):
    response = learner_client.get(DELETE_URL)

    assert response.status_code == 200
    assert "cannot be undone" in response.content.decode()
    assert "password" in response.context["form"].fields


def test_delete_account_with_a_wrong_password_is_a_form_error_and_deletes_nothing(
    learner_client, learner
):
    response = learner_client.post(DELETE_URL, {"password": "not-my-password"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["That password is not correct."]
    assert User.objects.filter(pk=learner.pk).exists()
    assert learner_client.get(PROFILE_URL).status_code == 200


def test_delete_account_without_a_password_is_a_form_error(learner_client, learner):
    response = learner_client.post(DELETE_URL, {})

    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert User.objects.filter(pk=learner.pk).exists()


def test_delete_account_with_the_password_deletes_the_user_logs_out_and_goes_home(
    learner_client, learner
):
    other = UserFactory()

    response = learner_client.post(DELETE_URL, {"password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert "Your account and your data have been deleted." in response.content.decode()
    assert not User.objects.filter(pk=learner.pk).exists()
    assert not EmailAddress.objects.filter(email=learner.email).exists()
    assert User.objects.filter(pk=other.pk).exists()
    assert "_auth_user_id" not in learner_client.session
    assert learner_client.get(PROFILE_URL).status_code == 302


def test_deleted_user_cannot_log_in_again(learner_client, learner):
    learner_client.post(DELETE_URL, {"password": PASSWORD})

    response = Client().post(LOGIN_URL, {"login": learner.email, "password": PASSWORD})

    assert response.status_code == 200


@pytest.mark.parametrize("url", [PROFILE_URL, DELETE_URL])
def test_post_with_a_wrong_csrf_token_is_a_403_in_the_site_style(learner, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    client.get(url)  # sets the CSRF cookie

    response = client.post(
        url,
        {"csrfmiddlewaretoken": "x" * 64, "password": PASSWORD, "full_name": "Changed Name"},
    )

    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired" in body
    assert 'id="main"' in body
    assert User.objects.filter(pk=learner.pk, full_name=learner.full_name).exists()


def test_post_without_a_csrf_cookie_is_a_403_in_the_site_style(learner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)

    response = client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert User.objects.filter(pk=learner.pk).exists()


def test_profile_page_query_budget(learner_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(PROFILE_PAGE_QUERIES):
        response = learner_client.get(PROFILE_URL)

    assert response.status_code == 200
