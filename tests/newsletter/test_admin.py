"""Subscribers and consent records in the admin, as the Subscriber managers group uses them."""

import pytest
from django.contrib.admin import helpers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.newsletter import services
from irlearn.newsletter.models import ConsentRecord, Subscriber, Suppression, email_hash
from tests.factories import (
    ContentEditorFactory,
    IssueFactory,
    SubscriberFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:newsletter_subscriber_changelist")
CONSENT_URL = reverse("admin:newsletter_consentrecord_changelist")
SELECTED = helpers.ACTION_CHECKBOX_NAME


def change_url(subscriber):
    return reverse("admin:newsletter_subscriber_change", args=[subscriber.pk])


def signed_up(email, ip="203.0.113.7"):
    """A subscriber who signed up through the form (so there is a consent record with an IP)."""
    subscriber = services.subscriber_subscribe(
        email=email,
        wording=services.CONSENT_WORDING,
        source="https://irlearn.example/procedures/",
        ip_address=ip,
    )
    subscriber.status = Subscriber.Status.SUBSCRIBED
    subscriber.save(update_fields=["status"])
    return subscriber


def erased(email="gone@example.org"):
    subscriber = SubscriberFactory(email=email)
    return services.subscriber_erase(subscriber=subscriber, actor=None)


def run_action(client, action, subscribers, **extra):
    return client.post(
        CHANGELIST_URL,
        {"action": action, "index": 0, SELECTED: [s.pk for s in subscribers], **extra},
    )


# The list.


def test_the_status_filter_shows_only_subscribers_in_that_state(manager_client):
    SubscriberFactory(email="pending@example.org", pending=True)
    SubscriberFactory(email="subscribed@example.org")
    SubscriberFactory(email="left@example.org", unsubscribed=True)
    erased()

    for status, shown in [
        ("pending", "pending@example.org"),
        ("subscribed", "subscribed@example.org"),
        ("unsubscribed", "left@example.org"),
        ("erased", "(erased #"),
    ]:
        response = manager_client.get(CHANGELIST_URL, {"status__exact": status})
        assert response.status_code == 200
        assertContains(response, shown)
        others = {"pending@example.org", "subscribed@example.org", "left@example.org"} - {shown}
        for email in others:
            assertNotContains(response, email)


def test_the_list_offers_every_status_as_a_filter(manager_client):
    response = manager_client.get(CHANGELIST_URL)

    for label in ["Pending confirmation", "Subscribed", "Unsubscribed", "Erased"]:
        assertContains(response, label)


def test_search_finds_subscribers_by_part_of_their_email(manager_client):
    SubscriberFactory(email="amara.okafor@nhs.net")
    SubscriberFactory(email="ben.hughes@example.org")

    response = manager_client.get(CHANGELIST_URL, {"q": "okafor"})

    assertContains(response, "amara.okafor@nhs.net")
    assertNotContains(response, "ben.hughes@example.org")


def test_the_list_shows_the_dates_and_a_date_hierarchy(manager_client):
    SubscriberFactory(email="left@example.org", unsubscribed=True)

    response = manager_client.get(CHANGELIST_URL)

    for column in ["Created at", "Confirmed at", "Unsubscribed at"]:
        assertContains(response, column)
    assertContains(response, 'class="toplinks"')


def test_the_list_has_no_add_button_but_links_to_the_import(manager_client):
    response = manager_client.get(CHANGELIST_URL)

    assertContains(response, reverse("admin:newsletter_subscriber_import"))
    assertNotContains(response, reverse("admin:newsletter_subscriber_add"))
    assert manager_client.get(reverse("admin:newsletter_subscriber_add")).status_code == 403


def test_the_list_queries_do_not_grow_with_the_number_of_subscribers(manager_client):
    SubscriberFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        assert manager_client.get(CHANGELIST_URL).status_code == 200
    SubscriberFactory.create_batch(60)
    with CaptureQueriesContext(connection) as many:
        assert manager_client.get(CHANGELIST_URL).status_code == 200

    assert len(many) == len(few)


# One subscriber's page.


def test_the_subscriber_page_is_read_only_and_shows_the_consent_history(manager_client):
    subscriber = signed_up("amara@example.org")

    response = manager_client.get(change_url(subscriber))

    assert response.status_code == 200
    assertContains(response, "amara@example.org")
    assertContains(response, "Consent given (form)")
    assertContains(response, "https://irlearn.example/procedures/")
    assertContains(response, "203.0.113.7")
    assertNotContains(response, 'name="email"')
    assertNotContains(response, 'name="status"')
    assertNotContains(response, 'name="_save"')
    # The consent history cannot be added to or deleted from here.
    assertContains(response, 'name="consent_records-MAX_NUM_FORMS" value="0"')
    assertNotContains(response, "-DELETE")


def test_posting_the_subscriber_form_changes_nothing(manager_client):
    subscriber = SubscriberFactory(email="amara@example.org")

    response = manager_client.post(
        change_url(subscriber), {"email": "someone.else@example.org", "status": "subscribed"}
    )

    assert response.status_code == 403
    subscriber.refresh_from_db()
    assert subscriber.email == "amara@example.org"


def test_subscribers_cannot_be_deleted_only_erased(manager_client):
    subscriber = SubscriberFactory()

    response = manager_client.get(CHANGELIST_URL)

    assertNotContains(response, "delete_selected")
    assert (
        manager_client.get(
            reverse("admin:newsletter_subscriber_delete", args=[subscriber.pk])
        ).status_code
        == 403
    )


# Unsubscribe.


def test_the_unsubscribe_action_unsubscribes_and_records_who_did_it(manager_client, manager):
    chosen = [SubscriberFactory(), SubscriberFactory(pending=True)]
    untouched = SubscriberFactory()

    response = run_action(manager_client, "unsubscribe", chosen)

    assert response.status_code == 302
    for subscriber in chosen:
        subscriber.refresh_from_db()
        assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
        assert subscriber.unsubscribed_at is not None
        record = subscriber.consent_records.get(event=ConsentRecord.Event.WITHDRAWN)
        assert record.source == f"admin user #{manager.pk}"
        assert record.actor == manager
    untouched.refresh_from_db()
    assert untouched.status == Subscriber.Status.SUBSCRIBED
    assertContains(manager_client.get(response["Location"]), "Unsubscribed 2 addresses")


def test_unsubscribing_an_unsubscribed_address_records_nothing_new(manager_client):
    subscriber = SubscriberFactory(unsubscribed=True)

    run_action(manager_client, "unsubscribe", [subscriber])

    assert not subscriber.consent_records.exists()


def test_one_subscriber_can_be_unsubscribed_from_their_own_page(manager_client):
    subscriber = SubscriberFactory()

    page = manager_client.get(change_url(subscriber))
    assertContains(page, 'value="unsubscribe"')
    response = manager_client.post(
        change_url(subscriber),
        {"CHANGE_FORM-action": "unsubscribe", "index": 0, SELECTED: [subscriber.pk]},
    )

    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


# Erase.


def test_erasing_asks_for_confirmation_first(manager_client):
    subscriber = signed_up("amara@example.org")

    response = run_action(manager_client, "erase", [subscriber])

    assert response.status_code == 200
    assertContains(response, "cannot be undone")
    assertContains(response, "amara@example.org")
    assertContains(response, 'name="post" value="yes"')
    subscriber.refresh_from_db()
    assert subscriber.email == "amara@example.org"
    assert not Suppression.objects.exists()


def test_erasing_forgets_the_address_and_ips_but_keeps_an_anonymised_record(
    manager_client, manager
):
    subscriber = signed_up("amara@example.org")
    other = signed_up("ben@example.org", ip="198.51.100.4")

    response = run_action(manager_client, "erase", [subscriber], post="yes")

    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.email is None
    assert subscriber.status == Subscriber.Status.ERASED
    assert subscriber.erased_at is not None
    assert Suppression.objects.filter(email_hash=email_hash("amara@example.org")).exists()
    records = list(subscriber.consent_records.all())
    assert [r.event for r in records] == [ConsentRecord.Event.GIVEN, ConsentRecord.Event.ERASED]
    assert all(r.ip_address is None for r in records)
    assert records[-1].actor == manager
    assert not ConsentRecord.objects.filter(source__icontains="amara").exists()
    assert not ConsentRecord.objects.filter(wording__icontains="amara").exists()
    # Nobody else is touched.
    other.refresh_from_db()
    assert other.email == "ben@example.org"
    assert other.consent_records.get().ip_address == "198.51.100.4"
    listing = manager_client.get(CHANGELIST_URL)
    assertContains(listing, "Erased 1 subscriber")
    assertNotContains(listing, "amara@example.org")


def test_one_subscriber_can_be_erased_from_their_own_page_after_confirming(manager_client):
    subscriber = SubscriberFactory(email="amara@example.org")
    data = {"CHANGE_FORM-action": "erase", "index": 0, SELECTED: [subscriber.pk]}

    confirmation = manager_client.post(change_url(subscriber), data)
    assertContains(confirmation, 'name="CHANGE_FORM-action" value="erase"')
    subscriber.refresh_from_db()
    assert subscriber.email == "amara@example.org"

    del data["index"]
    response = manager_client.post(change_url(subscriber), {**data, "post": "yes"})

    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ERASED


def test_an_erased_address_is_skipped_by_a_later_import(manager_client):
    run_action(manager_client, "erase", [SubscriberFactory(email="amara@example.org")], post="yes")

    response = manager_client.post(
        reverse("admin:newsletter_subscriber_import"),
        {
            "file": SimpleUploadedFile("list.csv", b"email\nAmara@Example.org\n"),
            "source": "Sign-up sheet, BSIR 2025",
            "prior_opt_in": "on",
        },
    )

    assertContains(response, "1 suppressed (erased)")
    assert not Subscriber.objects.filter(email__iexact="amara@example.org").exists()


def test_an_erased_address_that_signs_up_again_is_sent_nothing(
    client, manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    run_action(manager_client, "erase", [SubscriberFactory(email="amara@example.org")], post="yes")
    manager_client.logout()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("newsletter:subscribe"),
            {"email": "amara@example.org", "consent": "on", "website": ""},
        )

    assert response.status_code == 302  # the same "check your inbox" as for anyone
    assert mailoutbox == []
    assert not Subscriber.objects.filter(email__iexact="amara@example.org").exists()


# Consent records: evidence that nobody may alter.


def test_consent_records_can_be_read_filtered_and_searched(manager_client):
    signed_up("amara@example.org")
    left = SubscriberFactory(email="ben@example.org")
    services.subscriber_unsubscribe(subscriber=left, source="one-click")

    everything = manager_client.get(CONSENT_URL)
    withdrawn = manager_client.get(CONSENT_URL, {"event__exact": "withdrawn"})
    searched = manager_client.get(CONSENT_URL, {"q": "amara"})

    assertContains(everything, "amara@example.org")
    assertContains(everything, "ben@example.org")
    assertContains(withdrawn, "ben@example.org")
    assertNotContains(withdrawn, "amara@example.org")
    assertContains(searched, "amara@example.org")
    assertNotContains(searched, "ben@example.org")


@pytest.mark.parametrize("factory", [SubscriberManagerFactory, SuperuserFactory])
def test_nobody_can_add_change_or_delete_a_consent_record(client, factory):
    record = signed_up("amara@example.org").consent_records.get()
    client.force_login(factory())
    record_url = reverse("admin:newsletter_consentrecord_change", args=[record.pk])

    listing = client.get(CONSENT_URL)
    page = client.get(record_url)
    change = client.post(record_url, {"source": "forged", "event": "confirmed"})
    delete = client.post(
        reverse("admin:newsletter_consentrecord_delete", args=[record.pk]), {"post": "yes"}
    )
    bulk_delete = client.post(
        CONSENT_URL, {"action": "delete_selected", "index": 0, SELECTED: [record.pk], "post": "yes"}
    )
    add = client.get(reverse("admin:newsletter_consentrecord_add"))

    assert listing.status_code == 200
    assertNotContains(listing, reverse("admin:newsletter_consentrecord_add"))
    assert page.status_code == 200
    assertContains(page, "https://irlearn.example/procedures/")
    assertNotContains(page, 'name="_save"')
    assertNotContains(page, "deletelink")
    assert change.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert bulk_delete.status_code in (200, 302)
    record.refresh_from_db()
    assert record.source == "https://irlearn.example/procedures/"
    assert record.event == ConsentRecord.Event.GIVEN


def test_the_consent_list_queries_do_not_grow_with_the_number_of_records(manager_client):
    signed_up("first@example.org")
    with CaptureQueriesContext(connection) as few:
        assert manager_client.get(CONSENT_URL).status_code == 200
    for n in range(30):
        signed_up(f"reader{n}@example.org")
    with CaptureQueriesContext(connection) as many:
        assert manager_client.get(CONSENT_URL).status_code == 200

    assert len(many) == len(few)


# Deliveries: for reading only.


def test_deliveries_can_be_read_but_not_added(manager_client):
    assert manager_client.get(reverse("admin:newsletter_delivery_changelist")).status_code == 200
    assert manager_client.get(reverse("admin:newsletter_delivery_add")).status_code == 403


# The permission boundary.


def test_content_editors_are_refused_every_newsletter_admin_page(client):
    subscriber = signed_up("amara@example.org")
    record = subscriber.consent_records.get()
    issue = IssueFactory()
    client.force_login(ContentEditorFactory())

    gets = [
        CHANGELIST_URL,
        change_url(subscriber),
        reverse("admin:newsletter_subscriber_import"),
        reverse("admin:newsletter_subscriber_export"),
        CONSENT_URL,
        reverse("admin:newsletter_consentrecord_change", args=[record.pk]),
        reverse("admin:newsletter_issue_changelist"),
        reverse("admin:newsletter_issue_add"),
        reverse("admin:newsletter_issue_change", args=[issue.pk]),
        reverse("admin:newsletter_issue_preview", args=[issue.pk]),
        reverse("admin:newsletter_delivery_changelist"),
    ]
    posts = [
        (CHANGELIST_URL, {"action": "erase", "index": 0, SELECTED: [subscriber.pk], "post": "yes"}),
        (
            reverse("admin:newsletter_subscriber_import"),
            {"file": SimpleUploadedFile("a.csv", b"x@example.org\n"), "source": "Meeting"},
        ),
        (reverse("admin:newsletter_issue_send_test", args=[issue.pk]), {}),
        (reverse("admin:newsletter_issue_send", args=[issue.pk]), {"_send_now": "1"}),
    ]

    for url in gets:
        assert client.get(url).status_code == 403, url
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    subscriber.refresh_from_db()
    assert subscriber.email == "amara@example.org"
    assert Subscriber.objects.count() == 1
