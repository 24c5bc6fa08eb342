"""Signing up for the newsletter: the footer box, the sign-up page, double opt-in and its guards."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from freezegun import freeze_time
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from irlearn.newsletter.models import ConsentRecord, Subscriber
from irlearn.newsletter.services import CONSENT_WORDING, subscriber_erase
from irlearn.pages.models import PrivacyPolicy
from tests.factories import ProcedureFactory, SubscriberFactory, SubscriberManagerFactory

pytestmark = pytest.mark.django_db

SUBSCRIBE_URL = "/newsletter/"
CONFIRM_LINK = re.compile(r"https://irlearn\.example/newsletter/confirm/[^/\s\"<>]+/")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    """Post the newsletter form as a person would, running what the sign-up queues on commit."""

    def sign_up(email, *, consent=True, website="", **extra):
        data = {"email": email, "website": website}
        if consent:
            data["consent"] = "on"
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SUBSCRIBE_URL, data, **extra)

    return sign_up


def newsletter_box(response):
    html = response.content.decode()
    start = html.index('<section class="newsletter-box"')
    return html[start : html.index("</section>", start)]


def main_content(response):
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def make_subscribers(count, status=Subscriber.Status.SUBSCRIBED, prefix=""):
    Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{status}{n}@example.org", status=status) for n in range(count)
    )


# The footer box, on every page


@pytest.mark.parametrize(
    "url", ["/", "/about/", "/privacy/", "/procedures/", "/search/?q=drain", "/no-such-page/"]
)
def test_every_page_has_the_newsletter_box_in_its_footer(client, url):
    response = client.get(url)

    box = newsletter_box(response)
    assert 'action="/newsletter/"' in box
    assert 'type="email" name="email"' in box
    assert 'href="/privacy/"' in box
    assert CONSENT_WORDING in box


def test_the_consent_checkbox_is_not_ticked_and_its_label_states_the_promise(client):
    response = client.get("/")

    box = newsletter_box(response)
    checkbox = re.search(r'<input[^>]*type="checkbox"[^>]*name="consent"[^>]*>', box).group()
    assert "checked" not in checkbox
    checkbox_id = re.search(r'id="([^"]+)"', checkbox).group(1)
    label = re.search(rf'<label[^>]*for="{checkbox_id}"[^>]*>(.*?)</label>', box, re.S).group(1)
    for promise in [
        "never be shared with third parties",
        "only be used for IRLearn communications",
        "less than once a month",
        "unsubscribe",
    ]:
        assert promise in label
    assert 'href="/privacy/"' in label


def test_the_newsletter_has_a_page_of_its_own(client):
    response = client.get(SUBSCRIBE_URL)

    assert response.status_code == 200
    assertContains(response, "<h1>The IRLearn newsletter</h1>", html=True)
    main = main_content(response)
    assert 'type="email" name="email"' in main
    assert CONSENT_WORDING in main
    assert 'href="/privacy/"' in main


@pytest.mark.parametrize(
    ("confirmed", "shown"),
    [
        (0, None),
        (9, None),
        (10, "Join 10+ subscribers"),
        (99, "Join 90+ subscribers"),
        (100, "Join 100+ subscribers"),
        (999, "Join 900+ subscribers"),
        (1234, "Join 1k+ subscribers"),
    ],
)
def test_the_box_shows_the_confirmed_count_rounded_down(client, confirmed, shown):
    make_subscribers(confirmed)

    response = client.get("/")

    box = newsletter_box(response)
    if shown is None:
        assert "Join" not in box
    else:
        assert shown in box


def test_only_confirmed_subscribers_count(client):
    make_subscribers(9)
    make_subscribers(50, status=Subscriber.Status.PENDING)
    make_subscribers(50, status=Subscriber.Status.UNSUBSCRIBED)

    response = client.get("/")

    assert "Join" not in newsletter_box(response)


def test_the_count_is_cached_for_an_hour(client):
    make_subscribers(12)
    assert "Join 10+ subscribers" in newsletter_box(client.get("/"))
    make_subscribers(30, prefix="later-")

    assert "Join 10+ subscribers" in newsletter_box(client.get("/about/"))


def test_the_cached_count_costs_no_query(client, django_assert_num_queries):
    make_subscribers(12)
    client.get("/")  # warms the cache

    with django_assert_num_queries(0):
        response = client.get("/")

    assert "Join 10+ subscribers" in newsletter_box(response)


# Signing up


def test_signing_up_creates_a_pending_subscriber_and_asks_to_check_the_inbox(sign_up, client):
    response = sign_up("Ana.Lopez@Example.org")

    assertRedirects(response, reverse("newsletter:check-inbox"))
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ana.lopez@example.org"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.confirmed_at is None
    page = client.get(response.url)
    assertContains(page, "<h1>Check your inbox</h1>", html=True)


def test_signing_up_records_consent_with_policy_wording_source_and_ip(sign_up):
    procedure = ProcedureFactory()
    page = "http://testserver" + procedure.get_absolute_url()

    with freeze_time("2031-03-04 10:20:30"):
        sign_up("ana@example.org", HTTP_REFERER=page, REMOTE_ADDR="203.0.113.7")

    record = ConsentRecord.objects.get()
    assert record.subscriber.email == "ana@example.org"
    assert record.event == ConsentRecord.Event.GIVEN
    assert record.policy == PrivacyPolicy.objects.current()
    assert record.policy.version == 1
    assert record.wording == CONSENT_WORDING
    assert record.source == page
    assert record.ip_address == "203.0.113.7"
    assert record.created_at.isoformat() == "2031-03-04T10:20:30+00:00"


def test_the_recorded_wording_is_the_label_people_saw(client, sign_up):
    box = newsletter_box(client.get("/"))
    label = re.search(r'<label[^>]*for="nl-footer-consent"[^>]*>(.*?)</label>', box, re.S)

    sign_up("ana@example.org")

    assert ConsentRecord.objects.get().wording in label.group(1)


def test_without_a_referer_the_source_is_the_newsletter_page(sign_up):
    sign_up("ana@example.org")

    assert ConsentRecord.objects.get().source == "http://testserver/newsletter/"


def test_signing_up_sends_one_confirmation_email_with_a_signed_link(sign_up, mailoutbox):
    sign_up("ana@example.org")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ana@example.org"]
    assert message.subject == "Confirm your IRLearn newsletter subscription"
    link = CONFIRM_LINK.search(message.body).group()
    assert link in message.alternatives[0].content
    assert "7 days" in message.body
    token = urlsplit(link).path.split("/")[-2]
    assert "ana@example.org" not in token  # signed and compressed, not the address in clear


@pytest.mark.parametrize("status", ["new", "pending", "subscribed", "unsubscribed", "erased"])
def test_the_answer_is_the_same_whatever_the_address(sign_up, client, status):
    if status == "erased":
        subscriber_erase(
            subscriber=SubscriberFactory(email="ana@example.org"), actor=SubscriberManagerFactory()
        )
    elif status != "new":
        SubscriberFactory(email="ana@example.org", status=status)
    reference = sign_up("someone.new@example.org")

    response = sign_up("ana@example.org")

    assert response.status_code == reference.status_code == 302
    assert response.url == reference.url == reverse("newsletter:check-inbox")
    assert main_content(client.get(response.url)) == main_content(client.get(reference.url))


def test_a_subscribed_address_gets_no_email_at_all(sign_up, mailoutbox):
    SubscriberFactory(email="ana@example.org")

    sign_up("ana@example.org")

    assert mailoutbox == []
    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED
    assert not ConsentRecord.objects.exists()


def test_repeated_sign_ups_send_at_most_one_confirmation_an_hour(sign_up, mailoutbox):
    with freeze_time("2031-01-01 09:00") as clock:
        sign_up("ana@example.org")
        clock.tick(timedelta(minutes=10))
        sign_up("ana@example.org")
        sign_up("ANA@example.org ")
        clock.tick(timedelta(minutes=49))
        sign_up("ana@example.org")
        assert len(mailoutbox) == 1

        clock.tick(timedelta(minutes=1))
        sign_up("ana@example.org")

    assert len(mailoutbox) == 2
    assert Subscriber.objects.count() == 1
    # Signing up again while the confirmation waits gives the same consent: one record.
    assert ConsentRecord.objects.filter(event=ConsentRecord.Event.GIVEN).count() == 1


def test_an_unsubscribed_address_signing_up_again_is_pending_and_gets_a_new_confirmation(
    sign_up, mailoutbox
):
    SubscriberFactory(email="ana@example.org", unsubscribed=True)

    sign_up("ana@example.org")

    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert len(mailoutbox) == 1
    assert CONFIRM_LINK.search(mailoutbox[0].body)


# Bots and bad input


def test_a_filled_honeypot_creates_nothing_and_gets_the_same_answer(sign_up, mailoutbox):
    response = sign_up("bot@example.org", website="https://spam.example")

    assertRedirects(response, reverse("newsletter:check-inbox"))
    assert not Subscriber.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert mailoutbox == []


def test_the_honeypot_is_out_of_the_tab_order_and_hidden_from_screen_readers(client):
    box = newsletter_box(client.get("/"))

    honeypot = re.search(r'<div class="hp-field"[^>]*>.*?</div>', box, re.S).group()
    assert 'aria-hidden="true"' in honeypot
    assert 'name="website"' in honeypot
    assert 'tabindex="-1"' in honeypot


def test_too_many_sign_ups_from_one_ip_address_get_a_429_page(sign_up, settings, mailoutbox):
    settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR = 3
    for n in range(3):
        assert sign_up(f"person{n}@example.org", REMOTE_ADDR="198.51.100.1").status_code == 302

    response = sign_up("one.more@example.org", REMOTE_ADDR="198.51.100.1")

    assert response.status_code == 429
    assertContains(response, "Too many sign-ups", status_code=429)
    assert not Subscriber.objects.filter(email="one.more@example.org").exists()
    assert len(mailoutbox) == 3
    # Another address is not held up by this one.
    assert sign_up("other@example.org", REMOTE_ADDR="198.51.100.2").status_code == 302


def test_the_rate_limit_lifts_after_an_hour(sign_up, settings):
    settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR = 1
    with freeze_time("2031-01-01 09:00") as clock:
        assert sign_up("first@example.org").status_code == 302
        assert sign_up("second@example.org").status_code == 429

        clock.tick(timedelta(hours=1, seconds=1))

        assert sign_up("second@example.org").status_code == 302


def test_without_the_consent_tick_nothing_is_saved_and_the_form_says_why(sign_up, mailoutbox):
    response = sign_up("ana@example.org", consent=False)

    assert response.status_code == 200
    assertContains(response, "Tick the box to agree to receive the newsletter.")
    assertContains(response, 'value="ana@example.org"')
    assert not Subscriber.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize("email", ["", "not-an-address", "ana@", "a" * 250 + "@example.org"])
def test_a_bad_address_is_a_form_error_and_nothing_is_saved(sign_up, mailoutbox, email):
    response = sign_up(email)

    assert response.status_code == 200
    assertContains(response, 'aria-invalid="true"')
    assertNotContains(response, "Check your inbox")
    assert not Subscriber.objects.exists()
    assert not ConsentRecord.objects.exists()
    assert mailoutbox == []


def test_an_empty_post_is_a_form_error_too(client):
    response = client.post(SUBSCRIBE_URL)

    assert response.status_code == 200
    assertContains(response, "Tick the box to agree to receive the newsletter.")
    assert not Subscriber.objects.exists()


def test_form_errors_are_tied_to_their_fields(sign_up):
    response = sign_up("not-an-address", consent=False)

    main = main_content(response)
    assert 'aria-describedby="nl-page-email-error"' in main
    assert 'id="nl-page-email-error"' in main
    assert 'aria-describedby="nl-page-consent-error"' in main
    assert 'id="nl-page-consent-error"' in main


def test_a_malformed_referer_is_recorded_as_sent_not_a_500(sign_up, client):
    client.raise_request_exception = False

    response = sign_up("ana@example.org", HTTP_REFERER="http://[::1")

    assert response.status_code == 302
    assert ConsentRecord.objects.get().source == "http://[::1"


def test_behind_the_proxy_the_visitor_not_the_proxy_is_recorded_and_rate_limited(sign_up, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    first = sign_up("ana@example.org", HTTP_X_FORWARDED_FOR="203.0.113.20", **proxy)
    second = sign_up("ben@example.org", HTTP_X_FORWARDED_FOR="203.0.113.21", **proxy)
    again = sign_up("cat@example.org", HTTP_X_FORWARDED_FOR="203.0.113.20", **proxy)

    assert [first.status_code, second.status_code, again.status_code] == [302, 302, 429]
    addresses = ConsentRecord.objects.order_by("pk").values_list("ip_address", flat=True)
    assert list(addresses) == ["203.0.113.20", "203.0.113.21"]


def test_a_teaching_session_behind_one_hospital_address_can_all_sign_up(sign_up, mailoutbox):
    # The production default: a hospital network reaches us from one address.
    for n in range(40):
        response = sign_up(f"trainee{n}@nhs.example", REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 302, n

    assert Subscriber.objects.count() == 40
    assert len(mailoutbox) == 40


def test_one_address_signed_up_from_many_networks_is_limited(sign_up, settings, mailoutbox):
    settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR = 3
    statuses = [
        sign_up(
            "Victim@Example.org" if n % 2 else "victim@example.org", REMOTE_ADDR=f"203.0.113.{n}"
        ).status_code
        for n in range(5)
    ]

    assert statuses == [302, 302, 302, 429, 429]
    assert len(mailoutbox) == 1
    # Other addresses from the same networks are not held up.
    assert sign_up("someone.else@example.org", REMOTE_ADDR="203.0.113.4").status_code == 302


def test_the_per_address_limit_lifts_after_an_hour(sign_up, settings):
    settings.NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR = 1
    with freeze_time("2031-01-01 09:00") as clock:
        assert sign_up("ana@example.org", REMOTE_ADDR="203.0.113.1").status_code == 302
        assert sign_up("ana@example.org", REMOTE_ADDR="203.0.113.2").status_code == 429

        clock.tick(timedelta(hours=1, seconds=1))

        assert sign_up("ana@example.org", REMOTE_ADDR="203.0.113.3").status_code == 302


def test_signing_up_again_while_the_confirmation_waits_adds_no_consent_record(sign_up):
    for page in ["/", "/procedures/", "/learn/"]:
        assert (
            sign_up("ana@example.org", HTTP_REFERER=f"http://testserver{page}").status_code == 302
        )

    record = ConsentRecord.objects.get()
    assert record.event == ConsentRecord.Event.GIVEN
    assert record.source == "http://testserver/"


def test_signing_up_again_after_the_link_expired_or_unsubscribing_records_consent_again(sign_up):
    with freeze_time("2031-01-01 09:00") as clock:
        sign_up("ana@example.org")
        clock.tick(timedelta(days=8))
        sign_up("ana@example.org")

    assert ConsentRecord.objects.filter(event=ConsentRecord.Event.GIVEN).count() == 2

    subscriber = SubscriberFactory(email="ben@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    ConsentRecord.objects.create(
        subscriber=subscriber, event=ConsentRecord.Event.GIVEN, wording=CONSENT_WORDING
    )
    sign_up("ben@example.org")

    assert subscriber.consent_records.filter(event=ConsentRecord.Event.GIVEN).count() == 2
