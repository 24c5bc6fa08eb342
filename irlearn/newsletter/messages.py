"""The newsletter's emails: an issue as each subscriber gets it, and the confirmation email.

An issue is built with the email package's own interface (``email.message.EmailMessage``, one
policy, ``as_bytes()``): that is what goes over SMTP. Mailers other than SMTP (the console in
development, the test outbox) are handed the same message as a Django email (``as_django()``).

Serialising a message with the email package (headers parsed, checked and folded) costs several
milliseconds, more than everything else a send does. So each batch serialises the issue once,
with markers where the recipient's address, unsubscribe link and Message-ID go, and each message
is that copy with the markers replaced (``BatchTemplate``). The copy is used only when it reads
exactly as the message serialised on its own would: every marker found where the message needs
it, the bodies written as they are (7bit or 8bit, not quoted-printable or base64), the address
plain ASCII and no line pushed past RFC 5322's 998 characters by the link; otherwise the message
is serialised on its own.
"""

import email.message
import email.policy
import email.utils
import functools
import re

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from irlearn.mail import MAX_LINE_LENGTH, UnfoldedEmail, email_fragment
from irlearn.mailtext import heading, markdown_to_text
from irlearn.newsletter import tokens
from irlearn.newsletter.models import Issue, Subscriber

# SMTP's line endings; lines as long as RFC 5322 allows, so that a List-Unsubscribe URL is never
# folded into RFC 2047 encoded-words and long links in the text stay readable.
POLICY = email.policy.SMTP.clone(max_line_length=MAX_LINE_LENGTH)

# Stands in for each recipient's unsubscribe address in bodies rendered once for a whole batch:
# letters and digits only, so HTML escaping leaves it as it is and it can be swapped afterwards.
UNSUBSCRIBE_PLACEHOLDER = "IRLEARNUNSUBSCRIBEURL0PLACEHOLDER"
# Stands in for the signed id (the token) in an unsubscribe address reversed once a batch.
SIGNED_ID_MARKER = "IRLEARNSIGNEDID0PLACEHOLDER"
# What else differs from one message of a batch to the next, as markers in the serialised copy.
RECIPIENT_MARKER = "irlearn-recipient-0-placeholder@example.invalid"
MESSAGE_ID_MARKER = "<IRLEARNMESSAGEID0PLACEHOLDER@example.invalid>"
# An address the email package writes into the To header unchanged (RFC 5322 dot-atoms, ASCII).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def absolute_url(path: str, *, site_url: str | None = None) -> str:
    """``path`` on the site: at ``site_url`` (the address a request reached, for an email that
    answers one), else at SITE_URL (the worker's issues have no request to go by)."""
    return (site_url or settings.SITE_URL).rstrip("/") + path


def email_context(*, site_url: str | None = None) -> dict:
    """What the frame of every newsletter email (templates/email/base.*) needs."""
    return {
        "site_url": absolute_url("", site_url=site_url),
        "site_name": settings.SITE_NAME,
        "privacy_url": absolute_url(reverse("privacy"), site_url=site_url),
    }


def unsubscribe_url(subscriber_id: int) -> str:
    return _unsubscribe_url(tokens.unsubscribe_token(Subscriber(pk=subscriber_id)))


def _unsubscribe_url(token: str) -> str:
    return absolute_url(reverse("newsletter:unsubscribe", kwargs={"token": token}))


@functools.lru_cache(maxsize=64)
def envelope_address(address: str) -> str:
    """``address`` as SMTP's MAIL FROM and RCPT TO carry it: the bare address (no display
    name), its domain IDNA-encoded.

    Raises ValueError, before anything is sent, for what SMTP cannot carry without SMTPUTF8 (a
    local part that is not ASCII) or what is no address at all.
    """
    if PLAIN_ADDRESS.fullmatch(address):
        return address
    _, addr_spec = email.utils.parseaddr(address)
    local, at, domain = addr_spec.rpartition("@")
    if not (local and at and domain) or any(c.isspace() for c in addr_spec):
        raise ValueError(f"Not an email address: {address!r}")
    if not local.isascii():
        raise ValueError(f"{address!r} cannot be sent without SMTPUTF8 (non-ASCII local part)")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def render_bodies(issue: Issue) -> tuple[str, str]:
    """The issue's plain-text and HTML bodies, with UNSUBSCRIBE_PLACEHOLDER for the address.

    The text part is the Markdown as readable text (irlearn/mailtext.py), the HTML part the
    rendered body styled for mail clients; links to the site's own pages made absolute in both.
    """
    context = email_context()
    site_url = context["site_url"]
    context |= {
        "issue": issue,
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "subject_heading": heading(issue.subject),
        "body_text": markdown_to_text(
            issue.body, base_url=site_url, heading_level=issue.markdown_heading_level
        ),
        "body_html": email_fragment(issue.body_html, base_url=site_url),
    }
    return (
        render_to_string("newsletter/email/issue.txt", context),
        render_to_string("newsletter/email/issue.html", context),
    )


class IssueEmail:
    """One issue to one address: its parts, its envelope, and its bytes.

    ``serialised`` is the message from the batch's copy (``BatchTemplate``), or None when this
    message is to be serialised on its own.
    """

    __slots__ = (
        "subject",
        "from_email",
        "to",
        "message_id",
        "unsubscribe_url",
        "bodies",
        "serialised",
    )

    def __init__(self, *, subject, from_email, to, message_id, unsubscribe_url, bodies):
        self.subject = subject
        self.from_email = from_email
        self.to = to
        self.message_id = message_id
        self.unsubscribe_url = unsubscribe_url
        self.bodies = bodies
        self.serialised: bytes | None = None

    @property
    def text(self) -> str:
        return self.bodies[0].replace(UNSUBSCRIBE_PLACEHOLDER, self.unsubscribe_url)

    @property
    def html(self) -> str:
        return self.bodies[1].replace(UNSUBSCRIBE_PLACEHOLDER, self.unsubscribe_url)

    @property
    def headers(self) -> dict[str, str]:
        return {
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
            "List-Unsubscribe": f"<{self.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": self.message_id,
        }

    @property
    def sender(self) -> str:
        """The envelope sender (MAIL FROM)."""
        return envelope_address(self.from_email)

    @property
    def recipient(self) -> str:
        """The envelope recipient (RCPT TO); ValueError when SMTP cannot carry the address."""
        return envelope_address(self.to)

    def message(self) -> email.message.EmailMessage:
        """The message, built by the email package: text and HTML alternatives, and headers."""
        message = email.message.EmailMessage(policy=POLICY)
        message.set_content(self.text, charset="utf-8")
        message.add_alternative(self.html, subtype="html", charset="utf-8")
        message["Subject"] = self.subject
        message["From"] = self.from_email
        # The domain IDNA-encoded: the email package would write RFC 2047 words, no address.
        message["To"] = self.recipient
        message["Date"] = timezone.now()
        for name, value in self.headers.items():
            message[name] = value
        return message

    def as_bytes(self) -> bytes:
        """What goes over SMTP: the batch's copy, or the message serialised on its own."""
        if self.serialised is not None:
            return self.serialised
        return self.message().as_bytes()

    def as_django(self) -> UnfoldedEmail:
        """The same message for a Django mailer other than SMTP (console, test outbox)."""
        message = UnfoldedEmail(
            self.subject, self.text, self.from_email, [self.to], headers=self.headers
        )
        message.attach_alternative(self.html, "text/html")
        return message


def build_message(
    issue: Issue,
    subscriber_id: int,
    address: str,
    *,
    message_id: str | None = None,
    bodies: tuple[str, str] | None = None,
    link: str | None = None,
) -> IssueEmail:
    """The issue as sent to one subscriber, serialised on its own. ``bodies`` (from
    render_bodies) and ``link`` (its unsubscribe address) save working them out again for
    every message of a batch."""
    return IssueEmail(
        subject=issue.subject,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=address,
        message_id=message_id
        or email.utils.make_msgid(domain=settings.NEWSLETTER_MESSAGE_ID_DOMAIN),
        unsubscribe_url=link or unsubscribe_url(subscriber_id),
        bodies=bodies or render_bodies(issue),
    )


class BatchTemplate:
    """The issue rendered and serialised once for a batch; each message is that copy with the
    recipient's address, unsubscribe link and Message-ID put in (see the module's docstring for
    when the copy is used)."""

    def __init__(self, issue: Issue):
        self.issue = issue
        self.bodies = render_bodies(issue)
        # The unsubscribe address resolved once; each message signs its own token into it,
        # unless the URL pattern would write a token otherwise than as it is.
        self.link_template = _unsubscribe_url(SIGNED_ID_MARKER)
        sample = tokens.unsubscribe_token(Subscriber(pk=0))
        if self.link_template.replace(SIGNED_ID_MARKER, sample) != _unsubscribe_url(sample):
            self.link_template = None
        copy = IssueEmail(
            subject=issue.subject,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=RECIPIENT_MARKER,
            message_id=MESSAGE_ID_MARKER,
            unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
            bodies=self.bodies,
        )
        message = copy.message()
        data = message.as_bytes()
        # Text written as it is: a link put into quoted-printable or base64 would be garbled.
        as_written = all(
            part.get("Content-Transfer-Encoding", "7bit") in ("7bit", "8bit")
            for part in message.walk()
            if not part.is_multipart()
        )
        placeholder = UNSUBSCRIBE_PLACEHOLDER.encode()
        links = sum(body.count(UNSUBSCRIBE_PLACEHOLDER) for body in self.bodies)
        expected = {placeholder: links + 1, RECIPIENT_MARKER.encode(): 1}
        expected[MESSAGE_ID_MARKER.encode()] = 1
        found = all(data.count(marker) == n for marker, n in expected.items())
        self.serialised = data if as_written and found else None
        # The lines a link goes into (the header's and the bodies'): their length and links.
        self._link_lines = [
            (len(line), line.count(placeholder))
            for line in data.split(POLICY.linesep.encode())
            if placeholder in line
        ]

    def _fits(self, url: str) -> bool:
        """Whether ``url`` in place of the placeholder keeps every line within RFC 5322's
        limit (beyond it the email package would have encoded the body, or folded the header)."""
        longer = len(url) - len(UNSUBSCRIBE_PLACEHOLDER)
        return all(length + links * longer <= MAX_LINE_LENGTH for length, links in self._link_lines)

    def link(self, subscriber_id: int) -> str:
        """The subscriber's unsubscribe address, as ``unsubscribe_url`` writes it."""
        if self.link_template is None:
            return unsubscribe_url(subscriber_id)
        token = tokens.unsubscribe_token(Subscriber(pk=subscriber_id))
        return self.link_template.replace(SIGNED_ID_MARKER, token)

    def message(self, subscriber_id: int, address: str) -> IssueEmail:
        url = self.link(subscriber_id)
        message = build_message(self.issue, subscriber_id, address, bodies=self.bodies, link=url)
        if self.serialised is not None and PLAIN_ADDRESS.fullmatch(address) and self._fits(url):
            message.serialised = (
                self.serialised.replace(UNSUBSCRIBE_PLACEHOLDER.encode(), url.encode())
                .replace(RECIPIENT_MARKER.encode(), address.encode())
                .replace(MESSAGE_ID_MARKER.encode(), message.message_id.encode())
            )
        return message


def confirmation_message(subscriber: Subscriber, *, site_url: str | None = None) -> UnfoldedEmail:
    """The double opt-in email: a link that confirms the subscription (a Django email, sent by
    the default mailer). ``site_url`` is the address the sign-up form was reached at, when the
    task was given it; SITE_URL otherwise."""
    link = absolute_url(
        reverse("newsletter:confirm", kwargs={"token": tokens.confirm_token(subscriber)}),
        site_url=site_url,
    )
    context = email_context(site_url=site_url)
    context |= {"confirm_url": link, "days": tokens.CONFIRM_MAX_AGE // 86400}
    subject = render_to_string("newsletter/email/confirm_subject.txt", context).strip()
    message = UnfoldedEmail(
        subject,
        render_to_string("newsletter/email/confirm.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [subscriber.email],
    )
    message.attach_alternative(
        render_to_string("newsletter/email/confirm.html", context), "text/html"
    )
    return message
