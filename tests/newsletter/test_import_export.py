"""CSV import and export of subscribers in the admin."""

import csv
import html
import io
import re

import pytest
from django.contrib.admin import helpers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.newsletter import services
from irlearn.newsletter.models import ConsentRecord, Subscriber
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:newsletter_subscriber_import")
EXPORT_URL = reverse("admin:newsletter_subscriber_export")
CHANGELIST_URL = reverse("admin:newsletter_subscriber_changelist")
HEADER = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at"]


def read_csv(response):
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def upload(content, name="list.csv"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post_import(client, content, *, name="list.csv", source="Sign-up sheet, BSIR 2025", **extra):
    return client.post(IMPORT_URL, {"file": upload(content, name), "source": source, **extra})


def many_subscribers(count):
    Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{n:05d}@example.org",
            status=Subscriber.Status.SUBSCRIBED,
        )
        for n in range(count)
    )


# Export.


def test_the_export_streams_csv_with_a_header_row(manager_client):
    SubscriberFactory(email="amara@example.org")

    response = manager_client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="newsletter-subscribers-'
    )
    rows = read_csv(response)
    assert rows[0] == HEADER
    assert rows[1][:2] == ["amara@example.org", "subscribed"]


def test_the_export_leaves_out_erased_subscribers(manager_client):
    SubscriberFactory(email="amara@example.org")
    services.subscriber_erase(subscriber=SubscriberFactory(email="gone@example.org"), actor=None)

    rows = read_csv(manager_client.get(EXPORT_URL))

    assert [row[0] for row in rows[1:]] == ["amara@example.org"]
    assert all(row[1] != "erased" for row in rows)


def test_the_export_honours_the_filters_and_search_of_the_list(manager_client):
    SubscriberFactory(email="amara@nhs.net")
    SubscriberFactory(email="ben@nhs.net", pending=True)
    SubscriberFactory(email="carla@example.org")

    subscribed = read_csv(manager_client.get(EXPORT_URL, {"status__exact": "subscribed"}))
    searched = read_csv(manager_client.get(EXPORT_URL, {"q": "nhs.net"}))
    both = read_csv(manager_client.get(EXPORT_URL, {"status__exact": "pending", "q": "nhs"}))

    assert sorted(row[0] for row in subscribed[1:]) == ["amara@nhs.net", "carla@example.org"]
    assert sorted(row[0] for row in searched[1:]) == ["amara@nhs.net", "ben@nhs.net"]
    assert [row[0] for row in both[1:]] == ["ben@nhs.net"]


def test_the_export_link_on_the_list_carries_its_filters(manager_client):
    response = manager_client.get(CHANGELIST_URL, {"status__exact": "pending", "q": "nhs"})

    link = re.search(rf'href="{EXPORT_URL}\?([^"]*)"', response.content.decode())
    assert link, "no export link on the list"
    assert QueryDict(html.unescape(link.group(1))).dict() == {
        "status__exact": "pending",
        "q": "nhs",
    }


def test_an_unknown_filter_sends_the_export_back_to_the_list(manager_client):
    response = manager_client.get(EXPORT_URL, {"nonsense__in": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith(CHANGELIST_URL)


def test_a_thousand_subscribers_export_correctly(manager_client):
    many_subscribers(1000)

    rows = read_csv(manager_client.get(EXPORT_URL))

    assert rows[0] == HEADER
    assert len(rows) == 1001
    assert {row[0] for row in rows[1:]} == {f"reader{n:05d}@example.org" for n in range(1000)}
    assert {row[1] for row in rows[1:]} == {"subscribed"}


def test_the_export_queries_do_not_grow_with_the_number_of_rows(manager_client):
    """The rows come from one cursor read in chunks, never one query per subscriber."""
    many_subscribers(10)
    with CaptureQueriesContext(connection) as few:
        assert len(read_csv(manager_client.get(EXPORT_URL))) == 11
    Subscriber.objects.all().delete()
    many_subscribers(1000)
    with CaptureQueriesContext(connection) as many:
        assert len(read_csv(manager_client.get(EXPORT_URL))) == 1001

    assert len(many) == len(few)


def test_the_export_action_exports_only_the_selected_subscribers(manager_client):
    chosen = SubscriberFactory(email="amara@example.org")
    SubscriberFactory(email="ben@example.org")

    response = manager_client.post(
        CHANGELIST_URL,
        {"action": "export_csv", "index": 0, helpers.ACTION_CHECKBOX_NAME: [chosen.pk]},
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert [row[0] for row in read_csv(response)[1:]] == ["amara@example.org"]


# Import.


def test_the_import_page_asks_for_a_file_and_a_consent_source(manager_client):
    response = manager_client.get(IMPORT_URL)

    assert response.status_code == 200
    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, 'name="file"')
    assertContains(response, 'name="source"')
    assertContains(response, 'name="prior_opt_in"')


def test_importing_creates_pending_subscribers_and_sends_them_a_confirmation(
    manager_client, manager, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_import(
            manager_client, "Email\nAmara@NHS.net\nben@example.org\n", name="bsir.csv"
        )

    assert response.status_code == 200
    assertContains(response, "0 subscribed, 2 asked to confirm")
    new = Subscriber.objects.order_by("email")
    assert [(s.email, s.status) for s in new] == [
        ("amara@nhs.net", Subscriber.Status.PENDING),
        ("ben@example.org", Subscriber.Status.PENDING),
    ]
    assert sorted(message.to[0] for message in mailoutbox) == ["amara@nhs.net", "ben@example.org"]
    assert all("/newsletter/confirm/" in message.body for message in mailoutbox)
    record = ConsentRecord.objects.get(subscriber__email="amara@nhs.net")
    assert record.event == ConsentRecord.Event.IMPORTED
    assert "Sign-up sheet, BSIR 2025" in record.wording
    assert "bsir.csv" in record.source
    assert record.actor == manager


def test_importing_with_prior_opt_in_subscribes_at_once_without_email(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_import(manager_client, "amara@nhs.net\n", prior_opt_in="on")

    assertContains(response, "1 subscribed, 0 asked to confirm")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.SUBSCRIBED
    assert subscriber.confirmed_at is not None
    assert mailoutbox == []
    assert subscriber.consent_records.get().wording.startswith("Prior opt-in")


def test_the_import_skips_and_reports_invalid_suppressed_and_duplicate_addresses(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory(email="known@example.org")
    services.subscriber_erase(subscriber=SubscriberFactory(email="gone@example.org"), actor=None)
    content = (
        "email\n"
        "new@example.org\n"
        "not-an-address\n"
        "NEW@example.org\n"
        "known@example.org\n"
        "gone@example.org\n"
        "\n"
        "also broken@\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = post_import(manager_client, content)

    assertContains(
        response,
        "0 subscribed, 1 asked to confirm, 2 already known, 1 suppressed (erased), 2 invalid",
    )
    # The report page lists every invalid line with its number.
    assertContains(response, "<td>3</td><td>not-an-address</td>", html=True)
    assertContains(response, "<td>8</td><td>also broken@</td>", html=True)
    assert [m.to for m in mailoutbox] == [["new@example.org"]]
    assert set(Subscriber.objects.exclude(email=None).values_list("email", flat=True)) == {
        "known@example.org",
        "new@example.org",
    }


def test_the_import_refuses_an_empty_consent_source(manager_client, mailoutbox):
    for source in ["", "   "]:
        response = post_import(manager_client, "amara@nhs.net\n", source=source)

        assert response.status_code == 200
        assertContains(response, "This field is required.")
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


BAD_UPLOADS = {
    "not-csv-extension": ("list.xlsx", b"amara@nhs.net\n", "Upload a .csv file"),
    "spreadsheet-renamed": (
        "list.csv",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xa4\xfa\xc7\xd3",
        "not UTF-8 text",
    ),
    "latin-1": ("list.csv", "zoë@example.org\n".encode("latin-1"), "not UTF-8 text"),
    "binary-zeros": ("list.csv", b"amara@nhs.net\x00\x00\x00\n", "binary data"),
    "empty": ("list.csv", b"", "The submitted file is empty."),
    "too-large": ("list.csv", b"a@example.org\n" * (5 * 1024 * 1024 // 14 + 1), "at most 5"),
    "field-too-long": ("list.csv", b'"' + b"a" * 200_000 + b'"\n', "cannot be read"),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_the_import_refuses_files_it_cannot_read_with_a_message(manager_client, case):
    name, content, message = BAD_UPLOADS[case]

    response = post_import(manager_client, content, name=name)

    assert response.status_code == 200
    assertContains(response, "Please correct the errors below.")
    assertContains(response, message)
    assert not Subscriber.objects.exists()


def test_the_import_needs_a_file(manager_client):
    response = manager_client.post(IMPORT_URL, {"source": "Meeting"})

    assertContains(response, "This field is required.")


def test_a_csv_saved_by_excel_with_a_byte_order_mark_imports(manager_client):
    response = post_import(manager_client, "\ufeffemail\r\namara@nhs.net\r\n".encode())

    assertContains(response, "1 asked to confirm")
    assertNotContains(response, "Lines that are not valid email addresses")
    assert Subscriber.objects.get().email == "amara@nhs.net"
