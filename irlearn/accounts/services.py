"""Writes and exports that concern a whole account."""

from django.contrib.auth import logout
from django.db import transaction
from django.utils import timezone

from irlearn.accounts.models import User

# Other apps add their part of a learner's data here: a callable taking the user, returning
# a JSON-serialisable value, registered under the key it appears as in the export.
USER_DATA_SECTIONS = {}


def user_data_export(*, user: User) -> dict:
    """Everything IRLearn holds about ``user``, as JSON-ready data ("download my data")."""
    from allauth.account.models import EmailAddress

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


def user_delete(*, request, user: User) -> None:
    """Delete ``user`` and everything that belongs only to them, and end their session."""
    with transaction.atomic():
        user.delete()
    logout(request)
