"""The newsletter's emails as a reader gets them: the branded HTML part, and a text part that
reads as text (the issue's Markdown rendered, not shown raw), with links on the site's address."""

import re

import pytest
from django.urls import reverse

from irlearn.newsletter import messages, scheduling
from tests.factories import IssueFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

SITE = "https://irlearn.example"
# As an editor types it: paragraphs and list items on one long line each.
BODY = (
    "# New this month\n\n"
    "A new guide to **nephrostomy**, with _ultrasound_ pictures. Read "
    "[the nephrostomy guide](/procedures/nephrostomy/)\n"
    "before your next list, or the [RCR guidance](https://www.rcr.ac.uk/).\n\n"
    "## Two new modules\n\n"
    "- Ultrasound-guided **access**, for beginners and for anyone who wants a refresher on the "
    "basics of needle visibility\n"
    "- Drain care on the ward\n\n"
    "1. Read the guide\n"
    "2. Take the questions\n"
)
URL = re.compile(r"https?://\S+")


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def assert_branded_frame(html):
    """The shared frame (templates/email/base.html): one column at most 600px wide, the
    wordmark in the brand colour, a privacy note, and nothing fetched from elsewhere."""
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en-GB"' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:600px" in html
    assert 'style="color:#0b5c7a;text-decoration:none;">IRLearn</a>' in html
    assert f'href="{SITE}/privacy/"' in html
    assert "with third parties" in html
    # Mail clients block remote images; the mark is drawn, not loaded.
    assert "<img" not in html and "src=" not in html and "<link" not in html


def assert_reads_as_text(text):
    assert "**" not in text and "##" not in text and "](" not in text
    assert "<" not in text.replace("<https", "")
    for line in text.splitlines():
        assert len(line) <= 72 or URL.search(line), line


def flat(text) -> str:
    """``text`` with its lines joined: what it says, wherever it was wrapped."""
    return " ".join(text.split())


def send_issue(issue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.issue_send_start(issue_id=issue.pk)


def test_an_issue_text_part_is_the_markdown_as_readable_text(
    mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory(email="ana@example.org")
    issue = IssueFactory(subject="IRLearn news: June", body=BODY)

    send_issue(issue, django_capture_on_commit_callbacks)

    [message] = mailoutbox
    text = message.body
    assert_reads_as_text(text)
    assert text.startswith(
        "IRLearn news: June\n==================\n\nNew this month\n--------------\n"
    )
    assert "Two new modules\n---------------\n" in text
    # Bold without asterisks, paragraphs wrapped at 72, links as "text (address)".
    assert "\nA new guide to nephrostomy, with ultrasound pictures. Read the\n" in text
    assert f"Read the nephrostomy guide ({SITE}/procedures/nephrostomy/)" in flat(text)
    assert "the RCR guidance (https://www.rcr.ac.uk/)" in flat(text)
    # Lists keep their bullets and numbers; a long item hangs under its bullet.
    assert "\n- Ultrasound-guided access, for beginners and for anyone who wants a\n  " in text
    assert "\n- Drain care on the ward\n" in text
    assert "\n1. Read the guide\n2. Take the questions\n" in text


def test_an_issue_text_part_ends_with_why_and_the_unsubscribe_link_on_its_own_line(
    mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(email="ana@example.org")
    send_issue(IssueFactory(), django_capture_on_commit_callbacks)

    [message] = mailoutbox
    link = messages.unsubscribe_url(subscriber.pk)
    lines = message.body.splitlines()
    assert f"Unsubscribe at once: {link}" in lines
    assert "You get this email because you subscribed to the IRLearn newsletter." in lines
    assert f"Privacy policy: {SITE}/privacy/" in lines
    # The header mail clients turn into an unsubscribe button is still there, with the same link.
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_issue_html_part_has_the_branded_layout_the_body_and_the_unsubscribe_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(email="ana@example.org")
    issue = IssueFactory(subject="IRLearn news: June", body=BODY)

    send_issue(issue, django_capture_on_commit_callbacks)

    html = html_of(mailoutbox[0])
    assert_branded_frame(html)
    assert "<title>IRLearn news: June</title>" in html
    assert re.search(r"<h1 style=\"[^\"]+\">IRLearn news: June</h1>", html)
    assert "<strong>nephrostomy</strong>" in html
    # The editor's headings, paragraphs and links carry their own styles (mail clients drop
    # style sheets), and a link to a page of the site works from the mail client.
    assert re.search(r'<h2 id="new-this-month" style="[^"]*font-size:20px', html)
    assert re.search(r'<p style="margin:0 0 16px 0;">A new guide', html)
    assert f'<a href="{SITE}/procedures/nephrostomy/" style="color:#0b5c7a;' in html
    link = messages.unsubscribe_url(subscriber.pk)
    assert f'<a href="{link}" style=' in html
    assert "You get this email because you subscribed to the IRLearn newsletter." in html


def test_an_editors_html_gets_no_further_into_the_email_than_onto_the_site(
    mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory()
    body = (
        'Hi <img src="https://tracker.example/p.gif" alt=""> '
        '<a href="javascript:x()" onclick="x()">there</a><script>alert(1)</script> '
        '<span style="position:fixed">'
    )
    send_issue(IssueFactory(body=body), django_capture_on_commit_callbacks)

    [message] = mailoutbox
    html, text = html_of(message), message.body
    for unwanted in ("tracker.example", "javascript:", "onclick", "<script", "position:fixed"):
        assert unwanted not in html
    assert "alert(1)" not in text and "alert(1)" not in html
    assert "Hi there" in text


def test_the_batch_copy_still_serves_an_issue_in_the_new_layout(db):
    """Each batch serialises the issue once (messages.BatchTemplate): the styled HTML keeps
    every line within what the email package writes as it is."""
    issue = IssueFactory(body=BODY)

    assert messages.BatchTemplate(issue).serialised is not None


def test_the_confirmation_email_has_the_branded_layout_and_the_link_in_both_parts(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/newsletter/", {"email": "ana@example.org", "consent": "on"})

    [message] = mailoutbox
    text, html = message.body, html_of(message)
    link = re.search(rf"^({re.escape(SITE)}/newsletter/confirm/[^/\s]+/)$", text, re.M).group(1)
    assert_reads_as_text(text)
    assert "The link works for 7 days." in flat(text)
    assert "someone entered this address in the newsletter form" in flat(text)
    assert f"Privacy policy: {SITE}/privacy/" in text.splitlines()
    assert_branded_frame(html)
    assert re.search(
        rf'<a href="{re.escape(link)}" style="[^"]*">Confirm my subscription</a>', html
    )
    assert "Confirm your subscription</h1>" in html
    # Nobody has subscribed yet: no unsubscribe link, and no List-Unsubscribe header.
    assert "/newsletter/unsubscribe/" not in text + html
    assert "List-Unsubscribe" not in message.extra_headers


def test_newsletter_links_use_the_site_url_the_server_runs_on(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """`make run PORT=8123` sets SITE_URL=http://127.0.0.1:8123: the printed emails' links
    must lead back to that server."""
    settings.SITE_URL = "http://127.0.0.1:8123"
    subscriber = SubscriberFactory(email="ben@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/newsletter/",
            {"email": "ana@example.org", "consent": "on"},
            HTTP_HOST="127.0.0.1:8123",
        )
    send_issue(IssueFactory(), django_capture_on_commit_callbacks)

    confirm, issue = mailoutbox[0], next(m for m in mailoutbox if m.to == [subscriber.email])
    base = "http://127.0.0.1:8123"
    confirm_link = re.search(r"https?://\S+/newsletter/confirm/\S+/", confirm.body).group()
    assert confirm_link.startswith(f"{base}/newsletter/confirm/")
    assert f'href="{confirm_link}"' in html_of(confirm)
    unsubscribe = messages.unsubscribe_url(subscriber.pk)
    assert unsubscribe.startswith(f"{base}/newsletter/unsubscribe/")
    assert f"Unsubscribe at once: {unsubscribe}" in issue.body
    assert f'href="{unsubscribe}"' in html_of(issue)
    assert issue.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    for message in (confirm, issue):
        assert f"{base}/privacy/" in message.body
        assert f'href="{base}/"' in html_of(message)
        assert "127.0.0.1:8000" not in message.body + html_of(message)
    # The link works on that server.
    path = confirm_link.removeprefix(base)
    assert path == reverse("newsletter:confirm", kwargs={"token": path.split("/")[-2]})


def test_quotes_code_tables_and_nested_lists_read_plainly_in_the_text_part(
    mailoutbox, django_capture_on_commit_callbacks
):
    SubscriberFactory()
    body = (
        "> Check the **INR** before every drain.\n\n"
        "    aspirate, then flush\n\n"
        "- Before\n    - Consent\n    - Bloods\n- After\n\n"
        "| Drain | Size |\n|---|---|\n| Nephrostomy | 8 Fr |\n\n"
        "***\n\n"
        "Write to [the editors](mailto:editors@irlearn.example) or see "
        "[https://www.rcr.ac.uk/](https://www.rcr.ac.uk/).\n"
    )
    send_issue(IssueFactory(body=body), django_capture_on_commit_callbacks)

    text = mailoutbox[0].body
    assert_reads_as_text(text)
    assert "\n> Check the INR before every drain.\n" in text
    assert "\n    aspirate, then flush\n" in text
    assert "\n- Before\n  - Consent\n  - Bloods\n- After\n" in text
    assert "\nDrain | Size\nNephrostomy | 8 Fr\n" in text
    assert "\n* * *\n" in text
    # A link whose text is its address is written once; a mailto link shows the address.
    assert "the editors (editors@irlearn.example) or see https://www.rcr.ac.uk/." in flat(text)
