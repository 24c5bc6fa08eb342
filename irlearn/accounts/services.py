"""Writes, exports and emails that concern a whole account."""

from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.auth import logout
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from irlearn.accounts.emails import ACCOUNT_EMAIL_CONTEXTS
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
# Queued by reference: the task names rows, never the address or a link. The worker builds the
# email from them (irlearn/accounts/emails.py).


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
            "ACCOUNT_EMAIL_CONTEXTS in irlearn/accounts/emails.py."
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
