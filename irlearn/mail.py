"""Email helpers shared by the apps."""

import email.policy

from django.core.mail import EmailMultiAlternatives

# RFC 5322 allows lines of up to 998 characters. Python's default policy folds at 78, and a
# header that is one long word (a List-Unsubscribe URL) can only be folded by turning it into
# RFC 2047 encoded-words, which mail clients do not read as a URL. Long links in the text body
# stay readable too, instead of quoted-printable.
MAX_LINE_LENGTH = 998


class UnfoldedEmail(EmailMultiAlternatives):
    """An email whose headers and links are never folded or encoded into unreadable form.

    Backends choose the policy (the SMTP backend passes email.policy.SMTP); keep theirs, with
    only the line length raised.
    """

    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=MAX_LINE_LENGTH))
