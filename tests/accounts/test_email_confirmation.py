"""After confirming their address a learner is logged in (in the browser that signed up) or told
what to do next (anywhere else); and allauth's pages speak in our sentence case."""

import re
from html.parser import HTMLParser

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.accounts.test_signup import LOGIN_URL, confirmation_path, sign_up
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_confirming_in_the_browser_that_signed_up_logs_the_learner_in(client, mailoutbox):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])

    page = client.get(link)
    response = client.post(link)

    assert 'method="post"' in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert EmailAddress.objects.get().verified
    assert client.get(PROFILE_URL).status_code == 200
    assert messages_of(response) == [
        "Your email address priya.patel@example.org is confirmed.",
        "You are logged in as Priya Patel.",
    ]


def test_confirming_in_another_browser_sends_to_log_in_and_says_what_to_do(client, mailoutbox):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])
    other_browser = Client()

    response = other_browser.post(link)

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert EmailAddress.objects.get().verified
    # Neither browser is logged in by the link alone.
    assert other_browser.get(PROFILE_URL).status_code == 302
    assert client.get(PROFILE_URL).status_code == 302
    page = other_browser.get(LOGIN_URL)
    body = page.content.decode()
    assert "Your email address priya.patel@example.org is confirmed." in body
    assert "Now log in with your email address and password." in body
    logged_in = other_browser.post(
        LOGIN_URL, {"login": "priya.patel@example.org", "password": PASSWORD}
    )
    assert logged_in["Location"] == reverse("home")


def test_a_learner_who_logs_in_before_confirming_is_logged_in_by_confirming_there(
    client, mailoutbox
):
    sign_up(Client())
    # A new browser: the log-in is refused until the address is confirmed, and a new link sent.
    client.post(LOGIN_URL, {"login": "priya.patel@example.org", "password": PASSWORD})
    link = confirmation_path(mailoutbox[-1])

    client.post(link)

    assert client.get(PROFILE_URL).status_code == 200


def test_a_confirmation_link_does_not_log_in_someone_else_logged_in_there(client, mailoutbox):
    sign_up(client)
    link = confirmation_path(mailoutbox[0])
    someone_else = Client()
    someone_else.force_login(UserFactory())

    someone_else.post(link)

    # allauth logs the other account out rather than confirm under it; nobody is logged in.
    assert someone_else.get(PROFILE_URL).status_code == 302
    assert EmailAddress.objects.get(email="priya.patel@example.org").verified


def test_an_expired_link_says_how_to_get_a_new_one(client):
    response = client.get("/accounts/confirm-email/not-a-key/")

    body = response.content.decode()
    assert "This confirmation link has expired or is not valid." in body
    assert f'<a href="{LOGIN_URL}">Log in</a> and we will send you a new one.' in body


# Sentence case -------------------------------------------------------------------------------

# Words that keep their capital anywhere in a sentence.
PROPER_NOUNS = {"IRLearn", "I"}


class _Texts(HTMLParser):
    """The texts of the title, headings, buttons, labels, links, badges and placeholders of
    <main>, each on its own (a badge's words are not its label's)."""

    TAGS = {"h1", "h2", "h3", "button", "label", "a", "legend", "title"}

    def __init__(self):
        super().__init__()
        self.open = []
        self.in_main = False
        self.texts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.in_main |= tag == "main"
        is_badge = tag == "span" and "badge" in (attrs.get("class") or "")
        if (tag in self.TAGS or is_badge) and (self.in_main or tag == "title"):
            self.open.append([tag, ""])
        if self.in_main and attrs.get("placeholder"):
            self.texts.append(attrs["placeholder"])
        if self.in_main and tag == "input" and attrs.get("type") == "submit":
            self.texts.append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        self.in_main &= tag != "main"
        if self.open and self.open[-1][0] == tag:
            self.texts.append(" ".join(self.open.pop()[1].split()))

    def handle_data(self, data):
        if self.open:
            self.open[-1][1] += data


def title_case_words(text):
    """The words after the first that have a capital they should not have in sentence case."""
    words = re.findall(r"[A-Za-z][\w'-]*", text.split(" – ")[0])
    return [word for word in words[1:] if word[0].isupper() and word not in PROPER_NOUNS]


def texts_of(response):
    parser = _Texts()
    parser.feed(response.content.decode())
    return [text for text in parser.texts if text]


ANONYMOUS_PAGES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/password/reset/key/1-not-a-token/",
    "/accounts/password/reset/key/done/",
    "/accounts/confirm-email/",
    "/accounts/confirm-email/not-a-key/",
    "/accounts/inactive/",
]
LEARNER_PAGES = [
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/logout/",
    "/accounts/reauthenticate/",
]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_account_pages_for_visitors_are_in_sentence_case(client, url):
    response = client.get(url)

    assert response.status_code == 200
    texts = texts_of(response)
    assert texts
    assert {text: title_case_words(text) for text in texts if title_case_words(text)} == {}


@pytest.mark.parametrize("url", LEARNER_PAGES)
def test_account_pages_for_learners_are_in_sentence_case(learner_client, url):
    response = learner_client.get(url)

    assert response.status_code == 200
    texts = texts_of(response)
    assert texts
    assert {text: title_case_words(text) for text in texts if title_case_words(text)} == {}


def test_the_confirm_page_and_a_valid_reset_link_page_are_in_sentence_case(client, mailoutbox):
    sign_up(client)
    confirm = client.get(confirmation_path(mailoutbox[0]))
    UserFactory(email="reset.me@example.org")
    client.post(reverse("account_reset_password"), {"email": "reset.me@example.org"})
    reset_link = re.search(r"/accounts/password/reset/key/\S+/", mailoutbox[-1].body).group()
    reset = client.get(reset_link, follow=True)

    assert "Confirm your email address" in texts_of(confirm)
    assert "Confirm my email address" in texts_of(confirm)
    assert "Choose a new password" in texts_of(reset)
    for response in (confirm, reset):
        texts = texts_of(response)
        assert {text: title_case_words(text) for text in texts if title_case_words(text)} == {}


def test_allauth_title_case_texts_are_gone_from_the_log_in_and_password_pages(learner_client):
    client = Client()
    pages = [
        client.get("/accounts/login/"),
        client.get("/accounts/password/reset/"),
        learner_client.get("/accounts/password/change/"),
    ]

    body = "".join(page.content.decode() for page in pages)
    assert "Forgotten your password?" in body
    assert "Keep me logged in" in body
    for allauth_text in ["Forgot your password?", "Remember Me", "Current Password", "Sign In"]:
        assert allauth_text not in body
