"""Deleting an account asks what becomes of a newsletter subscription under its address, and does
it in the same step: the subscription is not the account's, so it would otherwise stay."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.accounts.models import User
from irlearn.newsletter.models import ConsentRecord, Subscriber, Suppression, email_hash
from irlearn.newsletter.services import subscriber_subscribe
from tests.factories import PASSWORD, SubscriberFactory

pytestmark = pytest.mark.django_db

DELETE_URL = reverse("accounts:delete")


def test_the_deletion_page_says_the_subscription_stays_and_asks_what_to_do(learner_client, learner):
    SubscriberFactory(email=learner.email.upper())

    response = learner_client.get(DELETE_URL)

    assertContains(response, f"You also get the IRLearn newsletter at {learner.email.upper()}")
    assertContains(response, "Deleting your account does not unsubscribe you")
    for option in ["erase", "unsubscribe", "keep"]:
        assertContains(response, f'value="{option}"')
    assertNotContains(response, "checked")  # nobody is unsubscribed or kept by default


def test_without_a_subscription_the_page_asks_nothing_about_the_newsletter(learner_client):
    SubscriberFactory()  # someone else's

    response = learner_client.get(DELETE_URL)

    assert list(response.context["form"].fields) == ["password"]
    assertNotContains(response, "What should happen")


def test_a_pending_sign_up_and_the_record_of_a_past_one_are_asked_about_too(client):
    from tests.factories import UserFactory

    pending, former = UserFactory(), UserFactory()
    SubscriberFactory(email=pending.email, pending=True)
    SubscriberFactory(email=former.email, unsubscribed=True)

    client.force_login(pending)
    assertContains(client.get(DELETE_URL), "not yet confirmed")
    client.force_login(former)
    response = client.get(DELETE_URL)
    assertContains(response, "record of your past subscription")
    assertNotContains(response, 'value="unsubscribe"')


def test_not_choosing_is_a_form_error_and_deletes_nothing(learner_client, learner):
    SubscriberFactory(email=learner.email)

    response = learner_client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors["newsletter"] == [
        "Choose what happens to your newsletter subscription."
    ]
    assert User.objects.filter(pk=learner.pk).exists()
    assert Subscriber.objects.get().is_subscribed


def test_a_wrong_password_changes_neither(learner_client, learner):
    SubscriberFactory(email=learner.email)

    learner_client.post(DELETE_URL, {"password": "wrong", "newsletter": "erase"})

    assert User.objects.filter(pk=learner.pk).exists()
    assert Subscriber.objects.get().is_subscribed


def test_unsubscribing_with_the_account_records_the_withdrawal(learner_client, learner):
    SubscriberFactory(email=learner.email)

    response = learner_client.post(
        DELETE_URL, {"password": PASSWORD, "newsletter": "unsubscribe"}, REMOTE_ADDR="192.0.2.8"
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=learner.pk).exists()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    record = subscriber.consent_records.get(event=ConsentRecord.Event.WITHDRAWN)
    assert record.source == "http://testserver" + DELETE_URL
    assert record.ip_address == "192.0.2.8"
    assert record.wording.startswith("Unsubscribe me")


def test_erasing_with_the_account_forgets_the_address_for_good(learner_client, learner):
    SubscriberFactory(email=learner.email)

    learner_client.post(DELETE_URL, {"password": PASSWORD, "newsletter": "erase"})

    assert not User.objects.filter(pk=learner.pk).exists()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ERASED
    assert subscriber.email is None
    assert Suppression.objects.filter(email_hash=email_hash(learner.email)).exists()
    assert subscriber.consent_records.last().source == "account deletion, at the person's request"
    # The address can no longer be signed up.
    assert subscriber_subscribe(email=learner.email, wording="", source="", ip_address=None) is None


def test_keeping_the_subscription_keeps_it(learner_client, learner):
    SubscriberFactory(email=learner.email)

    learner_client.post(DELETE_URL, {"password": PASSWORD, "newsletter": "keep"})

    assert not User.objects.filter(pk=learner.pk).exists()
    assert Subscriber.objects.get().is_subscribed
