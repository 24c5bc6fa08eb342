"""Signed links in newsletter emails: nothing to store, nothing to guess, nothing to read.

A link is copied into places we do not control (mail archives, scanners' logs), so it carries
ids, never the address: signed values are only base64, readable by anyone who has the link.
"""

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from irlearn.newsletter.models import normalise_email

CONFIRM_SALT = "irlearn.newsletter.confirm"
UNSUBSCRIBE_SALT = "irlearn.newsletter.unsubscribe"
ADDRESS_SALT = "irlearn.newsletter.address"
CONFIRM_MAX_AGE = 7 * 24 * 60 * 60  # a confirmation link works for 7 days


def address_fingerprint(email: str) -> str:
    """A keyed digest of the address: it tells whether a row still holds the address a link was
    made for, and without the secret key it cannot be checked against a guess."""
    return salted_hmac(ADDRESS_SALT, normalise_email(email), algorithm="sha256").hexdigest()[:32]


def confirm_token(subscriber) -> str:
    # The address's fingerprint is signed in, so a link cannot confirm a later owner of the row.
    return signing.dumps([subscriber.pk, address_fingerprint(subscriber.email)], salt=CONFIRM_SALT)


def unsubscribe_token(subscriber) -> str:
    # No expiry: an unsubscribe link in a years-old email must still work.
    return signing.dumps(subscriber.pk, salt=UNSUBSCRIBE_SALT)


def read_confirm_token(token: str) -> tuple[int, str]:
    """(pk, address fingerprint) from a confirmation token, or raise signing.BadSignature /
    SignatureExpired."""
    pk, fingerprint = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    return pk, fingerprint


def confirm_token_is_for(subscriber, fingerprint: str) -> bool:
    """Whether the subscriber's row still holds the address the link was made for.

    Links sent before fingerprints carried the address itself; they are honoured until they
    expire (CONFIRM_MAX_AGE).
    """
    if not subscriber.email:
        return False
    if "@" in fingerprint:
        return normalise_email(subscriber.email) == normalise_email(fingerprint)
    return constant_time_compare(address_fingerprint(subscriber.email), fingerprint)


def read_unsubscribe_token(token: str) -> int:
    return signing.loads(token, salt=UNSUBSCRIBE_SALT)
