"""A subscriber manager previews, tests, schedules and sends an issue in the admin."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from irlearn.newsletter.models import Audience, Issue, Tag
from tests.factories import IssueFactory, SubscriberFactory, SubscriberManagerFactory


def test_subscriber_manager_sees_the_email_preview_of_an_issue(page, password):
    # Logged in through the form, so the browser holds the session cookie exactly as Django
    # sets it (SameSite=Lax): the preview frame must still be sent it.
    SubscriberManagerFactory(email="sam@example.org")
    issue = IssueFactory(subject="IRLearn news: spring", body="## Biopsy week\n\nNew **modules**.")
    page.goto(f"/admin/login/?next=/admin/newsletter/issue/{issue.pk}/change/")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # The preview frame holds the page's load event: let it load before anything (the automatic
    # axe-core check included) looks at the page, or axe meets the frame's blank first document.
    page.wait_for_url(f"**/admin/newsletter/issue/{issue.pk}/change/")
    page.wait_for_load_state("load")

    preview = page.frame_locator("iframe[title^='Email preview']")
    expect(preview.get_by_role("heading", name="IRLearn news: spring")).to_be_visible()
    expect(preview.get_by_text("Biopsy week")).to_be_visible()
    expect(preview.get_by_role("link", name="Unsubscribe at once")).to_be_visible()


def test_subscriber_manager_tests_schedules_cancels_and_sends_an_issue_to_a_segment(page, password):
    manager = SubscriberManagerFactory(email="sam@example.org")
    bsir = Tag.objects.create(name="BSIR 2026")
    for subscriber in SubscriberFactory.create_batch(2):
        subscriber.tags.add(bsir)
    SubscriberFactory()
    segment = Audience.objects.create(name="BSIR attendees")
    segment.tags.add(bsir)
    testers = Audience.objects.create(name="Editorial team", kind=Audience.Kind.TEST)
    testers.testers.add(manager)
    issue = IssueFactory(subject="BSIR follow-up", audience=segment)
    issue_url = f"/admin/newsletter/issue/{issue.pk}/change/"
    page.goto(f"/admin/login/?next={issue_url}")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{issue_url}")
    page.wait_for_load_state("load")

    # A test copy to the test audience: the issue stays a draft.
    page.get_by_label("Send a test to").select_option(label="Editorial team")
    page.get_by_role("button", name="Send a test").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("is on its way to sam@example.org")).to_be_visible()
    expect(page.get_by_role("heading", name="State: Draft")).to_be_visible()

    # Scheduling asks first, with the number of recipients of the segment.
    when = timezone.localtime() + timedelta(days=3)
    page.get_by_label("Send at (for “Schedule”):").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule…").click()
    expect(page.get_by_text("2 recipients", exact=True)).to_be_visible()
    page.get_by_role("button", name="Yes, schedule it for 2 recipients").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="State: Scheduled")).to_be_visible()

    # Cancelled, it is a draft again; "Send now" asks too, then sends.
    page.get_by_role("button", name="Cancel the schedule").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="State: Draft")).to_be_visible()
    page.get_by_role("button", name="Send now…").click()
    expect(page.get_by_text("It will go out now to")).to_be_visible()
    page.get_by_role("button", name="Yes, send it to 2 recipients").click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("Sending has started")).to_be_visible()
    issue.refresh_from_db()
    assert issue.status in (Issue.Status.SENDING, Issue.Status.SENT)
    assert issue.deliveries.count() == 2


def test_subscriber_manager_makes_a_segment_and_sees_who_is_in_it(page, password):
    SubscriberManagerFactory(email="sam@example.org")
    bsir = Tag.objects.create(name="BSIR 2026")
    for subscriber in SubscriberFactory.create_batch(3, signup_source="website"):
        subscriber.tags.add(bsir)
    page.goto("/admin/login/?next=/admin/newsletter/audience/add/")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/newsletter/audience/add/")

    page.get_by_label("Name").fill("BSIR attendees")
    page.get_by_label("BSIR 2026").check()
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.get_by_text("3 confirmed subscribers")).to_be_visible()
