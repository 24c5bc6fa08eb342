import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from irlearn.accounts.models import User
from tests.factories import PASSWORD, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = reverse("account_signup")
LOGIN_URL = reverse("account_login")
VERIFY_URL = reverse("account_email_verification_sent")
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)")


def signup_data(**overrides):
    return {
        "full_name": "Priya Patel",
        "email": "priya.patel@example.org",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "grade": User.Grade.CORE_TRAINEE,
        "specialty": "General surgery",
        **overrides,
    }


def confirmation_path(message):
    match = CONFIRM_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def sign_up(client, **overrides):
    return client.post(SIGNUP_URL, signup_data(**overrides))


def test_signup_creates_an_unverified_account_and_sends_one_verification_email(client, mailoutbox):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    user = User.objects.get()
    assert user.email == "priya.patel@example.org"
    assert user.full_name == "Priya Patel"
    assert user.grade == User.Grade.CORE_TRAINEE
    assert user.specialty == "General surgery"
    assert user.check_password(PASSWORD)
    address = EmailAddress.objects.get(user=user)
    assert address.email == user.email
    assert not address.verified
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["priya.patel@example.org"]
    assert mailoutbox[0].subject.startswith("[IRLearn] ")
    assert confirmation_path(mailoutbox[0])
    assert mailoutbox[0].body.startswith("Hello from IRLearn!")


def test_account_emails_greet_with_the_configured_site_name(client, mailoutbox, settings):
    settings.SITE_NAME = "IRLearn Leeds"

    sign_up(client)

    assert mailoutbox[0].body.startswith("Hello from IRLearn Leeds!")


def test_signup_does_not_log_the_new_user_in(client, mailoutbox):
    sign_up(client)

    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_verify_your_email_page_tells_the_user_to_check_their_inbox(client, mailoutbox):
    response = sign_up(client)
    page = client.get(response["Location"])

    assert page.status_code == 200
    assert "verify your email address" in page.content.decode().lower()


def test_confirmation_link_shows_a_confirm_page_and_get_does_not_verify(client, mailoutbox):
    sign_up(client)

    response = client.get(confirmation_path(mailoutbox[0]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "priya.patel@example.org" in body
    assert 'method="post"' in body
    assert not EmailAddress.objects.get().verified


def test_posting_the_confirmation_verifies_the_email_and_then_login_works(client, mailoutbox):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])
    # Confirmed in another browser: the sign-up's own browser would be logged in at once
    # (tests/accounts/test_email_confirmation.py).
    client = Client()

    response = client.post(link)

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert EmailAddress.objects.get().verified
    response = client.post(LOGIN_URL, {"login": "priya.patel@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_signup_without_full_name_is_a_form_error(client, mailoutbox):
    response = sign_up(client, full_name="")

    assert response.status_code == 200
    assert "full_name" in response.context["form"].errors
    assert not User.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize(
    "new_email",
    ["taken@example.org", "TAKEN@Example.org", "Taken@example.ORG"],
    ids=["same", "upper-case", "mixed-case"],
)
def test_signup_with_a_taken_email_creates_no_second_account_and_does_not_reveal_it(
    client, mailoutbox, new_email
):
    owner = UserFactory(email="taken@example.org")

    response = sign_up(client, email=new_email)

    # ACCOUNT_PREVENT_ENUMERATION: the page looks exactly like a successful sign-up, and the
    # owner of the address is told by email instead.
    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    assert list(User.objects.all()) == [owner]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["taken@example.org"]
    assert "already exists" in mailoutbox[0].body
    assert not CONFIRM_LINK.search(mailoutbox[0].body)
    owner.refresh_from_db()
    assert owner.full_name != "Priya Patel"


def test_signup_with_the_address_of_an_account_added_in_the_admin_in_another_case(
    client, mailoutbox
):
    # Staff type addresses as they come ("Jane.Doe@Example.org"); sign-up lowercases them.
    admin_client = Client()
    admin_client.force_login(SuperuserFactory())
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Jane.Doe@Example.org",
            "full_name": "Jane Doe",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    owner = User.objects.get(full_name="Jane Doe")

    response = sign_up(client, email="jane.doe@example.org")

    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    assert User.objects.filter(email__iexact="jane.doe@example.org").get() == owner
    assert [m.to for m in mailoutbox] == [["jane.doe@example.org"]]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123", "too common"),
        ("Sh0rt!x", "too short"),
        ("73920548163", "entirely numeric"),
        ("priya.patel@example.org", "too similar"),
    ],
    ids=["common", "short", "numeric", "like-email"],
)
def test_weak_password_is_a_form_error(client, mailoutbox, password, message):
    response = sign_up(client, password1=password, password2=password)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("password1", []))
    assert message in errors
    assert not User.objects.exists()
    assert mailoutbox == []


def test_mismatched_passwords_are_a_form_error(client, mailoutbox):
    response = sign_up(client, password2=PASSWORD + "x")

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not User.objects.exists()


def test_unverified_user_logging_in_is_sent_to_verify_email_page_and_not_logged_in(
    client, mailoutbox
):
    sign_up(client)
    mailoutbox.clear()

    response = client.post(LOGIN_URL, {"login": "priya.patel@example.org", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == VERIFY_URL
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("accounts:profile")).status_code == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_confirmation_link_shows_an_expired_or_invalid_page(
    client, mailoutbox, settings, method
):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])

    later = timezone.now() + timedelta(
        days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS, hours=1
    )
    with freeze_time(later):
        response = getattr(client, method)(link)

    assert response.status_code == 200
    assert "expired or is not valid" in response.content.decode().lower()
    assert not EmailAddress.objects.get().verified


def test_confirmation_link_still_works_just_before_it_expires(client, mailoutbox, settings):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])

    later = timezone.now() + timedelta(
        days=settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS, hours=-1
    )
    with freeze_time(later):
        client.post(link)

    assert EmailAddress.objects.get().verified


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_confirmation_link_shows_an_expired_or_invalid_page(client, mailoutbox, method):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])
    tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]

    response = getattr(client, method)(tampered)

    assert response.status_code == 200
    assert "expired or is not valid" in response.content.decode().lower()
    assert not EmailAddress.objects.get().verified
