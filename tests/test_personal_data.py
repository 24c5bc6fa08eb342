"""Nothing of a person is left in any table once their account is deleted or their newsletter
address erased: not as written, not in any case, and not inside anything that decodes to it
(signed links, sessions, task arguments). The same on SQLite and PostgreSQL."""

import re

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from irlearn.accounts.models import User
from irlearn.newsletter import scheduling, tokens
from irlearn.newsletter.models import ConsentRecord, Delivery, Subscriber
from tests.dump import rows_holding
from tests.factories import (
    PASSWORD,
    IssueFactory,
    SubscriberFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
)
from tests.taskqueue import run_worker, use_database_queue

pytestmark = pytest.mark.django_db

ADDRESS = "Zara.Quill@Example.org"
NAME = "Zara Quillfeather"
LINK = re.compile(
    r"https?://[^/\s]+(/(?:accounts/confirm-email|accounts/password/reset/key|newsletter/confirm)"
    r"/[^/\s\"<>]+/)"
)


@pytest.fixture(autouse=True)
def database_task_queue(settings, monkeypatch):
    use_database_queue(settings, monkeypatch)


def last_link(mailoutbox):
    return LINK.search(mailoutbox[-1].body).group(1)


def sign_up_for_the_newsletter(client, address, capture):
    with capture(execute=True):
        client.post(
            "/newsletter/",
            {"email": address, "consent": "on"},
            HTTP_REFERER="http://testserver/about/",
        )


def test_a_deleted_account_leaves_nothing_of_the_person_in_any_table(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    # Staff add the account in the admin (a log entry named after the person).
    admin = Client()
    admin.force_login(SuperuserFactory())
    admin.post(
        reverse("admin:accounts_user_add"),
        {
            "email": ADDRESS,
            "full_name": NAME,
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    # The person verifies their address, logs in, asks for a password reset, and subscribes to
    # the newsletter with the same address.
    client.post(reverse("account_login"), {"login": ADDRESS, "password": PASSWORD})
    run_worker()
    client.post(last_link(mailoutbox))
    assert client.post(reverse("account_login"), {"login": ADDRESS, "password": PASSWORD}).url
    client.post(reverse("account_reset_password"), {"email": ADDRESS})
    sign_up_for_the_newsletter(client, ADDRESS, django_capture_on_commit_callbacks)
    run_worker()
    client.post(last_link(mailoutbox))
    assert Subscriber.objects.get().is_subscribed
    # A reset asked for just before the deletion is still waiting in the queue.
    client.post(reverse("account_reset_password"), {"email": ADDRESS})
    assert rows_holding(ADDRESS, NAME)

    response = client.post(
        reverse("accounts:delete"), {"password": PASSWORD, "newsletter": "erase"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(full_name=NAME).exists()
    assert rows_holding(ADDRESS, NAME) == []


def test_an_erased_subscriber_leaves_no_address_in_any_table(
    client, mailoutbox, smtp_server, settings, django_capture_on_commit_callbacks
):
    address = "ana.erased@example.org"
    # Signed up, confirmed, sent an issue that her mail server refused, then unsubscribed.
    sign_up_for_the_newsletter(client, address, django_capture_on_commit_callbacks)
    run_worker()
    confirm = smtp_server.messages()[-1].get_body(("plain",)).get_content()
    client.post(LINK.search(confirm).group(1))
    subscriber = Subscriber.objects.get()
    assert subscriber.is_subscribed
    smtp_server.refuse(address, f"550 5.1.1 <{address}>: Recipient address rejected")
    issue = IssueFactory()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.issue_send_start(issue_id=issue.pk)
    run_worker()
    assert address in Delivery.objects.get().error
    unsubscribe = reverse("newsletter:unsubscribe", args=[tokens.unsubscribe_token(subscriber)])
    client.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    # A consent record written before links lost the address: its link holds it, compressed.
    old_link = signing.dumps([subscriber.pk, address], salt=tokens.CONFIRM_SALT, compress=True)
    ConsentRecord.objects.create(
        subscriber=subscriber,
        event=ConsentRecord.Event.CONFIRMED,
        source=f"https://irlearn.example/newsletter/confirm/{old_link}/",
    )
    SubscriberFactory(email="someone.else@example.org")
    assert rows_holding(address)

    manager = Client()
    manager.force_login(SubscriberManagerFactory())
    manager.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "erase", "index": 0, "_selected_action": [subscriber.pk], "post": "yes"},
    )

    assert Subscriber.objects.get(pk=subscriber.pk).status == Subscriber.Status.ERASED
    assert rows_holding(address) == []
    assert rows_holding("someone.else@example.org")
