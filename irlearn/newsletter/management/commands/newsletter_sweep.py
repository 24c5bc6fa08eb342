from django.core.management.base import BaseCommand

from irlearn.newsletter import sending


class Command(BaseCommand):
    help = (
        "Set going again every newsletter send that has lost its workers, and start scheduled "
        "issues whose time has passed. Run it whenever a task worker starts; safe at any time."
    )

    def handle(self, *args, **options):
        issue_ids = sending.issue_send_sweep()
        if issue_ids:
            self.stdout.write(f"Set going: issue {', '.join(map(str, issue_ids))}.")
        elif options["verbosity"] > 1:
            self.stdout.write("Nothing to do: every send has a task waiting.")
