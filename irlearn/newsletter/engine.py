"""The worker side of a send: crash-safe, resumable, never twice on purpose.

Starting a send (scheduling.py) writes one Delivery row per address of the issue's audience
(every confirmed subscriber, or a segment of them), in one transaction (``deliveries_queue``).
Send tasks (tasks.py) then run ``issue_send_work``: they claim small batches under a lease
(SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite BEGIN IMMEDIATE serialises writers)
and send each batch over one connection to the mail server (transport.py):

- Before sending a batch the worker renews its leases, on condition that nobody has claimed them
  since (every claim adds one to ``attempts``, which makes the claim number a fencing token); a
  batch that runs past half its lease renews each delivery just before sending it. The worker
  marks each delivery sent as soon as the server has accepted the message. A worker that is
  merely slow therefore skips what another worker has taken over: two live workers never send
  one delivery twice.
- A worker killed mid-batch leaves its deliveries leased; when the lease runs out any worker takes
  them back. Only the message in flight at the kill can go out twice. A send task that finds
  nothing left to claim but deliveries leased to another worker waits for those leases to run
  out (at most one lease, and only while that worker is not seen sending), so a killed worker's
  batch goes out within about a lease of the kill.
- Each send task first enqueues its successor, deferred by ``successor_delay()`` (tasks.py): that
  chain, and the sweep when a worker starts (scheduling.py), finish a send after a crash.
- A mail server that cannot be reached costs no attempts: the batch waits and is tried again, and
  the issue says what is wrong. Only answers about one message (a refused recipient, rejected data)
  count towards MAX_ATTEMPTS; a permanent (5xx) refusal fails the delivery at once.
"""

import logging
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from irlearn.newsletter.messages import BatchTemplate
from irlearn.newsletter.models import Delivery, Issue, Subscriber
from irlearn.newsletter.transport import mail_server

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_ATTEMPTS = 5
INSERT_BATCH = 2000
# How long deliveries wait when the mail server cannot be reached or will not take mail.
SERVER_RETRY = timedelta(minutes=1)
# How often a send task waiting for another worker's leases looks again (it may finish meanwhile).
LEASE_POLL_SECONDS = 1.0


class MailServerUnavailable(Exception):
    """The mail server cannot be reached, or will not take mail from us just now."""


def lease() -> timedelta:
    """How long claimed deliveries belong to their worker (``NEWSLETTER_LEASE_SECONDS``).

    Keep it well above ``EMAIL_TIMEOUT``: one message must go out within its lease.
    """
    return timedelta(seconds=settings.NEWSLETTER_LEASE_SECONDS)


def successor_delay() -> timedelta:
    """When a send task's successor runs: after a dead worker's leases have run out, plus a bit."""
    return lease() + min(timedelta(seconds=15), lease())


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a failed delivery: 1, 4, 16, 64 minutes..."""
    return timedelta(minutes=4 ** max(attempts - 1, 0))


def deliveries_queue(*, issue: Issue) -> None:
    """Queue one delivery per address of ``issue``'s audience (confirmed subscribers only) and
    mark ``issue`` sending. Who gets it is settled here, once: the deliveries are the send.

    The caller runs this in a transaction that holds the issue's row lock, having checked that
    the issue may start, and enqueues the send tasks once it has committed.
    """
    subscriber_ids = (
        Subscriber.objects.recipients(issue.audience).order_by("pk").values_list("pk", flat=True)
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


def issue_send_work(*, issue_id: int) -> int:
    """Send claimable deliveries of ``issue_id`` until none is left; return how many were sent.

    When what is left is leased to other workers, wait for those leases (``claim_when_leases_end``).
    Safe to run in any number of workers at once, and again after a crash.
    """
    issue = Issue.objects.sending().filter(pk=issue_id).first()
    if issue is None:
        return 0
    sent = 0
    try:
        while claims := claim_batch(issue_id=issue_id) or claim_when_leases_end(issue_id=issue_id):
            sent += send_batch(issue=issue, claims=claims)
    except MailServerUnavailable as error:
        # The batch waits SERVER_RETRY; a successor tries again rather than this worker spinning.
        logger.warning("Newsletter issue %s: %s", issue_id, error)
    issue_finish_if_done(issue_id=issue_id)
    return sent


def claim_batch(*, issue_id: int, size: int = BATCH_SIZE) -> dict[int, int]:
    """Lease up to ``size`` deliveries to this worker; no two workers get the same one.

    Returns ``{delivery id: claim number}``. The claim number is the delivery's ``attempts`` after
    this claim: should the lease run out and another worker claim the delivery, the number in the
    row moves on, and this worker can tell that the delivery is no longer its to send.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.of_issue(issue_id)
            .claimable(now)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return {}
        Delivery.objects.filter(pk__in=ids).update(
            lease_until=now + lease(), attempts=F("attempts") + 1
        )
        # Still inside the transaction that holds the rows, so these are this claim's numbers.
        return dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "attempts"))


def claim_when_leases_end(*, issue_id: int) -> dict[int, int]:
    """Wait for the leases of other workers to run out and claim what they held; ``{}`` when
    there is nothing to wait for.

    For a send task that has nothing left to claim. What is left may be the batch of a worker
    that was killed: its leases run out within one lease, and taking it back then, rather than
    leaving it to a successor deferred beyond a lease, lets a restarted worker finish the send
    within about a lease of the kill. Only a live worker moves on, so the wait ends when another
    worker records a delivery (it will send the rest of its batch) or when the first lease ends
    later than one lease from the start of the wait (renewed since, on a slow server), and at
    once when what is left waits for a retry, not a lease: the successor chain comes back for
    those. Never longer than two leases, whatever the clocks say.
    """
    wait_until = timezone.now() + lease()
    give_up = time.monotonic() + 2 * lease().total_seconds()
    queued_before = None
    while time.monotonic() < give_up:
        now = timezone.now()
        left = (
            Delivery.objects.of_issue(issue_id)
            .sendable(now)
            .aggregate(queued=Count("pk"), lease_ends=Min("lease_until"))
        )
        if left["lease_ends"] is None or left["lease_ends"] > wait_until:
            return {}  # nothing is leased, or only to workers that are alive
        if queued_before is not None and left["queued"] < queued_before:
            return {}  # another worker is sending
        queued_before = left["queued"]
        if left["lease_ends"] >= now:
            # Look again when the first lease ends, or sooner: its worker may finish first.
            time.sleep(min((left["lease_ends"] - now).total_seconds(), LEASE_POLL_SECONDS))
        elif claims := claim_batch(issue_id=issue_id):
            return claims
        else:
            time.sleep(LEASE_POLL_SECONDS)  # another worker was claiming it: see who has it now
    return {}


def send_batch(*, issue: Issue, claims: dict[int, int]) -> int:
    """Send the claimed deliveries over one connection to the mail server, recording each as it
    goes.

    Returns how many were sent. Raises MailServerUnavailable, after putting the deliveries not yet
    sent back to wait, when the server cannot be reached or stops taking mail.
    """
    if not _renew_leases(claims):
        return 0
    renewed_at = time.monotonic()
    deliveries = list(
        Delivery.objects.claimed(claims).to_subscribed().select_related("subscriber").order_by("pk")
    )
    server = mail_server()
    try:
        server.open()
    except OSError as error:  # smtplib.SMTPException is an OSError too
        server.close()
        _server_unavailable(issue, deliveries, claims, error)
    sent = 0
    template = None  # rendered and serialised once for the batch, at its first message
    try:
        for position, delivery in enumerate(deliveries):
            claim = claims[delivery.pk]
            # Within half a lease of renewing it, the batch is ours for sure; a batch slow
            # enough to run past that checks and renews each delivery before sending it.
            past_half_lease = time.monotonic() - renewed_at > lease().total_seconds() / 2
            if past_half_lease and not _renew_leases({delivery.pk: claim}):
                continue
            try:
                template = template or BatchTemplate(issue)
                message = template.message(delivery.subscriber_id, delivery.subscriber.email)
                server.send(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
                if 421 in _codes(error):  # "service not available, closing channel"
                    _server_unavailable(issue, deliveries[position:], claims, error)
                # The server answered about this message alone: count it against the delivery.
                permanent = all(code >= 500 for code in _codes(error))
                _attempt_failed(delivery, claim, _describe(error), permanent=permanent)
                continue
            except OSError as error:
                # The connection, not the message: everything not yet sent waits for the server.
                _server_unavailable(issue, deliveries[position:], claims, error)
            except Exception as error:
                # A message we cannot even build must not stall the send: count it and go on.
                logger.exception("Newsletter delivery %s could not be sent", delivery.pk)
                _attempt_failed(delivery, claim, repr(error), permanent=False)
                continue
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.SENT,
                message_id=message.message_id,
                sent_at=timezone.now(),
                lease_until=None,
                error="",
            )
            sent += 1
    finally:
        server.close()
    if sent:
        # The server is taking mail again: the issue page stops reporting the last outage.
        Issue.objects.filter(pk=issue.pk).exclude(last_error="").update(last_error="")
    return sent


def _renew_leases(claims: dict[int, int]) -> int:
    """Renew the leases of the claimed deliveries that are still ours and still wanted, and
    skip those whose subscriber has left: unsubscribing takes effect at once, even for a batch
    claimed before it. Returns how many are still to send."""
    ours = Delivery.objects.claimed(claims)
    ours.to_unsubscribed().update(status=Delivery.Status.SKIPPED, lease_until=None)
    return ours.to_subscribed().update(lease_until=timezone.now() + lease())


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{recipient}: {code} {reply.decode(errors='replace')}"
            for recipient, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return str(error) or repr(error)


def _codes(error: smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError) -> list[int]:
    """The SMTP reply codes: a 5xx answer will not change if we ask again; a 4xx one may."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return [code for code, _ in error.recipients.values()]
    return [error.smtp_code]


def _attempt_failed(delivery: Delivery, claim: int, error: str, *, permanent: bool) -> None:
    """Record a failed attempt: retry after a backoff, or give up after MAX_ATTEMPTS."""
    if permanent or claim >= MAX_ATTEMPTS:
        changes = {"status": Delivery.Status.FAILED}
    else:
        changes = {"next_attempt_at": timezone.now() + backoff(claim)}
    Delivery.objects.claimed({delivery.pk: claim}).update(
        lease_until=None, error=error[:1000], **changes
    )


def _server_unavailable(issue: Issue, deliveries, claims: dict[int, int], error: Exception):
    """Put the unsent deliveries back to wait (the outage costs them no attempt), tell the
    issue page, and stop this worker's run with MailServerUnavailable."""
    description = f"Cannot send through the mail server: {_describe(error)}"[:1000]
    retry_at = timezone.now() + SERVER_RETRY
    Delivery.objects.claimed({delivery.pk: claims[delivery.pk] for delivery in deliveries}).update(
        lease_until=None, next_attempt_at=retry_at, attempts=F("attempts") - 1, error=description
    )
    Issue.objects.filter(pk=issue.pk).update(last_error=description)
    raise MailServerUnavailable(description) from error


def issue_finish_if_done(*, issue_id: int) -> None:
    """Mark the issue sent once no delivery is left queued."""
    with transaction.atomic():
        issue = Issue.objects.select_for_update().sending().filter(pk=issue_id).first()
        if issue is None or issue.deliveries.queued().exists():
            return
        counts = issue.deliveries.status_counts()
        issue.status = (
            Issue.Status.FAILED if counts["failed"] and not counts["sent"] else Issue.Status.SENT
        )
        issue.finished_at = timezone.now()
        issue.save(update_fields=["status", "finished_at"])
