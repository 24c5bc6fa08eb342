"""The newsletter as a reader meets it: the footer box, the emails' links, and the keyboard."""

import re

from playwright.sync_api import expect

from irlearn.newsletter import scheduling
from irlearn.newsletter.models import Subscriber
from tests.factories import IssueFactory

CONSENT = re.compile(r"^Yes, email me the IRLearn newsletter\.")


def newsletter_box(page):
    return page.get_by_role("region", name="The IRLearn newsletter")


def link_in(message, kind):
    return re.search(rf"http://\S+/newsletter/{kind}/[^/\s]+/", message.body).group()


def test_reader_subscribes_from_the_footer_confirms_by_email_and_unsubscribes_from_an_issue(
    page, mailoutbox, settings, live_server
):
    # Links in emails point at the live server.
    settings.SITE_URL = live_server.url
    page.goto("/")
    box = newsletter_box(page)
    expect(box.get_by_role("checkbox", name=CONSENT)).not_to_be_checked()
    expect(box.get_by_role("link", name="privacy policy")).to_have_attribute("href", "/privacy/")

    box.get_by_label("Email address", exact=True).fill("niamh.kelly@example.org")
    box.get_by_role("checkbox", name=CONSENT).check()
    box.get_by_role("button", name="Subscribe").click()

    expect(page.get_by_role("heading", name="Check your inbox", level=1)).to_be_visible()
    assert [message.to for message in mailoutbox] == [["niamh.kelly@example.org"]]
    page.goto(link_in(mailoutbox[0], "confirm"))
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", name="Confirm your subscription", level=1)).to_be_visible()
    expect(main.get_by_role("button")).to_have_count(1)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    main.get_by_role("button", name="Confirm my subscription").click()

    expect(page.get_by_role("heading", name="You are subscribed", level=1)).to_be_visible()
    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED

    scheduling.issue_send_start(issue_id=IssueFactory(subject="IRLearn news: July").pk)
    issue_email = mailoutbox[-1]
    assert issue_email.subject == "IRLearn news: July"
    page.goto(link_in(issue_email, "unsubscribe"))
    expect(page.get_by_role("heading", name=re.compile("^Unsubscribe"), level=1)).to_be_visible()
    assert Subscriber.objects.get().status == Subscriber.Status.SUBSCRIBED
    main.get_by_role("button", name="Unsubscribe").click()

    expect(page.get_by_role("heading", name="You are unsubscribed", level=1)).to_be_visible()
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_signing_up_without_the_consent_tick_explains_what_is_missing(page):
    page.goto("/procedures/")
    box = newsletter_box(page)
    box.get_by_label("Email address", exact=True).fill("niamh.kelly@example.org")
    box.get_by_role("button", name="Subscribe").click()

    main = page.get_by_role("main")
    expect(page.get_by_role("heading", name="The IRLearn newsletter", level=1)).to_be_visible()
    consent = main.get_by_role("checkbox", name=CONSENT)
    expect(consent).to_have_attribute("aria-invalid", "true")
    expect(consent).to_have_accessible_description(
        "Tick the box to agree to receive the newsletter."
    )
    expect(main.get_by_label("Email address", exact=True)).to_have_value("niamh.kelly@example.org")
    assert not Subscriber.objects.exists()


def test_the_footer_form_works_from_the_keyboard_and_never_focuses_the_honeypot(page, mailoutbox):
    page.goto("/")
    box = newsletter_box(page)
    email = box.get_by_label("Email address", exact=True)
    honeypot = page.locator("#nl-footer-website")
    focused = []
    for _ in range(100):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
        if focused[-1] == "nl-footer-email":
            break
    expect(email).to_be_focused()
    assert "nl-footer-website" not in focused

    page.keyboard.type("ola.nowak@example.org")
    page.keyboard.press("Tab")
    expect(box.get_by_role("checkbox", name=CONSENT)).to_be_focused()
    page.keyboard.press("Space")
    expect(box.get_by_role("checkbox", name=CONSENT)).to_be_checked()
    page.keyboard.press("Tab")
    expect(box.get_by_role("link", name="privacy policy")).to_be_focused()
    page.keyboard.press("Tab")
    # Straight from the privacy link to the button: the honeypot between them is skipped.
    expect(box.get_by_role("button", name="Subscribe")).to_be_focused()
    expect(honeypot).not_to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Check your inbox", level=1)).to_be_visible()
    assert Subscriber.objects.get().email == "ola.nowak@example.org"
    assert len(mailoutbox) == 1
