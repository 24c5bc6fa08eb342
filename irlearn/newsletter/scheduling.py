"""When an issue goes out: the 28-day rule, scheduling and cancelling, "Send now", and the
sweep.

Starting a send queues the deliveries (engine.deliveries_queue) and, once that has committed,
sets NEWSLETTER_SEND_TASKS send tasks going (tasks.py); the workers do the sending (engine.py).
The sweep (``manage.py newsletter_sweep``, run whenever a worker starts) starts scheduled issues
whose time has passed and gives fresh send tasks to every send that has lost its workers.
"""

import contextlib

from django.db import transaction
from django.utils import timezone

from irlearn.newsletter import engine, queue, tasks
from irlearn.newsletter.models import Delivery, Issue

MIN_DAYS_BETWEEN_ISSUES = 28


class SendError(Exception):
    """A send that cannot start (wrong state); the message says why."""


def too_soon(issue: Issue, when=None) -> Issue | None:
    """The other issue that goes out within 28 days of ``issue`` going out at ``when`` (now if
    None), before or after it: one sent or sending (counted from when it started) or one
    scheduled (for its time). None when there is none: we promise fewer than one a month."""
    return Issue.objects.going_out_near(
        when or timezone.now(), days=MIN_DAYS_BETWEEN_ISSUES, exclude=issue
    )


TOO_SOON = (
    "Another issue goes out less than 28 days before or after this one: confirm to send anyway."
)


def issue_schedule(*, issue: Issue, when, confirm_too_soon: bool = False) -> Issue:
    """Send ``issue`` at ``when`` (a task deferred to then starts it; the sweep does, should
    that task be lost); a scheduled issue is moved to the new time. Raises SendError for an
    issue that has started, or for one within 28 days of ``when`` of another issue unless
    ``confirm_too_soon``.

    The issue's row is locked while it is scheduled, so scheduling and the send starting (its
    task, the sweep, "Send now") take turns: an issue that started meanwhile is not scheduled.
    """
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue.pk)
        if not issue.is_editable:
            raise SendError(
                f"This issue is {issue.get_status_display().lower()}; it cannot be scheduled."
            )
        if too_soon(issue, when) and not confirm_too_soon:
            raise SendError(TOO_SOON)
        issue.status = Issue.Status.SCHEDULED
        issue.scheduled_for = when
        issue.save(update_fields=["status", "scheduled_for"])
        transaction.on_commit(
            lambda: tasks.enqueue_deferred(
                tasks.issue_send_scheduled, run_after=when, issue_id=issue.pk
            )
        )
    return issue


def issue_schedule_cancel(*, issue_id: int) -> Issue:
    """Take a scheduled issue back to draft; its waiting task then finds nothing to start.

    The row is locked as when a send starts, so an issue whose time came meanwhile is sending,
    and this raises SendError instead of cancelling it.
    """
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue_id)
        if issue.status != Issue.Status.SCHEDULED:
            raise SendError(
                f"This issue is {issue.get_status_display().lower()}, not scheduled: "
                "there is nothing to cancel."
            )
        issue.status = Issue.Status.DRAFT
        issue.scheduled_for = None
        issue.save(update_fields=["status", "scheduled_for"])
    return issue


def issue_send_start(*, issue_id: int, confirm_too_soon: bool = False) -> Issue:
    """Queue one delivery per address of the issue's audience and set the workers going.

    The issue's row is locked while the deliveries are queued, so a second "Send now" (or the
    scheduled task, or the sweep) waits and then finds it sending: it raises SendError, as it
    does within 28 days of another issue unless ``confirm_too_soon``.
    """
    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue_id)
        if not issue.is_editable:
            raise SendError(f"This issue is {issue.get_status_display().lower()} already.")
        if too_soon(issue) and not confirm_too_soon:
            raise SendError(TOO_SOON)
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
