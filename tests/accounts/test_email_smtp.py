"""Sign-up mail end to end, through a real SMTP server on the loopback interface."""

import email
import re
from email import policy

import pytest
from django.urls import reverse

from irlearn.accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_verification_email_goes_out_over_smtp(client, smtp_server, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Tomasz Nowak",
            "email": "tomasz.nowak@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "grade": User.Grade.FOUNDATION,
            "specialty": "",
        },
    )

    assert response.status_code == 302
    assert mailoutbox == []  # really sent over SMTP, not to the locmem outbox
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["tomasz.nowak@example.org"]
    message = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert message["To"] == "tomasz.nowak@example.org"
    assert message["Subject"].startswith("[IRLearn] ")
    assert "IRLearn" in message["From"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    # An absolute https link (ACCOUNT_DEFAULT_HTTP_PROTOCOL outside DEBUG) to the confirm page.
    assert re.search(r"https://testserver/accounts/confirm-email/[-:\w]+/", body), body
