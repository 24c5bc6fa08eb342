"""Load demo content and demo accounts. Safe to run again: it changes nothing the second time.

Each app seeds its own demo (irlearn/demo.py): this command runs them all, in one transaction.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from irlearn.demo import DEMO_SEEDS


class Command(BaseCommand):
    help = "Load IRLearn demo content and create demo accounts (development only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-accounts", action="store_true", help="Load content only, without demo accounts."
        )

    def handle(self, *args, no_accounts=False, **options):
        seeds = [seed for seed in DEMO_SEEDS if not (no_accounts and seed.creates_accounts)]
        if not settings.DEBUG and any(seed.creates_accounts for seed in seeds):
            raise CommandError(
                "Demo accounts have a published password: they are only created with "
                "DJANGO_DEBUG=1. Use --no-accounts to load content alone."
            )
        with transaction.atomic():
            # Content first, accounts last: their password is the last thing `make run` prints.
            for demo in sorted(seeds, key=lambda seed: seed.creates_accounts):
                self.stdout.write(demo.seed())
        self.stdout.write(self.style.SUCCESS("Demo content is loaded."))
