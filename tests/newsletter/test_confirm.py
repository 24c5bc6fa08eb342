"""Double opt-in: the link in the confirmation email, its page, its expiry and its forgeries."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from freezegun import freeze_time
from pytest_django.asserts import assertContains, assertTemplateUsed

from irlearn.newsletter import tokens
from irlearn.newsletter.models import ConsentRecord, Subscriber
from irlearn.newsletter.services import subscriber_erase, subscriber_unsubscribe
from irlearn.pages.models import PrivacyPolicy
from tests.dump import readings
from tests.factories import SubscriberFactory, SubscriberManagerFactory

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https://irlearn\.example(/newsletter/confirm/[^/\s\"<>]+/)")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


@pytest.fixture
def confirm_path(client, mailoutbox, django_capture_on_commit_callbacks):
    """Sign up ``email`` through the form; return the path of the link in the email it gets."""

    def confirm_path(email="ana@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/newsletter/", {"email": email, "consent": "on"})
        return CONFIRM_LINK.search(mailoutbox[-1].body).group(1)

    return confirm_path


def main_content(response):
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def test_opening_the_link_shows_one_confirm_button_and_confirms_nothing(client, confirm_path):
    path = confirm_path()

    response = client.get(path)

    assert response.status_code == 200
    main = main_content(response)
    assert main.count("<form") == 1
    assert main.count("<button") == 1
    assert re.search(r'<form method="post"[^>]*>', main)
    assert re.search(r"<button[^>]*>Confirm my subscription</button>", main)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert not ConsentRecord.objects.filter(event=ConsentRecord.Event.CONFIRMED).exists()


def test_opening_the_link_many_times_like_a_mail_scanner_confirms_nothing(client, confirm_path):
    path = confirm_path()

    for _ in range(3):
        client.get(path)
        client.head(path)

    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_pressing_confirm_subscribes_and_records_the_confirmation(client, confirm_path):
    with freeze_time("2031-05-06 07:00:00") as clock:
        path = confirm_path()
        clock.move_to("2031-05-06 07:08:09")
        response = client.post(path, REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 200
    assertContains(response, "<h1>You are subscribed</h1>", html=True)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.SUBSCRIBED
    assert subscriber.confirmed_at.isoformat() == "2031-05-06T07:08:09+00:00"
    record = subscriber.consent_records.get(event=ConsentRecord.Event.CONFIRMED)
    assert record.created_at.isoformat() == "2031-05-06T07:08:09+00:00"
    assert record.policy == PrivacyPolicy.objects.current()
    assert record.wording
    assert record.wording in main_content(client.get(path))
    # The page, without the link's token (a live link, kept past erasure).
    assert record.source == "http://testserver/newsletter/confirm/"
    assert record.ip_address == "192.0.2.44"


def test_the_confirm_form_is_protected_against_cross_site_requests(confirm_path):
    path = confirm_path()
    browser = Client(enforce_csrf_checks=True)

    assert browser.post(path).status_code == 403
    page = browser.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', main_content(page)).group(1)
    assert browser.post(path, {"csrfmiddlewaretoken": token}).status_code == 200

    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED


def test_confirming_twice_is_harmless(client, confirm_path):
    path = confirm_path()

    client.post(path)
    response = client.post(path)

    assert response.status_code == 200
    assert Subscriber.objects.get().is_subscribed
    assert ConsentRecord.objects.filter(event=ConsentRecord.Event.CONFIRMED).count() == 1


def test_the_link_works_for_seven_days(client, confirm_path):
    with freeze_time("2031-01-01 12:00") as clock:
        path = confirm_path()
        clock.tick(timedelta(days=7) - timedelta(seconds=1))

        assert client.get(path).status_code == 200
        assert client.post(path).status_code == 200

    assert Subscriber.objects.get().is_subscribed


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_is_a_clear_400_page(client, confirm_path, method):
    with freeze_time("2031-01-01 12:00") as clock:
        path = confirm_path()
        clock.tick(timedelta(days=7, seconds=1))

        response = getattr(client, method)(path)

    assert response.status_code == 400
    assertTemplateUsed(response, "newsletter/confirm_invalid.html")
    assertContains(response, "This confirmation link has expired", status_code=400)
    assertContains(response, 'href="/newsletter/"', status_code=400)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def tampered(path):
    token = path.split("/")[-2]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    return [
        path.replace(token, flipped),
        path.replace(token, token[:-6]),
        path.replace(token, token[1:]),
        path.replace(token, "nonsense"),
        path.replace(token, "a:b:c"),
        path.replace(token, "%C3%A9"),
        path.replace(token, "x" * 2000),
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_a_clear_400_page_never_a_500(client, confirm_path, method):
    client.raise_request_exception = False
    path = confirm_path()

    for bad in tampered(path):
        response = getattr(client, method)(bad)

        assert response.status_code == 400, bad
        assertContains(response, "This confirmation link is not valid", status_code=400)
    # A NUL byte is refused for every URL before any view (irlearn/middleware.py).
    response = getattr(client, method)(path.replace(path.split("/")[-2], "%C3%A9%00"))
    assertContains(response, "We could not understand that request", status_code=400)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_an_unsubscribe_link_does_not_confirm(client):
    subscriber = SubscriberFactory(pending=True)

    response = client.post(f"/newsletter/confirm/{tokens.unsubscribe_token(subscriber)}/")

    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_a_link_for_an_erased_address_is_a_400_page(client, confirm_path):
    path = confirm_path()
    subscriber_erase(subscriber=Subscriber.objects.get(), actor=SubscriberManagerFactory())

    for response in [client.get(path), client.post(path)]:
        assert response.status_code == 400
        assertContains(response, "This confirmation link is not valid", status_code=400)
    assert Subscriber.objects.get().status == Subscriber.Status.ERASED


def test_the_confirmation_page_has_a_clear_title(client, confirm_path):
    response = client.get(confirm_path())

    assertContains(response, "<title>Confirm your subscription – IRLearn</title>", html=True)


def test_an_old_link_does_not_resubscribe_someone_who_has_unsubscribed(client, confirm_path):
    path = confirm_path()
    client.post(path)
    subscriber = Subscriber.objects.get()
    subscriber_unsubscribe(subscriber=subscriber, source="test")

    response = client.post(path)

    assert response.status_code == 400
    assertContains(response, "Sign up again", status_code=400)
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_the_link_does_not_carry_the_address_in_any_form(confirm_path):
    path = confirm_path("ana.lopez@example.org")

    token = path.split("/")[-2]
    assert not [reading for reading in readings(token) if "ana.lopez" in reading.lower()]


def test_a_link_does_not_confirm_a_later_owner_of_the_row(client, confirm_path):
    path = confirm_path("ana@example.org")
    Subscriber.objects.update(email="ben@example.org")

    for response in [client.get(path), client.post(path)]:
        assert response.status_code == 400
        assertContains(response, "This confirmation link is not valid", status_code=400)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_a_link_sent_before_links_lost_the_address_confirms_until_it_expires(client):
    subscriber = SubscriberFactory(email="ana@example.org", pending=True)
    old_link = signing.dumps(
        [subscriber.pk, subscriber.email], salt=tokens.CONFIRM_SALT, compress=True
    )

    response = client.post(f"/newsletter/confirm/{old_link}/")

    assert response.status_code == 200
    assert Subscriber.objects.get().is_subscribed


def test_head_answers_like_get_and_confirms_nothing(client, confirm_path):
    path = confirm_path()

    response = client.head(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert not ConsentRecord.objects.filter(event=ConsentRecord.Event.CONFIRMED).exists()
    assert client.head(tampered(path)[0]).status_code == 400


def test_signing_up_from_the_footer_of_a_link_page_records_the_page_without_the_token(
    client, confirm_path, django_capture_on_commit_callbacks
):
    page = "http://testserver" + confirm_path("ana@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/newsletter/", {"email": "ben@example.org", "consent": "on"}, HTTP_REFERER=page
        )

    record = ConsentRecord.objects.get(subscriber__email="ben@example.org")
    assert record.source == "http://testserver/newsletter/confirm/"
