"""Account emails as a reader gets them: the branded HTML part (templates/email/base.html) and
a plain-text part, each with the link, on the address the request that asked for it reached."""

import re

import pytest
from django.urls import reverse

from irlearn.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP_URL = reverse("account_signup")
RESET_URL = reverse("account_reset_password")
URL = re.compile(r"https?://\S+")


def sign_up(client, email="priya.patel@example.org", **extra):
    data = {
        "full_name": "Priya Patel",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "grade": User.Grade.CORE_TRAINEE,
        "specialty": "",
    }
    return client.post(SIGNUP_URL, data, **extra)


def parts(message) -> tuple[str, str]:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def flat(text) -> str:
    return " ".join(text.split())


def link_line(text, path_prefix) -> str:
    """The link that stands on a line of its own in the text part."""
    pattern = rf"^(https?://[^/\s]+{re.escape(path_prefix)}\S*)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, text
    return match.group(1)


def assert_reads_as_text(text):
    assert text.startswith("Hello from IRLearn!\n\n")
    assert "**" not in text and "<" not in text
    for line in text.splitlines():
        assert len(line) <= 72 or URL.search(line), line
    assert re.search(r"^Privacy policy: https?://[^/\s]+/privacy/$", text, re.MULTILINE)


def assert_branded(html, *, heading, link, button):
    assert html.startswith("<!DOCTYPE html>")
    assert "max-width:600px" in html
    assert 'style="color:#0b5c7a;text-decoration:none;">IRLearn</a>' in html
    assert re.search(rf'<h1 style="[^"]*">{re.escape(heading)}</h1>', html)
    # The link twice: the button, and written out for clients that hide buttons.
    assert re.search(rf'<a href="{re.escape(link)}" style="[^"]*">{re.escape(button)}</a>', html)
    assert f">{link}</a>" in html
    assert re.search(r'href="https?://[^/"]+/privacy/"', html)
    assert "You got this email because" in html
    assert "<img" not in html and "src=" not in html


def test_the_sign_up_confirmation_email_has_both_parts_with_the_link(client, mailoutbox):
    sign_up(client)

    [message] = mailoutbox
    assert message.subject == "[IRLearn] Confirm your email address"
    text, html = parts(message)
    assert_reads_as_text(text)
    link = link_line(text, "/accounts/confirm-email/")
    assert "The link works for 3 days." in flat(text)
    assert_branded(
        html, heading="Confirm your email address", link=link, button="Confirm my email address"
    )
    assert "Hello from IRLearn!" in html
    # The link works.
    assert client.post(link.split("testserver", 1)[1]).status_code == 302


def test_the_password_reset_email_has_both_parts_with_the_link(client, mailoutbox):
    learner = UserFactory(email="jane.doe@example.org")

    client.post(RESET_URL, {"email": learner.email})

    [message] = mailoutbox
    assert message.subject == "[IRLearn] Reset your password"
    text, html = parts(message)
    assert_reads_as_text(text)
    link = link_line(text, "/accounts/password/reset/key/")
    assert "your password stays as it is" in flat(text)
    assert_branded(html, heading="Reset your password", link=link, button="Choose a new password")


def test_signing_up_with_a_taken_address_sends_a_branded_already_exists_email(client, mailoutbox):
    UserFactory(email="jane.doe@example.org")

    sign_up(client, email="jane.doe@example.org")

    [message] = mailoutbox
    assert message.subject == "[IRLearn] You already have an account"
    text, html = parts(message)
    assert_reads_as_text(text)
    assert "already exists" in text
    link = link_line(text, RESET_URL)
    assert_branded(
        html, heading="You already have an account", link=link, button="Choose a new password"
    )


def test_a_reset_for_an_unknown_address_sends_a_branded_no_account_email(client, mailoutbox):
    client.post(RESET_URL, {"email": "nobody@example.org"})

    [message] = mailoutbox
    assert message.subject == "[IRLearn] No account for this address"
    text, html = parts(message)
    assert_reads_as_text(text)
    link = link_line(text, SIGNUP_URL)
    assert_branded(
        html, heading="No account for this address", link=link, button="Create an account"
    )


def test_account_email_links_use_the_address_the_request_reached(client, mailoutbox):
    """A site served on 127.0.0.1:8123 (`make run PORT=8123`) mails links back to it."""
    sign_up(client, HTTP_HOST="127.0.0.1:8123")

    text, html = parts(mailoutbox[0])
    link = link_line(text, "/accounts/confirm-email/")
    assert re.match(r"https?://127\.0\.0\.1:8123/accounts/confirm-email/", link)
    assert f'href="{link}"' in html
    assert re.search(r'href="https?://127\.0\.0\.1:8123/privacy/"', html)
    assert re.search(r"^Privacy policy: https?://127\.0\.0\.1:8123/privacy/$", text, re.M)
    assert "testserver" not in text + html


def test_the_confirmation_link_is_one_whole_line_in_the_message_as_sent(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """As the mail server (or, in development, the console) gets it: not quoted-printable,
    whose soft line breaks cut a long link into pieces that lead nowhere."""
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)

    [message] = mailoutbox
    link = link_line(message.body, "/accounts/confirm-email/")
    assert len(link) > 78
    sent = message.message().as_string()
    assert "quoted-printable" not in sent
    assert link in sent.splitlines()
