"""The admin's login page counts failed logins in the same limits as the site's (allauth's)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from irlearn.accounts.models import User
from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN_URL = reverse("admin:login")
ADMIN_INDEX_URL = reverse("admin:index")
SITE_LOGIN_URL = reverse("account_login")
RESET_URL = reverse("account_reset_password")
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/key/[^/\s]+/)")
NOT_STAFF = "Please enter the correct email address and password for a staff account."
TOO_MANY = "Too many failed login attempts. Try again later."
NEW_PASSWORD = "a-brand-new-passphrase-77"


@pytest.fixture
def staff(db):
    return StaffFactory(email="editor@example.org")


def admin_log_in(client, email, password=PASSWORD, ip="127.0.0.1", **headers):
    return client.post(
        f"{ADMIN_LOGIN_URL}?next={ADMIN_INDEX_URL}",
        {"username": email, "password": password, "next": ADMIN_INDEX_URL},
        REMOTE_ADDR=ip,
        **headers,
    )


def site_log_in(client, email, password=PASSWORD, ip="127.0.0.1"):
    return client.post(SITE_LOGIN_URL, {"login": email, "password": password}, REMOTE_ADDR=ip)


def is_logged_in(client):
    return "_auth_user_id" in client.session


def logged_in_to_the_admin(response, client):
    return (
        response.status_code == 302
        and response["Location"] == ADMIN_INDEX_URL
        and client.get(ADMIN_INDEX_URL).status_code == 200
    )


def lock_the_account(client, email, log_in=admin_log_in, guesses=30):
    """Wrong passwords from many addresses, as a botnet would: the per-account limit locks it."""
    for n in range(guesses):
        log_in(client, email, "wrong-password-guess", ip=f"203.0.113.{n + 1}")


def test_staff_log_in_to_the_admin_and_reach_its_index(client, staff):
    response = admin_log_in(client, staff.email.upper())

    assert logged_in_to_the_admin(response, client)
    assert "Content and subscribers" in client.get(ADMIN_INDEX_URL).content.decode()


def test_thirty_wrong_passwords_then_the_right_one_do_not_log_in_to_the_admin(client, staff):
    for _ in range(30):
        response = admin_log_in(client, staff.email, "wrong-password-guess")
        assert not is_logged_in(client)

    response = admin_log_in(client, staff.email)

    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_wrong_passwords_from_many_addresses_lock_the_account_at_the_admin(client, staff):
    lock_the_account(client, staff.email)

    response = admin_log_in(client, staff.email, ip="198.51.100.7")

    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_an_account_locked_at_the_site_login_cannot_log_in_through_the_admin(client, staff):
    lock_the_account(client, staff.email, log_in=site_log_in)
    assert TOO_MANY in site_log_in(client, staff.email, ip="198.51.100.7").content.decode()

    response = admin_log_in(client, staff.email, ip="198.51.100.8")

    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_an_account_locked_at_the_admin_cannot_log_in_at_the_site_either(client, staff):
    lock_the_account(client, staff.email)

    response = site_log_in(client, staff.email, ip="198.51.100.7")

    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_the_admin_login_lock_lifts_after_its_window(client, staff):
    lock_the_account(client, staff.email)
    assert TOO_MANY in admin_log_in(client, staff.email).content.decode()

    with freeze_time(timezone.now() + timedelta(minutes=6)):
        response = admin_log_in(client, staff.email)
        assert logged_in_to_the_admin(response, client)


@pytest.mark.parametrize("made_by", ["sign-up", "createsuperuser"])
def test_a_password_reset_lifts_the_lock_on_the_account(client, db, mailoutbox, made_by):
    # allauth lifts the lock of each address it knows for the account; createsuperuser records
    # none, so this checks that the reset records it first.
    if made_by == "sign-up":
        staff = StaffFactory()
    else:
        staff = User.objects.create_superuser(
            email="root@example.org", password=PASSWORD, full_name="Root"
        )
    lock_the_account(client, staff.email)
    client.post(RESET_URL, {"email": staff.email})
    link = RESET_LINK.search(mailoutbox[-1].body).group(1)
    form_url = client.get(link)["Location"]
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    response = admin_log_in(client, staff.email, NEW_PASSWORD, ip="198.51.100.7")

    assert logged_in_to_the_admin(response, client)


def test_behind_a_proxy_one_clients_failed_admin_logins_do_not_lock_out_another(
    client, staff, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for _ in range(30):
        admin_log_in(
            client,
            "someone-else@example.org",
            "wrong-password-guess",
            ip="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    assert TOO_MANY in (
        admin_log_in(
            client, staff.email, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66"
        ).content.decode()
    )

    response = admin_log_in(
        client, staff.email, ip="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20"
    )

    assert logged_in_to_the_admin(response, client)


def test_a_learner_logging_in_through_the_admin_is_refused_without_counting_a_guess(
    client, learner
):
    response = admin_log_in(client, learner.email)

    assert response.status_code == 200
    assert NOT_STAFF in response.content.decode()
    assert not is_logged_in(client)
    # The right password is not a failed login: the learner can still log in to the site.
    for _ in range(10):
        admin_log_in(client, learner.email)
    assert site_log_in(client, learner.email).status_code == 302


def test_a_logged_in_learner_opening_the_admin_is_told_so_without_a_redirect_loop(
    learner_client, learner
):
    response = learner_client.get(ADMIN_INDEX_URL, follow=True)

    assert [url for url, _status in response.redirect_chain] == [
        f"{ADMIN_LOGIN_URL}?next={ADMIN_INDEX_URL}"
    ]
    assert response.status_code == 200
    assert "not authorized to access this page" in response.content.decode()
    assert "Content and subscribers" not in response.content.decode()
