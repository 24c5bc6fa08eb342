"""Audiences in the admin: segments by tag or sign-up source, test audiences, the page that says
how many will get an issue before it is sent or scheduled, and cancelling a schedule."""

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin import helpers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from pytest_django.asserts import assertContains, assertNotContains

from irlearn.newsletter import scheduling, services
from irlearn.newsletter.models import Audience, ConsentRecord, Delivery, Issue, Subscriber, Tag
from tests.factories import (
    ContentEditorFactory,
    IssueFactory,
    StaffFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db

SUBSCRIBERS_URL = reverse("admin:newsletter_subscriber_changelist")
SELECTED = helpers.ACTION_CHECKBOX_NAME


def url(name, issue):
    return reverse(f"admin:newsletter_issue_{name}", args=[issue.pk])


def tagged(tag, **kwargs):
    subscriber = SubscriberFactory(**kwargs)
    subscriber.tags.add(tag)
    return subscriber


def segment(name="BSIR attendees", *, tags=(), signup_sources=()):
    audience = Audience.objects.create(name=name, signup_sources=list(signup_sources))
    audience.tags.set(tags)
    return audience


def audience_of_testers(*emails, name="Editorial team"):
    audience = Audience.objects.create(name=name, kind=Audience.Kind.TEST)
    audience.testers.set([StaffFactory(email=email) for email in emails])
    return audience


def erased(subscriber):
    return services.subscriber_erase(subscriber=subscriber, actor=None)


def choose_audience(client, issue, audience):
    """The editor picks the audience on the issue's form and saves."""
    response = client.post(
        url("change", issue),
        {"subject": issue.subject, "body": issue.body, "audience": audience.pk, "_continue": "1"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def confirm_send_now(client, issue, **extra):
    return client.post(url("send", issue), {"_send_now": "1", "confirmed": "yes", **extra})


def local(when):
    """``when`` as the datetime-local field sends it."""
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def in_days(days):
    return local(timezone.now() + timedelta(days=days))


def schedule(client, issue, when, **extra):
    return client.post(
        url("send", issue),
        {"_schedule": "1", "confirmed": "yes", "send-scheduled_for": when, **extra},
    )


# Segments.


def test_an_issue_for_a_tag_segment_reaches_exactly_its_confirmed_subscribers(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    bsir, other = Tag.objects.create(name="BSIR 2026"), Tag.objects.create(name="CIRSE")
    members = {tagged(bsir).email, tagged(bsir).email}
    tagged(bsir, pending=True)
    tagged(bsir, unsubscribed=True)
    erased(tagged(bsir))
    tagged(other)
    SubscriberFactory()
    issue = IssueFactory(subject="For the BSIR crowd")
    choose_audience(manager_client, issue, segment(tags=[bsir]))

    page = manager_client.get(url("change", issue))
    assertContains(page, "the segment “BSIR attendees”: 2 now")
    with django_capture_on_commit_callbacks(execute=True):
        confirm_send_now(manager_client, issue)

    assert {message.to[0] for message in mailoutbox} == members
    assert set(Delivery.objects.values_list("subscriber__email", flat=True)) == members
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT


def test_a_segment_by_sign_up_source_and_tag_needs_both(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    trainees = Tag.objects.create(name="Trainees")
    wanted = tagged(trainees, signup_source="website")
    tagged(trainees, signup_source="Sign-up sheet, BSIR 2026")
    SubscriberFactory(signup_source="website")
    issue = IssueFactory()
    choose_audience(manager_client, issue, segment(tags=[trainees], signup_sources=["website"]))

    with django_capture_on_commit_callbacks(execute=True):
        confirm_send_now(manager_client, issue)

    assert [message.to[0] for message in mailoutbox] == [wanted.email]


def test_a_scheduled_segment_issue_started_by_the_sweep_reaches_only_the_segment(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    bsir = Tag.objects.create(name="BSIR 2026")
    member = tagged(bsir)
    SubscriberFactory.create_batch(2)
    issue = IssueFactory()
    choose_audience(manager_client, issue, segment(tags=[bsir]))
    schedule(manager_client, issue, in_days(2))
    issue.refresh_from_db()

    with (
        freeze_time(issue.scheduled_for + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert scheduling.issue_send_sweep() == [issue.pk]

    assert [message.to[0] for message in mailoutbox] == [member.email]


def test_a_segment_whose_tags_were_all_deleted_reaches_nobody_rather_than_everybody(
    manager_client,
):
    bsir = Tag.objects.create(name="BSIR 2026")
    tagged(bsir)
    SubscriberFactory.create_batch(2)
    audience = segment(tags=[bsir])
    issue = IssueFactory(audience=audience)
    bsir.delete()

    confirmation = manager_client.post(url("send", issue), {"_send_now": "1"})

    assertContains(confirmation, "<strong>0 recipients</strong>", html=True)
    assertContains(confirmation, "Nobody would get it")
    assertNotContains(confirmation, 'name="confirmed"')


def test_an_audience_an_issue_uses_cannot_be_deleted(manager_client):
    audience = segment(tags=[Tag.objects.create(name="BSIR 2026")])
    IssueFactory(audience=audience, status=Issue.Status.SCHEDULED)

    manager_client.post(
        reverse("admin:newsletter_audience_delete", args=[audience.pk]), {"post": "yes"}
    )

    assert Audience.objects.filter(pk=audience.pk).exists()


def test_a_segment_needs_a_tag_or_a_sign_up_source_and_a_test_audience_needs_staff(
    manager_client,
):
    add = reverse("admin:newsletter_audience_add")

    empty_segment = manager_client.post(add, {"name": "Everyone?", "kind": "segment"})
    empty_test = manager_client.post(add, {"name": "Testers", "kind": "test"})

    assertContains(empty_segment, "Choose at least one tag or sign-up source")
    assertContains(empty_test, "Choose the staff who get the test copies.")
    assert not Audience.objects.exists()


def test_a_segment_offers_the_sign_up_sources_on_record_and_counts_its_members(manager_client):
    SubscriberFactory(signup_source="website")
    SubscriberFactory(signup_source="Sign-up sheet, BSIR 2026")
    SubscriberFactory(signup_source="Sign-up sheet, BSIR 2026", pending=True)

    add = manager_client.get(reverse("admin:newsletter_audience_add"))
    assertContains(add, 'value="Sign-up sheet, BSIR 2026"')
    response = manager_client.post(
        reverse("admin:newsletter_audience_add"),
        {"name": "BSIR sheet", "kind": "segment", "signup_sources": ["Sign-up sheet, BSIR 2026"]},
    )
    assert response.status_code == 302
    audience = Audience.objects.get()

    page = manager_client.get(reverse("admin:newsletter_audience_change", args=[audience.pk]))
    assertContains(page, "1 confirmed subscriber")


# Test audiences.


def test_a_test_to_a_test_audience_reaches_only_its_staff_and_leaves_the_issue_unsent(
    manager_client, mailoutbox
):
    SubscriberFactory.create_batch(3)
    audience = audience_of_testers("ana.editor@example.org", "ben.editor@example.org")
    issue = IssueFactory(subject="March news")

    response = manager_client.post(url("send_test", issue), {"test-audience": audience.pk})

    assert response.status_code == 302
    assert sorted(message.to[0] for message in mailoutbox) == [
        "ana.editor@example.org",
        "ben.editor@example.org",
    ]
    assert {message.subject for message in mailoutbox} == {"[Test] March news"}
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert issue.started_at is None
    assert not Delivery.objects.exists()
    page = manager_client.get(url("change", issue))
    assertContains(page, "is on its way to ana.editor@example.org, ben.editor@example.org")
    # A test does not count as an issue that went out: the next one is not "too soon".
    assert scheduling.too_soon(IssueFactory()) is None


def test_the_issue_page_offers_the_test_audiences_but_no_segment_for_tests(manager_client):
    audience_of_testers("ana.editor@example.org")
    segment(tags=[Tag.objects.create(name="BSIR 2026")])
    issue = IssueFactory()

    page = manager_client.get(url("change", issue)).content.decode()

    choices = re.search(r'<select name="test-audience".*?</select>', page, re.S).group()
    assert "Me only (sam.manager@example.org)" in choices
    assert "Editorial team" in choices
    assert "BSIR attendees" not in choices


def test_a_test_audience_cannot_be_the_audience_of_a_real_send(manager_client, mailoutbox):
    audience = audience_of_testers("ana.editor@example.org")
    SubscriberFactory()
    issue = IssueFactory()

    response = manager_client.post(
        url("change", issue),
        {"subject": issue.subject, "body": issue.body, "audience": audience.pk, "_save": "1"},
    )

    assert response.status_code == 200
    assertContains(response, "Select a valid choice")
    issue.refresh_from_db()
    assert issue.audience is None


# The confirmation page.


def test_send_now_first_shows_how_many_will_get_it_and_sends_nothing(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory.create_batch(3)
    SubscriberFactory(pending=True)
    issue = IssueFactory(subject="March news")

    with django_capture_on_commit_callbacks(execute=True):
        confirmation = manager_client.post(url("send", issue), {"_send_now": "1"})

    assert confirmation.status_code == 200
    assertContains(confirmation, "<strong>3 recipients</strong>", html=True)
    assertContains(confirmation, "every confirmed subscriber")
    assertContains(confirmation, 'value="Yes, send it to 3 recipients"')
    assertContains(confirmation, '<input type="hidden" name="confirmed" value="yes">', html=True)
    assert manager_client.get(url("send", issue)).status_code == 405
    assert mailoutbox == []
    assert not Delivery.objects.exists()
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT

    with django_capture_on_commit_callbacks(execute=True):
        confirm_send_now(manager_client, issue)
    assert len(mailoutbox) == 3


def test_schedule_first_shows_the_count_for_the_audience_and_schedules_nothing(manager_client):
    bsir = Tag.objects.create(name="BSIR 2026")
    tagged(bsir)
    SubscriberFactory.create_batch(2)
    issue = IssueFactory(audience=segment(tags=[bsir]))
    when = in_days(3)

    confirmation = manager_client.post(
        url("send", issue), {"_schedule": "1", "send-scheduled_for": when}
    )

    assert confirmation.status_code == 200
    assertContains(confirmation, "<strong>1 recipient</strong>", html=True)
    assertContains(confirmation, "the segment “BSIR attendees”")
    assertContains(confirmation, f'name="send-scheduled_for" value="{when}"')
    assertContains(confirmation, '<input type="hidden" name="_schedule" value="1">', html=True)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT

    schedule(manager_client, issue, when)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED


# The 28-day rule counts from the day the issue goes out.


def sent_on(when, subject="Last month's news"):
    return IssueFactory(
        subject=subject, status=Issue.Status.SENT, started_at=when, finished_at=when
    )


def test_scheduling_28_days_after_the_last_issue_needs_no_confirmation_even_if_today_is_sooner(
    manager_client,
):
    now = timezone.now()
    with freeze_time(now):
        sent_on(now - timedelta(days=20))
        issue = IssueFactory()

        confirmation = manager_client.post(
            url("send", issue), {"_schedule": "1", "send-scheduled_for": in_days(9)}
        )
        assertNotContains(confirmation, 'name="send-confirm_too_soon"')
        schedule(manager_client, issue, in_days(9))

    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED


def test_scheduling_within_28_days_of_the_last_issue_asks_even_if_today_is_later(manager_client):
    now = timezone.now()
    with freeze_time(now):
        sent_on(now - timedelta(days=20))
        issue = IssueFactory()

        confirmation = manager_client.post(
            url("send", issue), {"_schedule": "1", "send-scheduled_for": in_days(5)}
        )
        assertContains(confirmation, 'name="send-confirm_too_soon"')
        assertContains(confirmation, "“Last month&#x27;s news” went out on")
        schedule(manager_client, issue, in_days(5))
        issue.refresh_from_db()
        assert issue.status == Issue.Status.DRAFT

        schedule(manager_client, issue, in_days(5), **{"send-confirm_too_soon": "on"})
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED


def test_scheduling_within_28_days_of_another_scheduled_issue_asks_too(manager_client):
    now = timezone.now()
    with freeze_time(now):
        IssueFactory(
            subject="April news",
            status=Issue.Status.SCHEDULED,
            scheduled_for=now + timedelta(days=30),
        )
        issue = IssueFactory()

        confirmation = manager_client.post(
            url("send", issue), {"_schedule": "1", "send-scheduled_for": in_days(45)}
        )
        assertContains(confirmation, "“April news” is scheduled for")
        schedule(manager_client, issue, in_days(45))
        issue.refresh_from_db()
        assert issue.status == Issue.Status.DRAFT

        schedule(manager_client, issue, in_days(60))
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED


# Cancelling and rescheduling.


def test_a_scheduled_issue_can_be_cancelled_and_then_goes_out_at_its_new_time_only(
    manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory()
    issue = IssueFactory()
    now = timezone.now().replace(second=0, microsecond=0)
    first, second = now + timedelta(days=3), now + timedelta(days=6)
    schedule(manager_client, issue, local(first))
    page = manager_client.get(url("change", issue))
    assertContains(page, 'value="Cancel the schedule"')

    response = manager_client.post(url("cancel", issue))

    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert issue.scheduled_for is None
    assertContains(manager_client.get(url("change", issue)), "The schedule is cancelled")
    assertNotContains(manager_client.get(url("change", issue)), "Cancel the schedule")

    # Its old time comes: nothing goes. It is scheduled again, for later.
    with (
        freeze_time(first + timedelta(minutes=5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert scheduling.issue_send_sweep() == []
        schedule(manager_client, issue, local(second))
    assert mailoutbox == []
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED
    assert issue.scheduled_for == second

    with (
        freeze_time(second + timedelta(minutes=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert scheduling.issue_send_sweep() == [issue.pk]
    assert len(mailoutbox) == 1


def test_only_a_scheduled_issue_can_be_cancelled(manager_client):
    draft = IssueFactory()
    sent = sent_on(timezone.now() - timedelta(days=40))

    manager_client.post(url("cancel", draft))
    manager_client.post(url("cancel", sent))

    assertContains(manager_client.get(url("change", draft)), "there is nothing to cancel")
    sent.refresh_from_db()
    assert sent.status == Issue.Status.SENT
    assert manager_client.get(url("cancel", draft)).status_code == 405


# The issue page.


def test_the_issue_page_shows_no_template_comment(manager_client):
    issue = IssueFactory()

    page = manager_client.get(url("change", issue)).content.decode()

    assert "{#" not in page
    assert "#}" not in page
    assert "allow-same-origin only" not in page


def test_the_issue_pages_keep_to_their_query_budget(manager_client, django_assert_max_num_queries):
    bsir = Tag.objects.create(name="BSIR 2026")
    issue = IssueFactory(audience=segment(tags=[bsir]))
    audience_of_testers("ana.editor@example.org", "ben.editor@example.org")
    for _ in range(5):
        tagged(bsir)
    sent_on(timezone.now() - timedelta(days=10))

    with django_assert_max_num_queries(13):
        assert manager_client.get(url("change", issue)).status_code == 200
    with django_assert_max_num_queries(8):
        assert manager_client.post(url("send", issue), {"_send_now": "1"}).status_code == 200
    with django_assert_max_num_queries(7):
        assert (
            manager_client.get(reverse("admin:newsletter_audience_changelist")).status_code == 200
        )
    with django_assert_max_num_queries(13):
        audience_page = reverse("admin:newsletter_audience_change", args=[issue.audience_id])
        assert manager_client.get(audience_page).status_code == 200
    with django_assert_max_num_queries(7):
        assert manager_client.get(reverse("admin:newsletter_tag_changelist")).status_code == 200


# Subscribers: tags, sign-up sources, actions by state, consent without an IP.


def test_subscribers_are_tagged_from_the_list_after_choosing_the_tags(manager_client):
    bsir = Tag.objects.create(name="BSIR 2026")
    chosen = SubscriberFactory.create_batch(2)
    SubscriberFactory()
    data = {"action": "add_tags", "index": 0, SELECTED: [s.pk for s in chosen]}

    question = manager_client.post(SUBSCRIBERS_URL, data)
    assertContains(question, "2 subscribers to tag")
    assertContains(question, "BSIR 2026")
    assert not bsir.subscribers.exists()

    manager_client.post(SUBSCRIBERS_URL, {**data, "post": "yes", "tags": [bsir.pk]})
    assert set(bsir.subscribers.all()) == set(chosen)

    manager_client.post(
        SUBSCRIBERS_URL,
        {
            **data,
            "action": "remove_tags",
            SELECTED: [chosen[0].pk],
            "post": "yes",
            "tags": [bsir.pk],
        },
    )
    assert list(bsir.subscribers.all()) == [chosen[1]]


def test_a_sign_up_through_the_form_is_recorded_as_from_the_website(db):
    subscriber = services.subscriber_subscribe(
        email="ana@example.org", wording="Yes", source="https://irlearn.example/", ip_address=None
    )

    assert subscriber.signup_source == "website"


def test_an_import_records_its_source_and_tags_the_new_addresses(manager_client):
    bsir = Tag.objects.create(name="BSIR 2026")
    known = SubscriberFactory(email="known@example.org", signup_source="website")

    manager_client.post(
        reverse("admin:newsletter_subscriber_import"),
        {
            "file": SimpleUploadedFile("bsir.csv", b"new@example.org\nknown@example.org\n"),
            "source": "Sign-up sheet, BSIR 2026",
            "prior_opt_in": "on",
            "tags": [bsir.pk],
        },
    )

    new = Subscriber.objects.get(email="new@example.org")
    assert new.signup_source == "Sign-up sheet, BSIR 2026"
    assert list(new.tags.all()) == [bsir]
    known.refresh_from_db()
    assert known.signup_source == "website"
    assert not known.tags.exists()


def subscriber_page(client, subscriber):
    return client.get(reverse("admin:newsletter_subscriber_change", args=[subscriber.pk]))


def test_an_erased_subscriber_page_offers_no_action(manager_client):
    subscriber = erased(SubscriberFactory())

    page = subscriber_page(manager_client, subscriber)

    assert page.status_code == 200
    assertNotContains(page, 'value="unsubscribe"')
    assertNotContains(page, 'value="erase"')
    assertNotContains(page, 'name="CHANGE_FORM-action"')


def test_the_list_of_erased_subscribers_offers_no_unsubscribe_erase_or_tag_action(manager_client):
    erased(SubscriberFactory())

    everyone = manager_client.get(SUBSCRIBERS_URL)
    only_erased = manager_client.get(SUBSCRIBERS_URL, {"status__exact": "erased"})

    assertContains(everyone, '<option value="erase">')
    for action in ["unsubscribe", "erase", "add_tags", "remove_tags"]:
        assertNotContains(only_erased, f'<option value="{action}">')
    assertContains(only_erased, '<option value="export_csv">')


def test_an_unsubscribed_subscriber_page_offers_only_erasure(manager_client):
    page = subscriber_page(manager_client, SubscriberFactory(unsubscribed=True))

    assertNotContains(page, 'value="unsubscribe"')
    assertContains(page, 'value="erase"')


def test_a_subscribed_subscriber_page_offers_unsubscribe_and_erase(manager_client):
    page = subscriber_page(manager_client, SubscriberFactory())

    assertContains(page, 'value="unsubscribe"')
    assertContains(page, 'value="erase"')


def test_a_consent_record_without_an_ip_address_says_not_recorded(manager_client):
    subscriber = SubscriberFactory()
    services.subscriber_unsubscribe(subscriber=subscriber, source="admin user #1")
    record = subscriber.consent_records.get()

    page = subscriber_page(manager_client, subscriber)
    record_page = manager_client.get(
        reverse("admin:newsletter_consentrecord_change", args=[record.pk])
    )

    assertContains(page, '<td class="field-ip">not recorded</td>', html=True)
    assertNotContains(page, ">None<")
    assertContains(record_page, "not recorded")


def test_the_subscriber_page_keeps_to_its_query_budget(
    manager_client, django_assert_max_num_queries
):
    subscriber = SubscriberFactory()
    subscriber.tags.add(Tag.objects.create(name="BSIR 2026"), Tag.objects.create(name="CIRSE"))
    for _ in range(4):
        services.consent_record_create(
            subscriber=subscriber, event="given", policy=None, source="/"
        )

    with django_assert_max_num_queries(8):
        page = subscriber_page(manager_client, subscriber)
    assertContains(page, "BSIR 2026, CIRSE")


# The permission boundary.


def test_content_editors_cannot_reach_audiences_tags_or_the_sending_buttons(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory()
    audience = audience_of_testers("ana.editor@example.org")
    tag = Tag.objects.create(name="BSIR 2026")
    issue = IssueFactory(status=Issue.Status.SCHEDULED, scheduled_for=timezone.now())
    draft = IssueFactory()
    client.force_login(ContentEditorFactory())

    gets = [
        reverse("admin:newsletter_audience_changelist"),
        reverse("admin:newsletter_audience_add"),
        reverse("admin:newsletter_audience_change", args=[audience.pk]),
        reverse("admin:newsletter_tag_changelist"),
        reverse("admin:newsletter_tag_change", args=[tag.pk]),
    ]
    posts = [
        (url("cancel", issue), {}),
        (url("send", draft), {"_send_now": "1"}),
        (url("send", draft), {"_send_now": "1", "confirmed": "yes"}),
        (url("send", draft), {"_schedule": "1", "send-scheduled_for": in_days(3)}),
        (url("send_test", draft), {"test-audience": audience.pk}),
        (
            SUBSCRIBERS_URL,
            {"action": "add_tags", "index": 0, SELECTED: [1], "post": "yes", "tags": [tag.pk]},
        ),
    ]

    for page in gets:
        assert client.get(page).status_code == 403, page
    with django_capture_on_commit_callbacks(execute=True):
        for page, data in posts:
            assert client.post(page, data).status_code == 403, page
    assert mailoutbox == []
    issue.refresh_from_db()
    draft.refresh_from_db()
    assert (issue.status, draft.status) == (Issue.Status.SCHEDULED, Issue.Status.DRAFT)
    assert not tag.subscribers.exists()


# Subscribers from before sign-up sources were kept.


def test_existing_subscribers_get_their_sign_up_source_from_their_first_consent_record(manager):
    backfill = importlib.import_module(
        "irlearn.newsletter.migrations.0003_audiences_tags_and_signup_sources"
    ).signup_sources_from_consent
    by_form, imported, unknown = SubscriberFactory.create_batch(3)
    records = [
        (by_form, "given", "Yes, email me the IRLearn newsletter."),
        (by_form, "confirmed", "Press the button"),
        (imported, "imported", "Prior opt-in: Sign-up sheet, BSIR 2026"),
        (imported, "given", "Yes, email me the IRLearn newsletter."),
        (unknown, "withdrawn", ""),
    ]
    for subscriber, event, wording in records:
        ConsentRecord.objects.create(
            subscriber=subscriber, event=event, wording=wording, source="/", actor=manager
        )
    before = list(ConsentRecord.objects.values())

    backfill(apps, None)

    sources = dict(Subscriber.objects.values_list("pk", "signup_source"))
    assert sources == {
        by_form.pk: "website",
        imported.pk: "Sign-up sheet, BSIR 2026",
        unknown.pk: "",
    }
    assert list(ConsentRecord.objects.values()) == before


def test_the_preview_applies_the_emails_inline_styles_and_still_runs_no_script(manager_client):
    policy = manager_client.get(url("preview", IssueFactory()))["Content-Security-Policy"]

    parts = [part.strip() for part in policy.split(";")]
    directives = dict(part.split(" ", 1) for part in parts if " " in part)
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert directives["script-src"] == "'self'"
    assert "sandbox" in parts


def test_erased_subscribers_lose_their_tags_and_are_not_tagged_again(manager_client):
    bsir = Tag.objects.create(name="BSIR 2026")
    gone = erased(tagged(bsir))
    assert not bsir.subscribers.exists()

    response = manager_client.post(
        SUBSCRIBERS_URL,
        {"action": "add_tags", "index": 0, SELECTED: [gone.pk], "post": "yes", "tags": [bsir.pk]},
        follow=True,
    )

    assertContains(response, "They are erased: there is nobody to tag.")
    assert not bsir.subscribers.exists()
