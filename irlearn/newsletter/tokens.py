"""Signed links in newsletter emails: nothing to store, nothing to guess."""

from django.core import signing

CONFIRM_SALT = "irlearn.newsletter.confirm"
UNSUBSCRIBE_SALT = "irlearn.newsletter.unsubscribe"
CONFIRM_MAX_AGE = 7 * 24 * 60 * 60  # a confirmation link works for 7 days


def confirm_token(subscriber) -> str:
    # The address is part of the signed value, so a link cannot confirm a later owner of the row.
    return signing.dumps([subscriber.pk, subscriber.email], salt=CONFIRM_SALT, compress=True)


def unsubscribe_token(subscriber) -> str:
    # No expiry: an unsubscribe link in a years-old email must still work.
    return signing.dumps(subscriber.pk, salt=UNSUBSCRIBE_SALT)


def read_confirm_token(token: str):
    """(pk, email) from a confirmation token, or raise signing.BadSignature / SignatureExpired."""
    pk, email = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    return pk, email


def read_unsubscribe_token(token: str) -> int:
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)
