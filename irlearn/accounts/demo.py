"""Demo accounts for development, one per role, loaded by ``manage.py seed_demo`` with DEBUG on."""

from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group

from irlearn.accounts.models import User
from irlearn.accounts.roles import CONTENT_EDITORS, SUBSCRIBER_MANAGERS

DEMO_PASSWORD = "irlearn-demo-2026"  # noqa: S105 (published on purpose: DEBUG only)

DEMO_ACCOUNTS = [
    # email, full name, is_superuser, is_staff, group
    ("admin@irlearn.localhost", "Ada Admin", True, True, None),
    ("editor@irlearn.localhost", "Eddie Editor", False, True, CONTENT_EDITORS),
    ("subscribers@irlearn.localhost", "Sam Subscribers", False, True, SUBSCRIBER_MANAGERS),
    ("learner@irlearn.localhost", "Lee Learner", False, False, None),
]


def demo_accounts_seed() -> str:
    """Create the demo accounts that are missing, verified and in their role's group; a demo
    password someone changed stays changed. Returns the accounts and their password."""
    for email, full_name, is_superuser, is_staff, group_name in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"full_name": full_name, "is_superuser": is_superuser, "is_staff": is_staff},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        if group_name:
            user.groups.add(Group.objects.get(name=group_name))
    lines = [f"Demo accounts (development only), all with the password {DEMO_PASSWORD}:"]
    for email, _name, is_superuser, _staff, group_name in DEMO_ACCOUNTS:
        role = group_name or ("superuser" if is_superuser else "learner")
        lines.append(f"  {email:<32} {role}")
    return "\n".join(lines)
