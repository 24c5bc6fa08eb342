"""The "download my data" file holds the newsletter subscriptions under the account's addresses and
their consent history (the newsletter registers its part: irlearn/accounts imports nothing of it).
"""

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from freezegun import freeze_time

from irlearn.newsletter.models import ConsentRecord, Subscriber
from tests.factories import PASSWORD, SubscriberFactory, UserFactory

pytestmark = pytest.mark.django_db

EXPORT_URL = reverse("accounts:data-export")
CONFIRM_LINK = re.compile(r"https://irlearn\.example(/newsletter/confirm/[^/\s\"<>]+/)")
EXPORT_QUERIES = 10


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


def my_data(client):
    response = client.get(EXPORT_URL)
    assert response.status_code == 200
    return json.loads(response.content)


def test_my_data_holds_my_newsletter_subscription_and_its_consent_history(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email="ana.reader@example.org")
    with freeze_time("2031-05-06 07:08:09") as clock:
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                "/newsletter/",
                {"email": "ana.reader@example.org", "consent": "on"},
                REMOTE_ADDR="203.0.113.7",
            )
        confirm = CONFIRM_LINK.search(mailoutbox[-1].body).group(1)
        clock.move_to("2031-05-06 08:00:00")
        client.post(confirm)

        data = my_data(client)

    [subscription] = data["newsletter"]
    assert subscription["email"] == "ana.reader@example.org"
    assert subscription["status"] == "Subscribed"
    assert subscription["signed_up_at"] == "2031-05-06T07:08:09+00:00"
    assert subscription["confirmed_at"] == "2031-05-06T08:00:00+00:00"
    assert subscription["unsubscribed_at"] is None
    given, confirmed = subscription["consent_history"]
    assert given["event"] == "Consent given (form)"
    assert given["at"] == "2031-05-06T07:08:09+00:00"
    assert given["ip_address"] == "203.0.113.7"
    stored = ConsentRecord.objects.get(event=ConsentRecord.Event.GIVEN)
    assert given["wording"] == stored.wording != ""
    assert given["source"] == stored.source
    assert confirmed["event"] == "Confirmed (double opt-in)"
    assert confirmed["at"] == "2031-05-06T08:00:00+00:00"


def test_my_data_holds_a_past_subscription_under_my_other_address(client):
    user = UserFactory(email="ben@example.org")
    EmailAddress.objects.create(user=user, email="ben.old@example.org", verified=True)
    subscriber = SubscriberFactory(email="Ben.Old@Example.org", unsubscribed=True)
    ConsentRecord.objects.create(
        subscriber=subscriber,
        event=ConsentRecord.Event.WITHDRAWN,
        wording="Unsubscribe me",
        source="https://irlearn.example/newsletter/unsubscribe/",
    )
    client.force_login(user)

    [subscription] = my_data(client)["newsletter"]

    assert subscription["email"] == "Ben.Old@Example.org"
    assert subscription["status"] == "Unsubscribed"
    assert [record["event"] for record in subscription["consent_history"]] == [
        "Withdrawn (unsubscribed)"
    ]


def test_my_data_without_a_subscription_says_so_with_an_empty_list(learner_client):
    assert my_data(learner_client)["newsletter"] == []


def test_my_data_never_holds_another_persons_subscription_or_an_erased_one(learner_client):
    SubscriberFactory(email="someone.else@example.org")
    SubscriberFactory(email=None, status=Subscriber.Status.ERASED, confirmed_at=None)

    data = my_data(learner_client)

    assert data["newsletter"] == []
    assert "someone.else@example.org" not in json.dumps(data)


def test_my_data_query_budget_with_several_subscriptions(client, django_assert_max_num_queries):
    user = UserFactory(email="cat@example.org")
    for n in range(3):
        address = f"cat{n}@example.org"
        EmailAddress.objects.create(user=user, email=address, verified=True)
        subscriber = SubscriberFactory(email=address)
        for event in (ConsentRecord.Event.GIVEN, ConsentRecord.Event.CONFIRMED):
            ConsentRecord.objects.create(subscriber=subscriber, event=event, source="form")
    client.force_login(user)

    with django_assert_max_num_queries(EXPORT_QUERIES):
        data = my_data(client)

    assert len(data["newsletter"]) == 3
    assert all(len(s["consent_history"]) == 2 for s in data["newsletter"])


def test_deleting_the_account_and_erasing_the_subscription_leaves_it_out_of_a_new_export(
    client, mailoutbox
):
    user = UserFactory(email="dee@example.org")
    SubscriberFactory(email="dee@example.org")
    client.force_login(user)
    assert my_data(client)["newsletter"]

    client.post(
        reverse("accounts:delete"), {"password": PASSWORD, "newsletter": "erase"}, follow=True
    )

    assert not Subscriber.objects.filter(email__iexact="dee@example.org").exists()
    # The same address signs up again as a new account: nothing of the old subscription shows.
    again = UserFactory(email="dee@example.org")
    client.force_login(again)
    assert my_data(client)["newsletter"] == []
