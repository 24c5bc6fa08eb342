"""Account emails, as the worker builds them from the rows a queued task names.

allauth hands its adapter the address, the person and live links: a password-reset link lets
whoever holds it into the account. The task queue keeps arguments and results in a table, so
a queued account email names only rows (the address's, the account's) and the site's address
(account_email_enqueue in irlearn/accounts/services.py); the worker reads the address from its
row and derives the links again, as allauth would. The task (irlearn/accounts/tasks.py) calls
this module; nothing here enqueues.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from irlearn.accounts.models import QueuedAddress, User


def _site_link(site_url: str, path: str) -> str:
    return site_url.rstrip("/") + path


def _email_confirmation_context(*, site_url, email_address, user):
    # ACCOUNT_EMAIL_CONFIRMATION_HMAC: the key is the signed id of the address's row.
    key = EmailConfirmationHMAC.create(email_address).key
    return {
        "user": user,
        "key": key,
        "activate_url": _site_link(site_url, reverse("account_confirm_email", args=[key])),
        "expire_days": settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS,
    }


def _password_reset_context(*, site_url, email_address, user):
    # allauth's forms import ours (the sign-up form), which lead here: import it late.
    from allauth.account.forms import default_token_generator

    # The token allauth's reset page checks; it stops working once the password changes.
    uid, key = user_pk_to_url_str(user), default_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": key})
    return {"user": user, "password_reset_url": _site_link(site_url, path), "uid": uid, "key": key}


def _account_exists_context(*, site_url, email_address, user):
    return {
        "signup_url": _site_link(site_url, reverse("account_signup")),
        "password_reset_url": _site_link(site_url, reverse("account_reset_password")),
    }


def _unknown_account_context(*, site_url, email_address, user):
    return {"signup_url": _site_link(site_url, reverse("account_signup"))}


# Every account email allauth sends with our settings, and how the worker builds its context.
# Another one (a setting turned on) fails loudly in the request rather than queue what it holds.
ACCOUNT_EMAIL_CONTEXTS = {
    "account/email/email_confirmation": _email_confirmation_context,
    "account/email/email_confirmation_signup": _email_confirmation_context,
    "account/email/password_reset_key": _password_reset_context,
    "account/email/account_already_exists": _account_exists_context,
    "account/email/unknown_account": _unknown_account_context,
}


def account_email_message(
    *,
    template_prefix: str,
    site_url: str,
    user_id: int | None = None,
    email_address_id: int | None = None,
    queued_address_id: int | None = None,
) -> EmailMessage | None:
    """The account email queued by account_email_enqueue, built from the rows it names, or None
    when they are gone (the account was deleted while the email waited)."""
    email_address = user = None
    if email_address_id is not None:
        email_address = EmailAddress.objects.select_related("user").filter(pk=email_address_id)
        email_address = email_address.first()
        if email_address is None:
            return None
        address, user = email_address.email, email_address.user
    elif queued_address_id is not None:
        queued = QueuedAddress.objects.select_related("user").filter(pk=queued_address_id).first()
        if queued is None:
            return None
        address, user = queued.email, queued.user
    else:
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            return None
        address = user.email
    context = ACCOUNT_EMAIL_CONTEXTS[template_prefix](
        site_url=site_url, email_address=email_address, user=user
    )
    # What allauth's templates read from the request's site when it sends from a page; without
    # django.contrib.sites the name comes from configuration.
    site = {"name": settings.SITE_NAME, "domain": urlsplit(site_url).netloc}
    context.update({"email": address, "current_site": site})
    # The frame of our emails (templates/email/base.*): the site's own address and name.
    context.update(
        {
            "site_url": site_url.rstrip("/"),
            "site_name": settings.SITE_NAME,
            "privacy_url": _site_link(site_url, reverse("privacy")),
        }
    )
    return get_adapter().render_mail(template_prefix, address, context)


def queued_address_forget(*, queued_address_id: int) -> None:
    """Delete a QueuedAddress once its email has gone (or failed), and any a day old, whose
    task never ran (a queue emptied by hand, a worker killed mid-way)."""
    stale = timezone.now() - timedelta(days=1)
    QueuedAddress.objects.filter(pk=queued_address_id).delete()
    QueuedAddress.objects.filter(created_at__lt=stale).delete()
