from django.core.management.base import BaseCommand

from irlearn.newsletter.scheduling import issue_send_sweep
from irlearn.taskresults import task_results_sweep


class Command(BaseCommand):
    help = (
        "Set going again every newsletter send that has lost its workers, and start scheduled "
        "issues whose time has passed; prune old task results and keep their hourly pruning "
        "going. Run it whenever a task worker starts; safe at any time."
    )

    def handle(self, *args, **options):
        issue_ids = issue_send_sweep()
        if issue_ids:
            self.stdout.write(f"Set going: issue {', '.join(map(str, issue_ids))}.")
        elif options["verbosity"] > 1:
            self.stdout.write("Nothing to do: every send has a task waiting.")
        # The worker's start is the one moment every deployment runs something: the hourly
        # pruning (irlearn/taskresults.py) is set going again here if it has stopped.
        if task_results_sweep() and options["verbosity"] > 1:
            self.stdout.write("Pruned old task results; the next pruning waits in the queue.")
