import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

RESET_URL = reverse("account_reset_password")
CHANGE_URL = reverse("account_change_password")
LOGIN_URL = reverse("account_login")
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/key/[^/\s]+/)")
NEW_PASSWORD = "a-brand-new-passphrase-77"


def shows_bad_token_page(response):
    """The "link not valid" page: no form, a note that the link is invalid, a way to retry."""
    body = response.content.decode().lower()
    return (
        response.status_code == 200
        and response.context["token_fail"]
        and "reset link is not valid" in body
        and f'href="{RESET_URL}"' in body
    )


def reset_link(message):
    match = RESET_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def request_reset(client, mailoutbox, email):
    response = client.post(RESET_URL, {"email": email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    return reset_link(mailoutbox[-1])


def set_new_password(client, link, password=NEW_PASSWORD):
    """Follow the emailed link (it redirects to a key-less address) and send the form."""
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    return client.post(form_url, {"password1": password, "password2": password})


def can_log_in(email, password):
    response = Client().post(LOGIN_URL, {"login": email, "password": password})
    return response.status_code == 302 and response["Location"] == reverse("home")


def test_password_reset_sends_an_email_with_a_link(client, learner, mailoutbox):
    request_reset(client, mailoutbox, learner.email.upper())

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [learner.email]
    assert mailoutbox[0].subject.startswith("[IRLearn] ")


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_no_link(
    client, db, mailoutbox
):
    response = client.post(RESET_URL, {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert not any(RESET_LINK.search(m.body) for m in mailoutbox)


def test_reset_link_lets_you_set_a_new_password_and_log_in_with_it(client, learner, mailoutbox):
    link = request_reset(client, mailoutbox, learner.email)

    response = set_new_password(client, link)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    assert client.get(response["Location"]).status_code == 200
    assert can_log_in(learner.email, NEW_PASSWORD)
    assert not can_log_in(learner.email, PASSWORD)


def test_reset_form_keeps_the_token_out_of_the_address(client, learner, mailoutbox):
    link = request_reset(client, mailoutbox, learner.email)
    key = link.rstrip("/").rsplit("-", 1)[-1]

    response = client.get(link, follow=True)

    assert response.status_code == 200
    assert key not in response.redirect_chain[-1][0]
    assert "password1" in response.context["form"].fields


def test_reset_form_refuses_a_weak_new_password(client, learner, mailoutbox):
    link = request_reset(client, mailoutbox, learner.email)

    response = set_new_password(client, link, "password123")

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert can_log_in(learner.email, PASSWORD)


def test_used_reset_link_shows_a_bad_token_page(client, learner, mailoutbox):
    link = request_reset(client, mailoutbox, learner.email)
    set_new_password(client, link)

    response = client.get(link)

    assert shows_bad_token_page(response)


def test_tampered_reset_link_shows_a_bad_token_page(client, learner, mailoutbox):
    link = request_reset(client, mailoutbox, learner.email)
    tampered = link[:-3] + ("a" if link[-3] != "a" else "b") + link[-2:]

    response = client.get(tampered)

    assert shows_bad_token_page(response)
    assert can_log_in(learner.email, PASSWORD)


def test_reset_link_for_a_user_that_does_not_exist_shows_a_bad_token_page(client, db):
    response = client.get(
        reverse("account_reset_password_from_key", kwargs={"uidb36": "zzzz", "key": "x-y"})
    )

    assert shows_bad_token_page(response)


def test_expired_reset_link_shows_a_bad_token_page(client, learner, mailoutbox, settings):
    link = request_reset(client, mailoutbox, learner.email)

    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    with freeze_time(later):
        response = client.get(link)

    assert shows_bad_token_page(response)


def test_reset_link_stops_working_once_the_password_is_changed_another_way(
    client, learner, mailoutbox
):
    link = request_reset(client, mailoutbox, learner.email)
    learner.set_password("changed-some-other-way-99")
    learner.save()

    response = client.get(link)

    assert shows_bad_token_page(response)


def test_too_many_reset_requests_for_one_address_get_a_429_page_in_the_site_style(
    client, learner, mailoutbox, settings
):
    per_key = next(
        int(rate.split("/")[0])
        for rate in settings.ACCOUNT_RATE_LIMITS["reset_password"].split(",")
        if rate.endswith("/key")
    )
    for _ in range(per_key):
        client.post(RESET_URL, {"email": learner.email})

    response = client.post(RESET_URL, {"email": learner.email})

    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many requests" in body
    assert 'id="main"' in body  # the site's frame, not a bare page
    assert len(mailoutbox) == per_key


def test_password_change_needs_login(client):
    response = client.get(CHANGE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_password_change_with_the_right_old_password_changes_it(learner_client, learner):
    response = learner_client.post(
        CHANGE_URL,
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    # Still logged in (ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE is off).
    assert learner_client.get(reverse("accounts:profile")).status_code == 200
    assert can_log_in(learner.email, NEW_PASSWORD)
    assert not can_log_in(learner.email, PASSWORD)


def test_password_change_with_a_wrong_old_password_is_a_form_error(learner_client, learner):
    response = learner_client.post(
        CHANGE_URL,
        {"oldpassword": "not-my-password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["oldpassword"]
    assert can_log_in(learner.email, PASSWORD)


def test_password_change_refuses_a_weak_new_password(learner_client, learner):
    response = learner_client.post(
        CHANGE_URL,
        {"oldpassword": PASSWORD, "password1": "12345678901", "password2": "12345678901"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert can_log_in(learner.email, PASSWORD)


def test_password_change_page_is_in_the_account_section(learner_client):
    body = learner_client.get(CHANGE_URL).content.decode()

    assert 'aria-label="Your account"' in body
    assert f'href="{CHANGE_URL}" aria-current="page"' in body


def test_unverified_user_can_reset_their_password(client, mailoutbox):
    user = UserFactory(verified=False)
    user.emailaddress_set.create(email=user.email, verified=False, primary=True)

    link = request_reset(client, mailoutbox, user.email)
    set_new_password(client, link)

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
