"""Sending an issue: crash-safe, resumable, never twice on purpose.

Starting a send writes one Delivery row per subscribed address, in one transaction. Workers then
claim small batches under a lease (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite
BEGIN IMMEDIATE serialises writers) and send each batch over one SMTP connection:

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
- Each send task first enqueues its successor, deferred until the leases of a dead worker have run
  out: that chain is the recurring sweep which finishes a send after a crash. Those successors
  are due only later, so ``issue_send_sweep`` (``manage.py newsletter_sweep``, run whenever a
  worker starts) gives a send fresh tasks when none is due to run now and deliveries wait for
  nothing but a lease; it also sets going again a send whose chain has ended (a worker killed in
  the instant between taking a task and enqueueing the successor).
- A mail server that cannot be reached costs no attempts: the batch waits and is tried again, and
  the issue says what is wrong. Only answers about one message (a refused recipient, rejected data)
  count towards MAX_ATTEMPTS; a permanent (5xx) refusal fails the delivery at once.
"""

import contextlib
import email.policy
import logging
import re
import smtplib
import time
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import mailers
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from irlearn.mail import UnfoldedEmail
from irlearn.newsletter import tokens
from irlearn.newsletter.models import Delivery, Issue, Subscriber
from irlearn.newsletter.services import absolute_url

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_ATTEMPTS = 5
INSERT_BATCH = 2000
MIN_DAYS_BETWEEN_ISSUES = 28
# How long deliveries wait when the mail server cannot be reached or will not take mail.
SERVER_RETRY = timedelta(minutes=1)
# How often a send task waiting for another worker's leases looks again (it may finish meanwhile).
LEASE_POLL_SECONDS = 1.0


class SendError(Exception):
    """A send that cannot start (wrong state); the message says why."""


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

    When what is left is leased to other workers, wait for those leases (``claim_when_leases_end``).
    Safe to run in any number of workers at once, and again after a crash.
    """
    from irlearn.newsletter.tasks import issue_send

    issue = Issue.objects.filter(pk=issue_id, status=Issue.Status.SENDING).first()
    if issue is None:
        return 0
    # The sweep: should this worker die, its successor picks up after the lease has expired.
    _enqueue(issue_send, run_after=timezone.now() + successor_delay(), issue_id=issue_id)
    sent = 0
    try:
        while claims := claim_batch(issue_id=issue_id) or claim_when_leases_end(issue_id=issue_id):
            sent += send_batch(issue=issue, claims=claims)
    except MailServerUnavailable as error:
        # The batch waits SERVER_RETRY; a successor tries again rather than this worker spinning.
        logger.warning("Newsletter issue %s: %s", issue_id, error)
    issue_finish_if_done(issue_id=issue_id)
    return sent


def sendable(issue_id, now):
    """The issue's queued deliveries that no retry holds back: claimable now, or once a lease
    runs out."""
    return Delivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        issue_id=issue_id,
        status=Delivery.Status.QUEUED,
    )


def claimable(issue_id, now):
    return sendable(issue_id, now).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))


def claim_batch(*, issue_id: int, size: int = BATCH_SIZE) -> dict[int, int]:
    """Lease up to ``size`` deliveries to this worker; no two workers get the same one.

    Returns ``{delivery id: claim number}``. The claim number is the delivery's ``attempts`` after
    this claim: should the lease run out and another worker claim the delivery, the number in the
    row moves on, and this worker can tell that the delivery is no longer its to send.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            claimable(issue_id, now)
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
        left = sendable(issue_id, now).aggregate(queued=Count("pk"), lease_ends=Min("lease_until"))
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


# Stands in for each recipient's unsubscribe address in bodies rendered once for a whole batch:
# letters and digits only, so HTML escaping leaves it as it is and it can be swapped afterwards.
UNSUBSCRIBE_PLACEHOLDER = "IRLEARNUNSUBSCRIBEURL0PLACEHOLDER"


def render_bodies(issue: Issue) -> tuple[str, str]:
    """The issue's plain-text and HTML bodies, with UNSUBSCRIBE_PLACEHOLDER for the address."""
    context = {
        "issue": issue,
        "unsubscribe_url": UNSUBSCRIBE_PLACEHOLDER,
        "site_url": settings.SITE_URL,
    }
    return (
        render_to_string("newsletter/email/issue.txt", context),
        render_to_string("newsletter/email/issue.html", context),
    )


def unsubscribe_url(subscriber_id: int) -> str:
    return absolute_url(
        reverse(
            "newsletter:unsubscribe",
            kwargs={"token": tokens.unsubscribe_token(Subscriber(pk=subscriber_id))},
        )
    )


class PreparedEmail(UnfoldedEmail):
    """An email that Django's SMTP backend sends as bytes serialised beforehand (BatchTemplate).

    ``serialised`` is what ``message(policy=email.policy.SMTP).as_bytes()`` would return. Every
    other use (another backend, another policy, or ``serialised`` left None) builds the message
    as usual, so the test outbox and the console see an ordinary email.
    """

    serialised: bytes | None = None

    def message(self, *, policy=email.policy.default):
        if self.serialised is not None and policy is email.policy.SMTP:
            return _Serialised(self.serialised)
        return super().message(policy=policy)


class _Serialised:
    """All the SMTP backend asks of a message: its bytes."""

    def __init__(self, data: bytes):
        self.data = data

    def as_bytes(self, *args, **kwargs) -> bytes:
        return self.data


def _message(issue: Issue, email: str, url: str, message_id: str, bodies) -> PreparedEmail:
    text, html = bodies
    message = PreparedEmail(
        issue.subject,
        text.replace(UNSUBSCRIBE_PLACEHOLDER, url),
        settings.DEFAULT_FROM_EMAIL,
        [email],
        headers={
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs here.
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": message_id,
        },
    )
    message.attach_alternative(html.replace(UNSUBSCRIBE_PLACEHOLDER, url), "text/html")
    return message


def build_message(
    issue: Issue, subscriber_id: int, email: str, *, bodies: tuple[str, str] | None = None
) -> PreparedEmail:
    """The issue as sent to one subscriber. ``bodies`` (from render_bodies) saves rendering the
    templates again for every message of a batch."""
    message_id = make_msgid(domain=settings.NEWSLETTER_MESSAGE_ID_DOMAIN)
    return _message(
        issue, email, unsubscribe_url(subscriber_id), message_id, bodies or render_bodies(issue)
    )


# What differs from one message of a batch to the next, as markers in the one serialised copy.
RECIPIENT_MARKER = "irlearn-recipient-0-placeholder@example.invalid"
MESSAGE_ID_MARKER = "<IRLEARNMESSAGEID0PLACEHOLDER@example.invalid>"
# An address the email package writes into the To header unchanged (RFC 5322 dot-atoms, ASCII).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


class BatchTemplate:
    """The issue rendered and serialised once for a batch; each message is that copy with the
    recipient's address, unsubscribe link and Message-ID put in.

    Serialising with Python's email package (headers parsed, checked and folded) costs several
    milliseconds a message, more than everything else a send does. The copy is used only when
    every marker is found exactly where the message needs it, and only for plain ASCII
    addresses, and only when the bodies are written as they are (7bit or 8bit); otherwise (a
    body line so long that the email package encodes the body as quoted-printable, an
    internationalised address) each message is serialised on its own, as before.
    """

    def __init__(self, issue: Issue):
        self.issue = issue
        self.bodies = render_bodies(issue)
        copy = _message(
            issue, RECIPIENT_MARKER, UNSUBSCRIBE_PLACEHOLDER, MESSAGE_ID_MARKER, self.bodies
        )
        serialised = copy.message(policy=email.policy.SMTP)
        data = serialised.as_bytes()
        # Text written as it is: a link put into quoted-printable or base64 would be garbled.
        as_written = all(
            part.get("Content-Transfer-Encoding", "7bit") in ("7bit", "8bit")
            for part in serialised.walk()
            if not part.is_multipart()
        )
        links = sum(body.count(UNSUBSCRIBE_PLACEHOLDER) for body in self.bodies)
        expected = {UNSUBSCRIBE_PLACEHOLDER: links + 1, RECIPIENT_MARKER: 1, MESSAGE_ID_MARKER: 1}
        found = all(data.count(marker.encode()) == n for marker, n in expected.items())
        self.serialised = data if as_written and found else None

    def message(self, subscriber_id: int, address: str) -> PreparedEmail:
        url = unsubscribe_url(subscriber_id)
        message_id = make_msgid(domain=settings.NEWSLETTER_MESSAGE_ID_DOMAIN)
        message = _message(self.issue, address, url, message_id, self.bodies)
        if self.serialised is not None and PLAIN_ADDRESS.fullmatch(address):
            message.serialised = (
                self.serialised.replace(UNSUBSCRIBE_PLACEHOLDER.encode(), url.encode())
                .replace(RECIPIENT_MARKER.encode(), address.encode())
                .replace(MESSAGE_ID_MARKER.encode(), message_id.encode())
            )
        return message


def send_batch(*, issue: Issue, claims: dict[int, int]) -> int:
    """Send the claimed deliveries over one SMTP connection, recording each as it goes.

    Returns how many were sent. Raises MailServerUnavailable, after putting the deliveries not yet
    sent back to wait, when the server cannot be reached or stops taking mail.
    """
    if not _renew_leases(claims):
        return 0
    renewed_at = time.monotonic()
    deliveries = list(_ours(claims).filter(SUBSCRIBED).select_related("subscriber").order_by("pk"))
    connection = mailers.default
    try:
        connection.open()
    except OSError as error:  # smtplib.SMTPException is an OSError too
        _close_quietly(connection)
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
                connection.send_messages([message])
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
                message_id=message.extra_headers["Message-ID"],
                sent_at=timezone.now(),
                lease_until=None,
                error="",
            )
            sent += 1
    finally:
        _close_quietly(connection)
    if sent:
        # The server is taking mail again: the issue page stops reporting the last outage.
        Issue.objects.filter(pk=issue.pk).exclude(last_error="").update(last_error="")
    return sent


SUBSCRIBED = Q(subscriber__status=Subscriber.Status.SUBSCRIBED)


def _ours(claims: dict[int, int]):
    """The claimed deliveries still queued under this worker's claim numbers.

    A delivery whose lease ran out and which another worker claimed has a higher claim number,
    so it no longer matches: every write through this queryset is settled by the database, in
    the UPDATE's own condition, against a race with another worker's claim.
    """
    if not claims:
        return Delivery.objects.none()  # an empty Q() would match every queued delivery
    ours = Q()
    for pk, claim in claims.items():
        ours |= Q(pk=pk, attempts=claim)
    return Delivery.objects.filter(ours, status=Delivery.Status.QUEUED)


def _renew_leases(claims: dict[int, int]) -> int:
    """Renew the leases of the claimed deliveries that are still ours and still wanted, and
    skip those whose subscriber has left: unsubscribing takes effect at once, even for a batch
    claimed before it. Returns how many are still to send."""
    ours = _ours(claims)
    ours.exclude(SUBSCRIBED).update(status=Delivery.Status.SKIPPED, lease_until=None)
    return ours.filter(SUBSCRIBED).update(lease_until=timezone.now() + lease())


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
    _ours({delivery.pk: claim}).update(lease_until=None, error=error[:1000], **changes)


def _server_unavailable(issue: Issue, deliveries, claims: dict[int, int], error: Exception):
    """Put the unsent deliveries back to wait (the outage costs them no attempt), tell the
    issue page, and stop this worker's run with MailServerUnavailable."""
    description = f"Cannot send through the mail server: {_describe(error)}"[:1000]
    retry_at = timezone.now() + SERVER_RETRY
    _ours({delivery.pk: claims[delivery.pk] for delivery in deliveries}).update(
        lease_until=None, next_attempt_at=retry_at, attempts=F("attempts") - 1, error=description
    )
    Issue.objects.filter(pk=issue.pk).update(last_error=description)
    raise MailServerUnavailable(description) from error


def _close_quietly(connection) -> None:
    # Closing a connection the server has already dropped may fail again; that changes nothing.
    with contextlib.suppress(OSError):
        connection.close()


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


def issue_send_sweep() -> list[int]:
    """Set going every send that has lost its workers; return the ids of the issues set going.

    Starts scheduled issues whose time has passed, and gives every issue still sending fresh send
    tasks when it needs them (``_needs_send_tasks``). ``manage.py newsletter_sweep`` runs it; run
    that whenever a worker starts (and from cron if you like): it is safe to run at any time.
    """
    from irlearn.newsletter.tasks import issue_send

    set_going = []
    overdue = Issue.objects.filter(status=Issue.Status.SCHEDULED, scheduled_for__lte=timezone.now())
    for issue_id in overdue.values_list("pk", flat=True):
        with contextlib.suppress(SendError):  # its own task has just started it
            # Scheduling asked about the 28 days already.
            issue_send_start(issue_id=issue_id, confirm_too_soon=True)
            set_going.append(issue_id)
    sending = Issue.objects.filter(status=Issue.Status.SENDING).exclude(pk__in=set_going)
    for issue_id in sending.values_list("pk", flat=True):
        if _needs_send_tasks(issue_id):
            for _ in range(settings.NEWSLETTER_SEND_TASKS):
                issue_send.enqueue(issue_id=issue_id)
            set_going.append(issue_id)
    return set_going


def _needs_send_tasks(issue_id: int) -> bool:
    """Whether a send needs fresh tasks: no send task waits to run now, and either none waits
    at all (the chain of successors has ended) or deliveries wait for nothing but a lease.

    A successor deferred to later does not count as waiting when deliveries could go out now or
    as soon as a killed worker's leases run out: restarted workers would sit idle until it came
    due. What waits for a retry (an outage, a refusal) is left to the successor.
    """
    waiting = _send_tasks_waiting(issue_id)
    if waiting is None:
        return True  # the backend cannot tell: fresh tasks are harmless
    due_now, deferred = waiting
    if due_now:
        return False
    if not deferred:
        return True
    return sendable(issue_id, timezone.now()).exists()


def _send_tasks_waiting(issue_id: int) -> tuple[int, int] | None:
    """How many send tasks for the issue wait in the queue: (due to run now, deferred to later).

    "Due now" is what a worker takes next. The database backend (django-tasks-db) and RQ can
    tell; None when the backend cannot (the immediate backend in tests keeps no queue).
    """
    from django_tasks_db import DatabaseBackend

    from irlearn.newsletter.tasks import issue_send

    backend = issue_send.get_backend()
    if isinstance(backend, DatabaseBackend):
        return _database_send_tasks_waiting(backend, issue_id)
    from django_tasks_rq import RQBackend  # RQ and Redis's client only where they are used

    if isinstance(backend, RQBackend):
        return _rq_send_tasks_waiting(issue_id)
    return None


def _database_send_tasks_waiting(backend, issue_id: int) -> tuple[int, int]:
    """The one place that reads django-tasks-db's table; "due now" is its own ``ready()``."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from irlearn.newsletter.tasks import issue_send

    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        backend_name=backend.alias,
        task_path=issue_send.module_path,
        args_kwargs__kwargs__issue_id=issue_id,
    )
    due_now = waiting.ready().count()
    return due_now, waiting.count() - due_now


def _rq_send_tasks_waiting(issue_id: int) -> tuple[int, int]:
    """The one place that reads RQ's queue (through django-rq and RQ's public API).

    "Due now" is a job in the queue itself. A deferred job waits in the scheduled-job registry
    until a worker's scheduler moves it to the queue, and counts as deferred even once its
    time has come: only one worker runs the scheduler, and after that worker dies another one
    takes the scheduler over only minutes later, so such a job is not what a worker takes next.
    """
    import django_rq

    from irlearn.newsletter.tasks import issue_send

    queue = django_rq.get_queue(issue_send.queue_name)

    def ours(job_ids) -> int:
        jobs = queue.job_class.fetch_many(
            job_ids, connection=queue.connection, serializer=queue.serializer
        )
        return sum(
            1
            for job in jobs
            if job is not None
            and job.func_name == issue_send.module_path
            and job.kwargs.get("issue_id") == issue_id
        )

    return ours(queue.get_job_ids()), ours(queue.scheduled_job_registry.get_job_ids())


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
