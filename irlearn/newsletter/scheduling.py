"""When an issue goes out: the 28-day rule, scheduling, "Send now", and the sweep.

Starting a send queues the deliveries (engine.deliveries_queue) and, once that has committed,
sets NEWSLETTER_SEND_TASKS send tasks going (tasks.py); the workers do the sending (engine.py).
The sweep (``manage.py newsletter_sweep``, run whenever a worker starts) starts scheduled issues
whose time has passed and gives fresh send tasks to every send that has lost its workers.
"""

import contextlib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from irlearn.newsletter import engine, queue, tasks
from irlearn.newsletter.models import Delivery, Issue

MIN_DAYS_BETWEEN_ISSUES = 28


class SendError(Exception):
    """A send that cannot start (wrong state); the message says why."""


def too_soon(issue: Issue) -> Issue | None:
    """The previous issue, if it went out less than 28 days ago (we promise < 1 a month)."""
    previous = Issue.objects.last_sent(exclude=issue)
    if previous and timezone.now() - previous.started_at < timedelta(days=MIN_DAYS_BETWEEN_ISSUES):
        return previous
    return None


def issue_schedule(*, issue: Issue, when, confirm_too_soon: bool = False) -> Issue:
    """Send ``issue`` at ``when`` (a task deferred to then starts it; the sweep does, should
    that task be lost). Raises SendError for an issue that has started, or within 28 days of
    the last one unless ``confirm_too_soon``."""
    if not issue.is_editable:
        raise SendError(
            f"This issue is {issue.get_status_display().lower()}; it cannot be scheduled."
        )
    if too_soon(issue) and not confirm_too_soon:
        raise SendError("The last issue went out less than 28 days ago: confirm to send anyway.")
    with transaction.atomic():
        issue.status = Issue.Status.SCHEDULED
        issue.scheduled_for = when
        issue.save(update_fields=["status", "scheduled_for"])
        transaction.on_commit(
            lambda: tasks.enqueue_deferred(
                tasks.issue_send_scheduled, run_after=when, issue_id=issue.pk
            )
        )
    return issue


def issue_send_start(*, issue_id: int, confirm_too_soon: bool = False) -> Issue:
    """Queue one delivery per subscribed address and set the workers going.

    The issue's row is locked while the deliveries are queued, so a second "Send now" (or the
    scheduled task, or the sweep) waits and then finds it sending: it raises SendError, as it
    does within 28 days of the last issue unless ``confirm_too_soon``.
    """
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue_id)
        if not issue.is_editable:
            raise SendError(f"This issue is {issue.get_status_display().lower()} already.")
        if too_soon(issue) and not confirm_too_soon:
            raise SendError(
                "The last issue went out less than 28 days ago: confirm to send anyway."
            )
        engine.deliveries_queue(issue=issue)
        transaction.on_commit(lambda: tasks.send_tasks_enqueue(issue_id=issue.pk))
    return issue


def issue_send_sweep() -> list[int]:
    """Set going every send that has lost its workers; return the ids of the issues set going.

    Starts scheduled issues whose time has passed, and gives every issue still sending fresh send
    tasks when it needs them (``_needs_send_tasks``). ``manage.py newsletter_sweep`` runs it; run
    that whenever a worker starts (and from cron if you like): it is safe to run at any time.
    """
    set_going = []
    overdue = Issue.objects.scheduled_due(timezone.now())
    for issue_id in overdue.values_list("pk", flat=True):
        with contextlib.suppress(SendError):  # its own task has just started it
            # Scheduling asked about the 28 days already.
            issue_send_start(issue_id=issue_id, confirm_too_soon=True)
            set_going.append(issue_id)
    sending = Issue.objects.sending().exclude(pk__in=set_going)
    for issue_id in sending.values_list("pk", flat=True):
        if _needs_send_tasks(issue_id):
            tasks.send_tasks_enqueue(issue_id=issue_id)
            set_going.append(issue_id)
    return set_going


def _needs_send_tasks(issue_id: int) -> bool:
    """Whether a send needs fresh tasks: no send task waits to run now, and either none waits
    at all (the chain of successors has ended) or deliveries wait for nothing but a lease.

    A successor deferred to later does not count as waiting when deliveries could go out now or
    as soon as a killed worker's leases run out: restarted workers would sit idle until it came
    due. What waits for a retry (an outage, a refusal) is left to the successor.
    """
    waiting = queue.tasks_waiting(tasks.issue_send, issue_id=issue_id)
    if waiting is None:
        return True  # the backend cannot tell: fresh tasks are harmless
    due_now, deferred = waiting
    if due_now:
        return False
    if not deferred:
        return True
    return Delivery.objects.of_issue(issue_id).sendable(timezone.now()).exists()
