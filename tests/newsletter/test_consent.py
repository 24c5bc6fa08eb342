"""Consent records prove what each person agreed to, under which privacy policy, and when."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.newsletter import scheduling, services
from irlearn.newsletter.models import ConsentRecord, Subscriber
from irlearn.pages.models import PrivacyPolicy
from tests.factories import IssueFactory

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https://irlearn\.example(/newsletter/confirm/[^/\s\"<>]+/)")
UNSUBSCRIBE_LINK = re.compile(r"https://irlearn\.example(/newsletter/unsubscribe/[^/\s\"<>]+/)")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


@pytest.fixture
def journey(client, mailoutbox, django_capture_on_commit_callbacks):
    """Steps a reader takes, each through the site or the emails it sends."""

    class Journey:
        def sign_up(self, email="ana@example.org", **extra):
            with django_capture_on_commit_callbacks(execute=True):
                client.post("/newsletter/", {"email": email, "consent": "on"}, **extra)

        def confirm(self, **extra):
            client.post(CONFIRM_LINK.search(mailoutbox[-1].body).group(1), **extra)

        def unsubscribe(self, **extra):
            issue = IssueFactory()
            with django_capture_on_commit_callbacks(execute=True):
                scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=True)
            path = UNSUBSCRIBE_LINK.search(mailoutbox[-1].body).group(1)
            Client().post(
                path,
                "List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded",
                **extra,
            )

    return Journey()


def publish_policy(version, body="We changed how long we keep logs.", **fields):
    return PrivacyPolicy.objects.create(
        version=version, body=body, published_at=fields.pop("published_at", timezone.now())
    )


def snapshot(records):
    return [
        (r.pk, r.event, r.created_at, r.policy_id, r.wording, r.source, r.ip_address)
        for r in records
    ]


def test_every_event_is_recorded_with_time_policy_wording_source_and_ip(journey):
    with freeze_time("2031-04-01 08:00") as clock:
        journey.sign_up(HTTP_REFERER="http://testserver/about/", REMOTE_ADDR="192.0.2.1")
        clock.tick(dt.timedelta(hours=2))
        journey.confirm(REMOTE_ADDR="192.0.2.2")
        clock.tick(dt.timedelta(days=40))
        journey.unsubscribe(REMOTE_ADDR="192.0.2.3")

    policy = PrivacyPolicy.objects.current()
    records = list(Subscriber.objects.get().consent_records.all())
    assert [(r.event, r.created_at.isoformat(), r.policy, r.ip_address) for r in records] == [
        ("given", "2031-04-01T08:00:00+00:00", policy, "192.0.2.1"),
        ("confirmed", "2031-04-01T10:00:00+00:00", policy, "192.0.2.2"),
        ("withdrawn", "2031-05-11T10:00:00+00:00", policy, "192.0.2.3"),
    ]
    given, confirmed, withdrawn = records
    assert given.wording == services.CONSENT_WORDING
    assert given.source == "http://testserver/about/"
    assert confirmed.wording == services.CONFIRM_WORDING
    assert urlsplit(confirmed.source).path.startswith("/newsletter/confirm/")
    assert withdrawn.wording == services.ONE_CLICK_UNSUBSCRIBE_WORDING
    assert urlsplit(withdrawn.source).path.startswith("/newsletter/unsubscribe/")


def test_consent_records_are_append_only(journey):
    journey.sign_up()
    before = snapshot(ConsentRecord.objects.all())

    journey.sign_up()
    journey.confirm()
    journey.unsubscribe()
    journey.unsubscribe()
    journey.sign_up()

    after = snapshot(ConsentRecord.objects.all())
    assert after[: len(before)] == before
    # The second sign-up, while the confirmation waited, gave no new consent: no record.
    assert [row[1] for row in after] == ["given", "confirmed", "withdrawn", "given"]


def test_a_subscriber_who_signs_up_again_keeps_the_history(journey, mailoutbox):
    with freeze_time("2031-01-01") as clock:
        journey.sign_up()
        journey.confirm()
        clock.tick(dt.timedelta(days=60))
        journey.unsubscribe()
        clock.tick(dt.timedelta(days=60))
        journey.sign_up()
        journey.confirm()

    events = Subscriber.objects.get().consent_records.values_list("event", flat=True)
    assert list(events) == ["given", "confirmed", "withdrawn", "given", "confirmed"]


# The privacy policy


def test_the_privacy_page_shows_the_current_version_and_its_date(client):
    policy = PrivacyPolicy.objects.current()
    policy.published_at = dt.datetime(2025, 9, 14, 9, 30, tzinfo=dt.UTC)
    policy.save()

    response = client.get("/privacy/")

    assertContains(response, "Version 1, in force since")
    assertContains(response, '<time datetime="2025-09-14T10:30:00+01:00">14 September 2025</time>')


def test_publishing_version_2_shows_it_on_the_privacy_page(client):
    with freeze_time("2031-06-01 12:00"):
        publish_policy(2, body="## What changed\n\nWe now keep server logs for 30 days.")

        response = client.get("/privacy/")

    assertContains(response, "Version 2, in force since")
    assertContains(response, "1 June 2031")
    assertContains(response, "We now keep server logs for 30 days.")
    assertNotContains(response, "Version 1,")


def test_a_draft_or_future_version_is_not_in_force_yet(client):
    PrivacyPolicy.objects.create(version=2, body="Draft.")
    publish_policy(3, body="Future.", published_at=timezone.now() + dt.timedelta(days=1))

    response = client.get("/privacy/")

    assertContains(response, "Version 1, in force since")
    assertNotContains(response, "Draft.")
    assertNotContains(response, "Future.")


def test_new_consent_records_point_at_the_version_in_force(journey):
    first = PrivacyPolicy.objects.current()
    journey.sign_up("ana@example.org")

    second = publish_policy(2)
    journey.confirm()
    journey.sign_up("ben@example.org")

    ana = Subscriber.objects.get(email="ana@example.org")
    ben = Subscriber.objects.get(email="ben@example.org")
    assert [(r.event, r.policy) for r in ana.consent_records.all()] == [
        ("given", first),
        ("confirmed", second),
    ]
    assert [(r.event, r.policy) for r in ben.consent_records.all()] == [("given", second)]
    assert second.version == 2
