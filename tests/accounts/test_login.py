from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from irlearn.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")
LOGOUT_URL = reverse("account_logout")
BAD_LOGIN = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def log_in(client, email, password=PASSWORD, ip="127.0.0.1"):
    return client.post(LOGIN_URL, {"login": email, "password": password}, REMOTE_ADDR=ip)


def is_logged_in(client):
    return "_auth_user_id" in client.session


def login_failed_limits(settings):
    """The configured allauth limits on failed logins, e.g. {"ip": 5, "key": 10}."""
    limits = {}
    for rate in settings.ACCOUNT_RATE_LIMITS["login_failed"].split(","):
        amount, _duration, per = rate.split("/")
        limits[per] = int(amount)
    return limits


def test_login_page_asks_for_email_and_password(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.fields) >= {"login", "password"}
    assert 'type="email"' in response.content.decode()


@pytest.mark.parametrize(
    "typed", ["learner@example.org", "LEARNER@EXAMPLE.ORG", "Learner@Example.org"]
)
def test_login_with_email_in_any_case(client, typed):
    user = UserFactory(email="learner@example.org")

    response = log_in(client, typed)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_account_added_with_capitals_in_its_address_logs_in_with_any_case(client):
    user = User.objects.create_user(
        email="Dr.Jones@NHS.net", password=PASSWORD, full_name="Dr Jones"
    )
    user.emailaddress_set.create(email=user.email, verified=True, primary=True)

    response = log_in(client, "dr.jones@nhs.net")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_follows_a_safe_next_address(client, learner):
    response = client.post(
        f"{LOGIN_URL}?next={reverse('accounts:profile')}",
        {"login": learner.email, "password": PASSWORD},
    )

    assert response["Location"] == reverse("accounts:profile")


def test_login_ignores_a_next_address_on_another_site(client, learner):
    response = client.post(
        f"{LOGIN_URL}?next=https://evil.example.com/",
        {"login": learner.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_wrong_password_is_a_form_error_and_does_not_log_in(client, learner):
    response = log_in(client, learner.email, "not-the-password-at-all")

    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert not is_logged_in(client)


def test_unknown_email_gets_the_same_error_as_a_wrong_password(client, db):
    response = log_in(client, "nobody@example.org")

    assert response.status_code == 200
    assert BAD_LOGIN in response.content.decode()
    assert not is_logged_in(client)


def test_deactivated_account_cannot_log_in_and_is_told_so(client):
    user = UserFactory(is_active=False)

    response = log_in(client, user.email)

    assert not is_logged_in(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    assert client.get(response["Location"]).status_code == 200


def test_failed_logins_from_one_address_are_rate_limited_even_with_the_right_password(
    client, learner, settings
):
    limit = min(login_failed_limits(settings).values())
    for _ in range(limit):
        response = log_in(client, learner.email, "wrong-password-guess")
        assert BAD_LOGIN in response.content.decode()

    response = log_in(client, learner.email)

    assert response.status_code in {200, 429}
    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_failed_logins_to_one_account_are_rate_limited_across_ip_addresses(
    client, learner, settings
):
    limit = login_failed_limits(settings)["key"]
    for n in range(limit):
        log_in(client, learner.email.upper(), "wrong-password-guess", ip=f"203.0.113.{n + 1}")

    response = log_in(client, learner.email, ip="198.51.100.7")

    assert TOO_MANY in response.content.decode()
    assert not is_logged_in(client)


def test_the_failed_login_limit_lifts_after_its_window(client, learner, settings):
    limit = min(login_failed_limits(settings).values())
    for _ in range(limit):
        log_in(client, learner.email, "wrong-password-guess")
    assert TOO_MANY in log_in(client, learner.email).content.decode()

    with freeze_time(timezone.now() + timedelta(minutes=6)):
        response = log_in(client, learner.email)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_behind_a_proxy_one_clients_failed_logins_do_not_lock_out_another(
    client, learner, settings
):
    # Production runs behind a proxy (DJANGO_BEHIND_PROXY, ALLAUTH_TRUSTED_PROXY_COUNT): every
    # request comes from the proxy's address and the client's is in X-Forwarded-For.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    attacker = UserFactory()
    for _ in range(min(login_failed_limits(settings).values())):
        client.post(
            LOGIN_URL,
            {"login": attacker.email, "password": "wrong-password-guess"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )

    response = client.post(
        LOGIN_URL,
        {"login": learner.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )

    assert response.status_code == 302
    assert is_logged_in(client)


def test_successful_logins_do_not_count_towards_the_limit(client, learner, settings):
    limit = min(login_failed_limits(settings).values())
    for _ in range(limit + 2):
        client.logout()
        response = log_in(client, learner.email)
        assert response.status_code == 302


def test_logout_page_asks_to_confirm_and_get_does_not_log_out(learner_client):
    response = learner_client.get(LOGOUT_URL)

    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()
    assert is_logged_in(learner_client)


def test_logout_by_post_logs_out_and_goes_home(learner_client):
    response = learner_client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not is_logged_in(learner_client)
    assert learner_client.get(reverse("accounts:profile")).status_code == 302


def test_the_header_log_out_button_posts_to_logout(learner_client):
    body = learner_client.get(reverse("home")).content.decode()

    assert f'method="post" action="{LOGOUT_URL}"' in body
