"""Writes, exports and emails that concern a whole account."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import logout
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from irlearn.accounts.models import QueuedAddress, User
from irlearn.taskresults import task_results_delete

# Other apps add their part of a learner's data here: a callable taking the user, returning
# a JSON-serialisable value, registered under the key it appears as in the export.
USER_DATA_SECTIONS = {}


@dataclass(frozen=True)
class AccountDeletionStep:
    """Something another app holds under a person's address that deleting the account would
    leave behind (a newsletter subscription), and the question the deletion page asks about it.

    ``fields(user)`` returns the form fields to add to the deletion form, none when there is
    nothing to ask; ``run(request=, user=, choices=)`` acts on the cleaned answers inside the
    deletion's transaction, before the account goes.
    """

    fields: Callable[[User], dict]
    run: Callable[..., None]


# Other apps register their step here (in their AppConfig.ready), under their own name.
ACCOUNT_DELETION_STEPS: dict[str, AccountDeletionStep] = {}


def user_data_export(*, user: User) -> dict:
    """Everything IRLearn holds about ``user``, as JSON-ready data ("download my data")."""
    data = {
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "grade": user.get_grade_display(),
            "specialty": user.specialty,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("email")
        ],
    }
    for key, section in USER_DATA_SECTIONS.items():
        data[key] = section(user)
    return data


def user_delete(*, request, user: User, choices: dict | None = None) -> None:
    """Delete ``user`` and everything that belongs only to them, and end their session.

    What other apps hold under the person's address goes as they chose on the deletion page
    (``choices``, the form's cleaned data; see ACCOUNT_DELETION_STEPS). Account emails still
    waiting in the task queue go too, with any finished ones kept for the record, and so do the
    admin's log entries about the account, which are named after the person.
    """
    from irlearn.accounts.tasks import account_email_send

    with transaction.atomic():
        for step in ACCOUNT_DELETION_STEPS.values():
            step.run(request=request, user=user, choices=choices or {})
        task_results_delete(task=account_email_send, user_id=user.pk)
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
        ).delete()
        user.delete()
    logout(request)


# Account emails -------------------------------------------------------------------------------
#
# allauth hands its adapter the address, the person and live links: a password-reset link lets
# whoever holds it into the account. The task queue keeps arguments and results in a table, so
# a queued account email names only rows (the address's, the account's) and the site's address;
# the worker reads the address from its row and derives the links again, as allauth would.


def _site_link(site_url: str, path: str) -> str:
    return site_url.rstrip("/") + path


def _email_confirmation_context(*, site_url, email_address, user):
    # ACCOUNT_EMAIL_CONFIRMATION_HMAC: the key is the signed id of the address's row.
    key = EmailConfirmationHMAC.create(email_address).key
    return {
        "user": user,
        "key": key,
        "activate_url": _site_link(site_url, reverse("account_confirm_email", args=[key])),
    }


def _password_reset_context(*, site_url, email_address, user):
    # allauth's forms import ours (the sign-up form), and ours this module: import it late.
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


def account_email_enqueue(
    *, template_prefix: str, email: str, user: User | None, site_url: str
) -> None:
    """Queue one of allauth's account emails to ``email`` by reference (the adapter's send_mail).

    The task gets the id of the row that holds the address: the account's address record, else
    the account, else (an address with no account) a QueuedAddress made for it.
    """
    from irlearn.accounts.tasks import account_email_send

    if template_prefix not in ACCOUNT_EMAIL_CONTEXTS:
        raise ImproperlyConfigured(
            f"No queued form of the account email {template_prefix!r}: add one to "
            "ACCOUNT_EMAIL_CONTEXTS in irlearn/accounts/services.py."
        )
    addresses = EmailAddress.objects.filter(email__iexact=email).exclude(user=None)
    if user is not None:
        addresses = addresses.filter(user=user)
    address = addresses.order_by("-verified", "-primary", "pk").first()
    if address is not None:
        rows = {"email_address_id": address.pk, "user_id": address.user_id}
    else:
        if user is None:
            user = User.objects.filter(email__iexact=email).first()
        if user is not None and user.email.lower() == email.lower():
            rows = {"user_id": user.pk}
        else:
            queued = QueuedAddress.objects.create(email=email, user=user)
            rows = {"queued_address_id": queued.pk}
            if user is not None:
                rows["user_id"] = user.pk
    account_email_send.enqueue(template_prefix=template_prefix, site_url=site_url, **rows)


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
    return get_adapter().render_mail(template_prefix, address, context)


def queued_address_forget(*, queued_address_id: int) -> None:
    """Delete a QueuedAddress once its email has gone (or failed), and any a day old, whose
    task never ran (a queue emptied by hand, a worker killed mid-way)."""
    stale = timezone.now() - timedelta(days=1)
    QueuedAddress.objects.filter(pk=queued_address_id).delete()
    QueuedAddress.objects.filter(created_at__lt=stale).delete()
