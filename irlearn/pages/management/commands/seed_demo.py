"""Load demo content and demo accounts. Safe to run again: it changes nothing the second time."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.demo import course_catalogue_seed
from irlearn.accounts.models import User
from irlearn.accounts.roles import CONTENT_EDITORS, SUBSCRIBER_MANAGERS
from procedures.demo import procedure_library_seed

DEMO_PASSWORD = "irlearn-demo-2026"  # noqa: S105 (published on purpose: DEBUG only)

DEMO_ACCOUNTS = [
    # email, full name, is_superuser, is_staff, group
    ("admin@irlearn.localhost", "Ada Admin", True, True, None),
    ("editor@irlearn.localhost", "Eddie Editor", False, True, CONTENT_EDITORS),
    ("subscribers@irlearn.localhost", "Sam Subscribers", False, True, SUBSCRIBER_MANAGERS),
    ("learner@irlearn.localhost", "Lee Learner", False, False, None),
]


class Command(BaseCommand):
    help = "Load IRLearn demo content and create demo accounts (development only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-accounts", action="store_true", help="Load content only, without demo accounts."
        )

    def handle(self, *args, no_accounts=False, **options):
        with transaction.atomic():
            library = procedure_library_seed()
            self.stdout.write(
                f"Procedure library: {library['categories']} categories and "
                f"{library['procedures']} procedures added."
            )
            catalogue = course_catalogue_seed()
            self.stdout.write(
                f"E-learning: {catalogue['courses']} courses, {catalogue['modules']} modules, "
                f"{catalogue['lessons']} lessons and {catalogue['questions']} questions added."
            )
            if not no_accounts:
                if not settings.DEBUG:
                    raise CommandError(
                        "Demo accounts have a published password: they are only created with "
                        "DJANGO_DEBUG=1. Use --no-accounts to load content alone."
                    )
                self._create_accounts()
        self.stdout.write(self.style.SUCCESS("Demo content is loaded."))

    def _create_accounts(self):
        from allauth.account.models import EmailAddress

        for email, full_name, is_superuser, is_staff, group_name in DEMO_ACCOUNTS:
            user, created = User.objects.get_or_create(
                email=email,
                defaults={
                    "full_name": full_name,
                    "is_superuser": is_superuser,
                    "is_staff": is_staff,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            if group_name:
                user.groups.add(Group.objects.get(name=group_name))
        self.stdout.write(
            "Demo accounts (development only), all with the password " + DEMO_PASSWORD + ":"
        )
        for email, _name, *_rest, group_name in DEMO_ACCOUNTS:
            role = group_name or ("superuser" if email.startswith("admin") else "learner")
            self.stdout.write(f"  {email:<32} {role}")
