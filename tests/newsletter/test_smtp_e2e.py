"""Newsletter mail end to end, through a real SMTP server on the loopback interface."""

import re
from urllib.parse import urlsplit

import pytest

from irlearn.newsletter import scheduling
from irlearn.newsletter.models import Delivery, Subscriber
from tests.factories import IssueFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

UNSUBSCRIBE_HEADER = re.compile(r"^<(https://irlearn\.example/newsletter/unsubscribe/[^/\s<>]+/)>$")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = "https://irlearn.example"


def test_the_confirmation_email_goes_out_over_smtp_with_a_working_link(
    client, smtp_server, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/newsletter/", {"email": "ana@example.org", "consent": "on"})

    assert response.status_code == 302
    assert mailoutbox == []  # really sent over SMTP, not to the locmem outbox
    assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [["ana@example.org"]]
    [message] = smtp_server.messages()
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == "Confirm your IRLearn newsletter subscription"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    link = re.search(r"https://irlearn\.example/newsletter/confirm/[^/\s]+/", text).group()
    assert link in html

    assert client.post(urlsplit(link).path).status_code == 200
    assert Subscriber.objects.get().is_subscribed


def test_an_issue_reaches_each_subscriber_with_the_unsubscribe_headers(
    smtp_server, mailoutbox, django_capture_on_commit_callbacks
):
    readers = ["ana@example.org", "ben@example.org", "cat@example.org"]
    for address in readers:
        SubscriberFactory(email=address)
    SubscriberFactory(email="pending@example.org", pending=True)
    SubscriberFactory(email="gone@example.org", unsubscribed=True)
    issue = IssueFactory(subject="IRLearn news: June")

    with django_capture_on_commit_callbacks(execute=True):
        scheduling.issue_send_start(issue_id=issue.pk)

    assert mailoutbox == []
    assert sorted(rcpt for e in smtp_server.envelopes for rcpt in e.rcpt_tos) == readers
    links, message_ids = set(), set()
    for envelope, message in zip(smtp_server.envelopes, smtp_server.messages(), strict=True):
        assert message["Subject"] == "IRLearn news: June"
        # The raw header on the wire: one URL in angle brackets (RFC 2369), and RFC 8058's POST.
        link = UNSUBSCRIBE_HEADER.match(message["List-Unsubscribe"]).group(1)
        # On the wire, not only once decoded: mail clients read the raw header, and a URL
        # folded into RFC 2047 encoded-words is no URL to them.
        assert re.search(
            rb"\r?\nList-Unsubscribe: <" + re.escape(link.encode()) + rb">\r?\n",
            envelope.original_content,
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"])
        assert message.is_multipart()
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "nephrostomy" in text
        assert "<strong>nephrostomy</strong>" in html
        assert link in text
        assert link in html
        links.add(link)
        message_ids.add(message["Message-ID"])
    assert len(links) == len(message_ids) == 3
    # The Message-ID on the wire is the one recorded for the delivery.
    assert set(issue.deliveries.values_list("message_id", flat=True)) == message_ids
    assert set(issue.deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
