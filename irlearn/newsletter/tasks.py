"""Background work of the newsletter: thin wrappers around the worker side (engine.py,
messages.py). Services and scheduling enqueue these tasks; nothing a task calls imports them."""

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from irlearn.newsletter import engine
from irlearn.newsletter.messages import confirmation_message
from irlearn.newsletter.models import Issue, Subscriber


@task
def email_confirmation_send(*, subscriber_id: int) -> None:
    subscriber = Subscriber.objects.not_erased().filter(pk=subscriber_id).first()
    if subscriber and not subscriber.is_subscribed:
        confirmation_message(subscriber).send()


@task
def issue_send(*, issue_id: int) -> int:
    if not Issue.objects.sending().filter(pk=issue_id).exists():
        return 0
    # The sweep: should this worker die, its successor picks up after the lease has expired.
    enqueue_deferred(
        issue_send, run_after=timezone.now() + engine.successor_delay(), issue_id=issue_id
    )
    return engine.issue_send_work(issue_id=issue_id)


@task
def issue_send_scheduled(*, issue_id: int) -> None:
    # A rescheduled issue leaves its old task behind: only the task for the current time starts
    # it, and only if the sweep has not started it already. Scheduling asked about the 28 days.
    with transaction.atomic():
        issue = (
            Issue.objects.scheduled_due(timezone.now())
            .select_for_update()
            .filter(pk=issue_id)
            .first()
        )
        if issue is not None:
            engine.deliveries_queue(issue=issue)
            transaction.on_commit(lambda: send_tasks_enqueue(issue_id=issue_id))


def send_tasks_enqueue(*, issue_id: int) -> None:
    """Set NEWSLETTER_SEND_TASKS send tasks going on the issue."""
    for _ in range(settings.NEWSLETTER_SEND_TASKS):
        issue_send.enqueue(issue_id=issue_id)


def enqueue_deferred(task, *, run_after, **kwargs):
    """Enqueue ``task`` to run after ``run_after`` where the backend can defer; where it cannot
    (the immediate backend in tests) enqueue nothing."""
    if not task.get_backend().supports_defer:
        return None
    return task.using(run_after=run_after).enqueue(**kwargs)
