"""Sending an issue: crash-safe, resumable, never twice on purpose.

Starting a send writes one Delivery row per subscribed address, in one transaction. Workers then
claim small batches under a lease (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite
serialises writers), send them over one SMTP connection, and mark each delivery as it goes. A
worker killed mid-batch leaves its deliveries leased; when the lease runs out any worker takes
them back, so at most the messages in flight at the kill are sent twice. Each send task enqueues
its own successor (deferred past the lease) before it starts, which is the recurring sweep that
finishes a send after a crash without anyone having to notice.
"""

import logging
import smtplib
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from irlearn.newsletter import tokens
from irlearn.newsletter.models import Delivery, Issue, Subscriber
from irlearn.newsletter.services import absolute_url

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
INSERT_BATCH = 2000
MIN_DAYS_BETWEEN_ISSUES = 28


class SendError(Exception):
    """A send that cannot start (wrong state); the message says why."""


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a failed delivery: 1, 4, 16, 64 minutes..."""
    return timedelta(minutes=4 ** max(attempts - 1, 0))


def last_sent_issue(exclude=None):
    issues = Issue.objects.filter(status__in=[Issue.Status.SENT, Issue.Status.SENDING])
    if exclude is not None:
        issues = issues.exclude(pk=exclude.pk)
    return issues.exclude(started_at=None).order_by("-started_at").first()


def too_soon(issue) -> Issue | None:
    """The previous issue, if it went out less than 28 days ago (we promise < 1 a month)."""
    previous = last_sent_issue(exclude=issue)
    if previous and timezone.now() - previous.started_at < timedelta(days=MIN_DAYS_BETWEEN_ISSUES):
        return previous
    return None


def issue_schedule(*, issue: Issue, when, confirm_too_soon: bool = False) -> Issue:
    """Send ``issue`` at ``when`` (the worker starts it then)."""
    from irlearn.newsletter.tasks import issue_send_scheduled

    if issue.status not in (Issue.Status.DRAFT, Issue.Status.SCHEDULED):
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
            lambda: _enqueue(issue_send_scheduled, run_after=when, issue_id=issue.pk)
        )
    return issue


def issue_send_start(*, issue_id: int, confirm_too_soon: bool = False) -> Issue:
    """Queue one delivery per subscribed address and set the workers going."""
    from irlearn.newsletter.tasks import issue_send

    with transaction.atomic():
        issue = Issue.objects.select_for_update().get(pk=issue_id)
        if issue.status not in (Issue.Status.DRAFT, Issue.Status.SCHEDULED):
            raise SendError(f"This issue is {issue.get_status_display().lower()} already.")
        if too_soon(issue) and not confirm_too_soon:
            raise SendError(
                "The last issue went out less than 28 days ago: confirm to send anyway."
            )
        subscriber_ids = (
            Subscriber.objects.filter(status=Subscriber.Status.SUBSCRIBED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        batch = []
        for subscriber_id in subscriber_ids.iterator(chunk_size=INSERT_BATCH):
            batch.append(Delivery(issue_id=issue.pk, subscriber_id=subscriber_id))
            if len(batch) >= INSERT_BATCH:
                Delivery.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        Delivery.objects.bulk_create(batch, ignore_conflicts=True)
        issue.status = Issue.Status.SENDING
        issue.started_at = timezone.now()
        issue.last_error = ""
        issue.save(update_fields=["status", "started_at", "last_error"])
        for _ in range(settings.NEWSLETTER_SEND_TASKS):
            transaction.on_commit(lambda: issue_send.enqueue(issue_id=issue.pk))
    return issue


def _enqueue(task, *, run_after=None, **kwargs):
    """Enqueue, deferred where the backend can defer (the immediate backend in tests cannot)."""
    if run_after is not None and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    elif run_after is not None:
        return None
    return task.enqueue(**kwargs)


def issue_send_work(*, issue_id: int) -> int:
    """Send claimable deliveries of ``issue_id`` until none is left; return how many were sent.

    Safe to run in any number of workers at once, and again after a crash.
    """
    from irlearn.newsletter.tasks import issue_send

    issue = Issue.objects.filter(pk=issue_id, status=Issue.Status.SENDING).first()
    if issue is None:
        return 0
    # The sweep: should this worker die, its successor picks up after the lease has expired.
    _enqueue(
        issue_send, run_after=timezone.now() + LEASE + timedelta(seconds=15), issue_id=issue_id
    )
    sent = 0
    while ids := claim_batch(issue_id=issue_id):
        sent += send_batch(issue=issue, delivery_ids=ids)
    issue_finish_if_done(issue_id=issue_id)
    return sent


def claimable(issue_id, now):
    return Delivery.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        issue_id=issue_id,
        status=Delivery.Status.QUEUED,
    )


def claim_batch(*, issue_id: int, size: int = BATCH_SIZE) -> list[int]:
    """Lease up to ``size`` deliveries to this worker; no two workers get the same one."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            claimable(issue_id, now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(
                lease_until=now + LEASE, attempts=F("attempts") + 1
            )
    return ids


def build_message(issue: Issue, subscriber_id: int, email: str) -> EmailMultiAlternatives:
    unsubscribe_url = absolute_url(
        reverse(
            "newsletter:unsubscribe",
            kwargs={"token": tokens.unsubscribe_token(Subscriber(pk=subscriber_id))},
        )
    )
    context = {"issue": issue, "unsubscribe_url": unsubscribe_url, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        issue.subject,
        render_to_string("newsletter/email/issue.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [email],
        headers={
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": make_msgid(domain=settings.NEWSLETTER_MESSAGE_ID_DOMAIN),
        },
    )
    message.attach_alternative(
        render_to_string("newsletter/email/issue.html", context), "text/html"
    )
    return message


def send_batch(*, issue: Issue, delivery_ids: list[int]) -> int:
    """Send the claimed deliveries over one SMTP connection, recording each as it goes."""
    deliveries = list(
        Delivery.objects.filter(pk__in=delivery_ids).select_related("subscriber").order_by("pk")
    )
    sent = 0
    try:
        connection = get_connection()
        connection.open()
    except (smtplib.SMTPException, OSError) as error:
        _retry_later(deliveries, f"Cannot reach the mail server: {error}")
        Issue.objects.filter(pk=issue.pk).update(
            last_error=f"Cannot reach the mail server: {error}"
        )
        return 0
    try:
        for delivery in deliveries:
            # Unsubscribing takes effect at once, even halfway through a send.
            email = (
                Subscriber.objects.filter(
                    pk=delivery.subscriber_id, status=Subscriber.Status.SUBSCRIBED
                )
                .values_list("email", flat=True)
                .first()
            )
            if email is None:
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=Delivery.Status.SKIPPED, lease_until=None
                )
                continue
            message = build_message(issue, delivery.subscriber_id, email)
            try:
                connection.send_messages([message])
            except (smtplib.SMTPException, OSError) as error:
                _retry_later([delivery], str(error))
                Issue.objects.filter(pk=issue.pk).update(last_error=f"{email}: {error}"[:1000])
                if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
                    connection.close()
                    connection.open()
                continue
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SENT,
                message_id=message.extra_headers["Message-ID"],
                sent_at=timezone.now(),
                lease_until=None,
                error="",
            )
            sent += 1
    finally:
        connection.close()
    return sent


def _retry_later(deliveries, error: str) -> None:
    now = timezone.now()
    for delivery in deliveries:
        attempts = (
            Delivery.objects.filter(pk=delivery.pk).values_list("attempts", flat=True).first()
        )
        if attempts is None:
            continue
        if attempts >= MAX_ATTEMPTS:
            changes = {"status": Delivery.Status.FAILED}
        else:
            changes = {"next_attempt_at": now + backoff(attempts)}
        Delivery.objects.filter(pk=delivery.pk).update(
            lease_until=None, error=error[:1000], **changes
        )


def issue_finish_if_done(*, issue_id: int) -> None:
    """Mark the issue sent once no delivery is left queued."""
    with transaction.atomic():
        issue = (
            Issue.objects.select_for_update()
            .filter(pk=issue_id, status=Issue.Status.SENDING)
            .first()
        )
        if issue is None or issue.deliveries.filter(status=Delivery.Status.QUEUED).exists():
            return
        counts = issue_counts(issue)
        issue.status = (
            Issue.Status.FAILED if counts["failed"] and not counts["sent"] else Issue.Status.SENT
        )
        issue.finished_at = timezone.now()
        issue.save(update_fields=["status", "finished_at"])


def issue_counts(issue: Issue) -> dict:
    """Live counts for the issue page: queued, sent, failed, skipped."""
    counts = dict.fromkeys(Delivery.Status.values, 0)
    for row in issue.deliveries.values("status").annotate(n=Count("pk")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def issue_send_test(*, issue: Issue, email: str) -> None:
    """Send one copy to ``email`` (a staff member checking the issue); records nothing."""
    message = build_message(issue, 0, email)
    message.subject = f"[Test] {message.subject}"
    message.send()
