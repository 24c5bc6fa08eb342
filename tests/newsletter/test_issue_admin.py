"""Newsletter issues in the admin: write, preview, test, send or schedule, and watch the send."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.newsletter.models import Delivery, Issue
from tests.factories import IssueFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:newsletter_issue_add")


def url(name, issue):
    return reverse(f"admin:newsletter_issue_{name}", args=[issue.pk])


def messages_on(client, issue):
    """The page the staff member lands on after a button, with its messages."""
    return client.get(url("change", issue))


def sent_issue(days_ago, subject="Last month's news"):
    started = timezone.now() - timedelta(days=days_ago)
    return IssueFactory(
        subject=subject, status=Issue.Status.SENT, started_at=started, finished_at=started
    )


def send_now(client, issue, **extra):
    """ "Send now", confirmed on the page that says how many will get it."""
    return client.post(url("send", issue), {"_send_now": "1", "confirmed": "yes", **extra})


# Writing.


def test_writing_an_issue_leads_to_its_page_and_records_the_author(manager_client, manager):
    response = manager_client.post(
        ADD_URL, {"subject": "March news", "body": "A new **nephrostomy** guide.", "_save": "1"}
    )

    issue = Issue.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("change", issue)
    assert issue.created_by == manager
    assert issue.status == Issue.Status.DRAFT
    assert "<strong>nephrostomy</strong>" in issue.body_html


def test_a_draft_can_be_edited_but_its_status_cannot(manager_client):
    issue = IssueFactory(subject="March news")

    response = manager_client.post(
        url("change", issue),
        {"subject": "April news", "body": "Changed.", "status": "sent", "_save": "1"},
    )

    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.subject == "April news"
    assert issue.body_html == "<p>Changed.</p>"
    assert issue.status == Issue.Status.DRAFT


def test_the_issue_list_shows_status_and_dates(manager_client):
    IssueFactory(subject="March news")
    sent_issue(40, subject="February news")

    response = manager_client.get(reverse("admin:newsletter_issue_changelist"))

    assertContains(response, "March news")
    assertContains(response, "February news")
    for column in ["Status", "Scheduled for", "Started at", "Finished at", "Created at"]:
        assertContains(response, column)
    assertContains(response, "?status__exact=sent")


# Preview.


def test_the_issue_page_previews_the_email_as_subscribers_get_it(manager_client):
    issue = IssueFactory(subject="March news", body="A new **nephrostomy** guide.")

    page = manager_client.get(url("change", issue))
    preview = manager_client.get(url("preview", issue))

    assertContains(page, f'<iframe src="{url("preview", issue)}"')
    assertContains(page, "sandbox")
    # The plain-text version, as the subscriber's mail client shows it: Markdown as text.
    assertContains(page, "A new nephrostomy guide.")
    assertContains(page, "Unsubscribe at once: http")
    assert preview.status_code == 200
    assertContains(preview, ">March news</h1>")
    assertContains(preview, "<strong>nephrostomy</strong>")
    assertContains(preview, "/newsletter/unsubscribe/")


def test_only_the_preview_may_be_framed_and_only_by_the_site_itself(manager_client):
    issue = IssueFactory()

    page = manager_client.get(url("change", issue))
    preview = manager_client.get(url("preview", issue))

    assert "frame-ancestors 'self'" in preview["Content-Security-Policy"]
    assert "sandbox" in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"


def test_the_preview_cannot_run_anything_an_editor_pasted(manager_client):
    issue = IssueFactory(body='Hello <script>alert(1)</script><img src=x onerror="alert(2)">')

    preview = manager_client.get(url("preview", issue))

    assertNotContains(preview, "<script")
    assertNotContains(preview, "onerror")


# A test to yourself.


def test_a_test_goes_to_the_staff_member_alone(manager_client, mailoutbox):
    issue = IssueFactory(subject="March news")
    SubscriberFactory.create_batch(3)

    response = manager_client.post(url("send_test", issue))

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["sam.manager@example.org"]
    assert message.subject == "[Test] March news"
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe"].endswith(">")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert not Delivery.objects.exists()
    assertContains(messages_on(manager_client, issue), "is on its way to sam.manager@example.org")


# Sending now.


def test_send_now_sends_to_every_subscribed_address_and_shows_the_counts(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    issue = IssueFactory(subject="March news")
    subscribed = {s.email for s in SubscriberFactory.create_batch(3)}
    SubscriberFactory(pending=True)
    SubscriberFactory(unsubscribed=True)

    page = manager_client.get(url("change", issue))
    assertContains(page, "every confirmed subscriber: 3 now")
    with django_capture_on_commit_callbacks(execute=True):
        response = send_now(manager_client, issue)

    assert response.status_code == 302
    assert response["Location"] == url("change", issue)
    assert {m.to[0] for m in mailoutbox} == subscribed
    assert all(m.subject == "March news" for m in mailoutbox)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    page = manager_client.get(url("change", issue))
    assertContains(page, "State: Sent")
    assertContains(page, "Sending has started")
    assertContains(page, '<tr><th scope="row">Sent</th><td>3</td></tr>', html=True)
    assertContains(page, '<tr><th scope="row">Queued</th><td>0</td></tr>', html=True)
    # Nothing more to send, and nothing to edit.
    assertNotContains(page, 'name="_send_now"')
    assertNotContains(page, 'name="subject"')


def test_a_sent_issue_cannot_be_edited_deleted_or_sent_again(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    issue = sent_issue(40, subject="February news")
    SubscriberFactory()

    edit = manager_client.post(url("change", issue), {"subject": "Changed", "body": "Changed"})
    delete = manager_client.post(url("delete", issue), {"post": "yes"})
    with django_capture_on_commit_callbacks(execute=True):
        again = send_now(manager_client, issue)

    assert edit.status_code == 403
    assert delete.status_code == 403
    assert again.status_code == 302
    assertContains(messages_on(manager_client, issue), "This issue is sent already.")
    issue.refresh_from_db()
    assert issue.subject == "February news"
    assert mailoutbox == []


def test_the_page_shows_what_is_wrong_while_a_send_is_stuck(manager_client):
    subscriber = SubscriberFactory()
    issue = IssueFactory(
        status=Issue.Status.SENDING,
        started_at=timezone.now(),
        last_error="Cannot reach the mail server: Connection refused",
    )
    Delivery.objects.create(issue=issue, subscriber=subscriber)

    page = manager_client.get(url("change", issue))

    assertContains(page, "State: Sending")
    assertContains(page, "Last error: Cannot reach the mail server: Connection refused")
    assertContains(page, '<tr><th scope="row">Queued</th><td>1</td></tr>', html=True)


# Less than once a month.


def test_a_second_issue_within_28_days_needs_explicit_confirmation(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    sent_issue(10, subject="Last month's news")
    issue = IssueFactory(subject="Special edition")
    SubscriberFactory.create_batch(2)

    page = manager_client.get(url("change", issue))
    assertContains(page, "“Last month&#x27;s news” went out on")
    confirmation = manager_client.post(url("send", issue), {"_send_now": "1"})
    assertContains(confirmation, 'name="send-confirm_too_soon"')

    with django_capture_on_commit_callbacks(execute=True):
        refused = send_now(manager_client, issue)
    assert refused.status_code == 302
    assertContains(messages_on(manager_client, issue), "confirm to send anyway")
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        send_now(manager_client, issue, **{"send-confirm_too_soon": "on"})
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert len(mailoutbox) == 2


def test_no_confirmation_is_asked_28_days_after_the_last_issue(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    sent_issue(29)
    issue = IssueFactory()
    SubscriberFactory()

    confirmation = manager_client.post(url("send", issue), {"_send_now": "1"})
    assertNotContains(confirmation, 'name="send-confirm_too_soon"')
    with django_capture_on_commit_callbacks(execute=True):
        send_now(manager_client, issue)

    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert len(mailoutbox) == 1


# Scheduling.


def test_scheduling_sets_the_issue_to_go_out_later(manager_client, mailoutbox):
    issue = IssueFactory()
    SubscriberFactory()
    when = timezone.localtime() + timedelta(days=3)

    response = manager_client.post(
        url("send", issue),
        {
            "_schedule": "1",
            "confirmed": "yes",
            "send-scheduled_for": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED
    assert issue.scheduled_for == when.replace(second=0, microsecond=0)
    assert mailoutbox == []
    page = manager_client.get(url("change", issue))
    assertContains(page, "State: Scheduled")
    assertContains(page, "Scheduled: it goes out on")
    # Until it goes, it can still be edited, rescheduled or sent now.
    assertContains(page, 'name="subject"')
    assertContains(page, 'name="_send_now"')


def test_scheduling_needs_a_time_in_the_future(manager_client):
    issue = IssueFactory()
    past = timezone.localtime() - timedelta(hours=1)

    for data in [{}, {"send-scheduled_for": past.strftime("%Y-%m-%dT%H:%M")}]:
        manager_client.post(url("send", issue), {"_schedule": "1", **data})

        assertContains(messages_on(manager_client, issue), "Choose a time in the future")
        issue.refresh_from_db()
        assert issue.status == Issue.Status.DRAFT


def test_scheduling_within_28_days_of_the_last_issue_needs_confirmation_too(manager_client):
    sent_issue(5)
    issue = IssueFactory()
    when = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    manager_client.post(
        url("send", issue), {"_schedule": "1", "confirmed": "yes", "send-scheduled_for": when}
    )
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT

    manager_client.post(
        url("send", issue),
        {
            "_schedule": "1",
            "confirmed": "yes",
            "send-scheduled_for": when,
            "send-confirm_too_soon": "on",
        },
    )
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED


# State-changing buttons are POSTs protected against cross-site requests.


def test_sending_buttons_refuse_get_and_requests_without_a_csrf_token(manager, mailoutbox):
    issue = IssueFactory()
    SubscriberFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager)

    assert browser.get(url("send", issue)).status_code == 405
    assert browser.get(url("send_test", issue)).status_code == 405
    assert browser.post(url("send", issue), {"_send_now": "1"}).status_code == 403
    assert browser.post(url("send_test", issue)).status_code == 403
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert mailoutbox == []
