"""Leaving the newsletter: the personal link and RFC 8058 headers in every issue, the one-click
POST, the page behind the link, and unsubscribing while an issue is being sent."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from freezegun import freeze_time
from pytest_django.asserts import assertContains, assertTemplateUsed

from irlearn.newsletter import engine, messages, scheduling, selectors, services
from irlearn.newsletter.models import ConsentRecord, Delivery, Subscriber
from irlearn.pages.models import PrivacyPolicy
from tests.factories import IssueFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

UNSUBSCRIBE_LINK = re.compile(r"https://irlearn\.example/newsletter/unsubscribe/[^/\s\"<>]+/")
CONFIRM_LINK = re.compile(r"https://irlearn\.example(/newsletter/confirm/[^/\s\"<>]+/)")
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


@pytest.fixture
def send_issue(django_capture_on_commit_callbacks, mailoutbox):
    """Send a new issue to every subscribed address now; return the messages it sent."""

    def send_issue():
        issue = IssueFactory()
        already = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=True)
        return {message.to[0]: message for message in mailoutbox[already:]}

    return send_issue


def unsubscribe_path(message):
    return urlsplit(UNSUBSCRIBE_LINK.search(message.body).group()).path


def one_click(path, **extra):
    """The POST a mail programme makes (RFC 8058): no cookies, no CSRF token, a fixed body."""
    return Client(enforce_csrf_checks=True).post(
        path, ONE_CLICK_BODY, content_type="application/x-www-form-urlencoded", **extra
    )


def main_content(response):
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


# The email


def test_every_issue_carries_a_personal_unsubscribe_link_and_the_rfc_8058_headers(send_issue):
    SubscriberFactory(email="ana@example.org")
    SubscriberFactory(email="ben@example.org")

    sent = send_issue()

    assert sorted(sent) == ["ana@example.org", "ben@example.org"]
    links = set()
    for message in sent.values():
        link = UNSUBSCRIBE_LINK.search(message.body).group()
        assert link in message.alternatives[0].content
        headers = message.message()
        assert headers["List-Unsubscribe"] == f"<{link}>"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links.add(link)
    assert len(links) == 2


def test_each_link_unsubscribes_only_its_owner(send_issue):
    SubscriberFactory(email="ana@example.org")
    SubscriberFactory(email="ben@example.org")
    sent = send_issue()

    one_click(unsubscribe_path(sent["ana@example.org"]))

    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {"ana@example.org": "unsubscribed", "ben@example.org": "subscribed"}


# One click


def test_the_one_click_post_unsubscribes_with_a_200_and_no_redirect(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    response = one_click(path)

    assert response.status_code == 200
    assert "Location" not in response.headers
    assertContains(response, "<h1>You are unsubscribed</h1>", html=True)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_the_one_click_post_also_works_as_multipart_form_data(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_the_one_click_post_is_idempotent_and_records_one_withdrawal(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    with freeze_time("2031-02-03 04:05:06"):
        responses = [one_click(path, REMOTE_ADDR="203.0.113.9") for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at.isoformat() == "2031-02-03T04:05:06+00:00"
    record = subscriber.consent_records.get(event=ConsentRecord.Event.WITHDRAWN)
    assert record.created_at.isoformat() == "2031-02-03T04:05:06+00:00"
    assert record.policy == PrivacyPolicy.objects.current()
    assert record.wording == services.ONE_CLICK_UNSUBSCRIBE_WORDING
    # The page, without the link's token (a live link, kept past erasure).
    assert record.source == "http://testserver/newsletter/unsubscribe/"
    assert record.ip_address == "203.0.113.9"


def test_an_unsubscribe_link_in_a_years_old_email_still_works(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    with freeze_time(timedelta(days=3 * 365)):
        assert one_click(path).status_code == 200

    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


# The page behind the link


def test_opening_the_link_shows_an_unsubscribe_button_and_changes_nothing(client, send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    response = client.get(path)

    assert response.status_code == 200
    main = main_content(response)
    assert main.count("<form") == 1
    assert re.search(rf'<form method="post" action="{re.escape(path)}">', main)
    assert re.search(r"<button[^>]*>Unsubscribe</button>", main)
    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED
    assert not ConsentRecord.objects.exists()


def test_pressing_the_button_on_the_page_unsubscribes(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)

    # The page's form, as the browser would submit it: no fields, no CSRF token needed.
    response = browser.post(path)

    assert response.status_code == 200
    assertContains(response, "You are unsubscribed")
    record = ConsentRecord.objects.get(event=ConsentRecord.Event.WITHDRAWN)
    assert record.wording == services.UNSUBSCRIBE_WORDING
    assert record.wording in main_content(page)


def test_a_tampered_link_is_a_clear_400_page(client, send_issue):
    client.raise_request_exception = False
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])
    token = path.split("/")[-2]

    for bad in [
        path.replace(token, token[:-1] + ("x" if token[-1] != "x" else "y")),
        path.replace(token, token[:-4]),
        path.replace(token, "nonsense"),
        path.replace(token, "1:abc"),
    ]:
        for response in [client.get(bad), client.post(bad), one_click(bad)]:
            assert response.status_code == 400, bad
            assertTemplateUsed(response, "newsletter/unsubscribe_invalid.html")
            assertContains(response, "This unsubscribe link is not valid", status_code=400)

    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED
    assert not ConsentRecord.objects.exists()


def test_a_confirmation_link_does_not_unsubscribe():
    subscriber = SubscriberFactory(email="ana@example.org")
    token = CONFIRM_LINK.search(messages.confirmation_message(subscriber).body).group(1)
    token = token.split("/")[-2]

    response = one_click(f"/newsletter/unsubscribe/{token}/")

    assert response.status_code == 400
    assert Subscriber.objects.get().is_subscribed


# Unsubscribing while an issue is going out


def test_unsubscribing_mid_send_skips_the_deliveries_not_yet_sent(
    django_capture_on_commit_callbacks, mailoutbox, client
):
    SubscriberFactory(email="ana@example.org")
    leaving = SubscriberFactory(email="ben@example.org")
    SubscriberFactory(email="cat@example.org")
    first = IssueFactory()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.issue_send_start(issue_id=first.pk)
    path = unsubscribe_path(next(m for m in mailoutbox if m.to == ["ben@example.org"]))
    mailoutbox.clear()
    second = IssueFactory()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        scheduling.issue_send_start(issue_id=second.pk, confirm_too_soon=True)
    assert queued  # the workers are set going only once the deliveries are committed
    assert second.deliveries.count() == 3

    assert one_click(path).status_code == 200
    engine.issue_send_work(issue_id=second.pk)

    assert sorted(m.to[0] for m in mailoutbox) == ["ana@example.org", "cat@example.org"]
    statuses = dict(second.deliveries.values_list("subscriber__email", "status"))
    assert statuses == {
        "ana@example.org": Delivery.Status.SENT,
        "ben@example.org": Delivery.Status.SKIPPED,
        "cat@example.org": Delivery.Status.SENT,
    }
    assert selectors.issue_counts(second)["skipped"] == 1
    second.refresh_from_db()
    assert second.status == second.Status.SENT
    assert leaving.deliveries.get(issue=first).status == Delivery.Status.SENT


# Coming back


def test_resubscribing_goes_through_double_opt_in_again(
    client, send_issue, mailoutbox, django_capture_on_commit_callbacks
):
    def sign_up():
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/newsletter/", {"email": "ana@example.org", "consent": "on"})

    with freeze_time("2031-01-01 09:00") as clock:
        sign_up()
        client.post(CONFIRM_LINK.search(mailoutbox[-1].body).group(1))
        clock.tick(timedelta(days=30))
        one_click(unsubscribe_path(send_issue()["ana@example.org"]))
        clock.tick(timedelta(days=1))
        mailoutbox.clear()

        sign_up()

        subscriber = Subscriber.objects.get()
        assert subscriber.status == Subscriber.Status.PENDING
        assert len(mailoutbox) == 1
        assert send_issue() == {}  # a pending address gets no newsletter
        client.post(CONFIRM_LINK.search(mailoutbox[0].body).group(1))

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUBSCRIBED
    events = list(subscriber.consent_records.values_list("event", flat=True))
    assert events == ["given", "confirmed", "withdrawn", "given", "confirmed"]


def test_resubscribing_within_the_hour_after_unsubscribing_waits_for_the_hourly_limit(
    client, mailoutbox, django_capture_on_commit_callbacks, send_issue
):
    with freeze_time("2031-01-01 09:00") as clock:
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/newsletter/", {"email": "ana@example.org", "consent": "on"})
        first_link = CONFIRM_LINK.search(mailoutbox[-1].body).group(1)
        client.post(first_link)
        one_click(unsubscribe_path(send_issue()["ana@example.org"]))
        mailoutbox.clear()
        clock.tick(timedelta(minutes=5))

        with django_capture_on_commit_callbacks(execute=True):
            client.post("/newsletter/", {"email": "ana@example.org", "consent": "on"})

        # Pending again, but the promise of at most one confirmation an hour holds...
        assert Subscriber.objects.get().status == Subscriber.Status.PENDING
        assert mailoutbox == []

        # ...and the link sent five minutes ago confirms the new sign-up.
        assert client.post(first_link).status_code == 200

    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED


def test_head_answers_like_get_and_unsubscribes_nobody(send_issue):
    SubscriberFactory(email="ana@example.org")
    path = unsubscribe_path(send_issue()["ana@example.org"])

    response = Client().head(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert Subscriber.objects.get().is_subscribed
    assert not ConsentRecord.objects.filter(event=ConsentRecord.Event.WITHDRAWN).exists()
    assert Client().head("/newsletter/unsubscribe/nonsense/").status_code == 400
