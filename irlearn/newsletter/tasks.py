"""Background work of the newsletter: thin wrappers around services and sending."""

import contextlib

from django.tasks import task
from django.utils import timezone

from irlearn.newsletter import sending


@task
def email_confirmation_send(*, subscriber_id: int) -> None:
    from irlearn.newsletter.models import Subscriber
    from irlearn.newsletter.services import confirmation_message

    subscriber = Subscriber.objects.filter(pk=subscriber_id).exclude(email=None).first()
    if subscriber and not subscriber.is_subscribed:
        confirmation_message(subscriber).send()


@task
def issue_send(*, issue_id: int) -> int:
    return sending.issue_send_work(issue_id=issue_id)


@task
def issue_send_scheduled(*, issue_id: int) -> None:
    from irlearn.newsletter.models import Issue

    # A rescheduled issue leaves its old task behind: only the task for the current time starts it.
    due = Issue.objects.filter(
        pk=issue_id, status=Issue.Status.SCHEDULED, scheduled_for__lte=timezone.now()
    )
    if due.exists():
        # Scheduling asked about the 28 days already. SendError: the sweep has just started it.
        with contextlib.suppress(sending.SendError):
            sending.issue_send_start(issue_id=issue_id, confirm_too_soon=True)
