"""The sending engine: one delivery per subscribed address, one email each, outages, retries,
leases, the sweep, and workers side by side.

``engine.issue_send_work`` is what a send task runs; calling it here plays one worker. The
end-to-end version with worker processes that get killed is test_fault.py.
"""

import email
import email.policy
import time
from collections import Counter
from datetime import timedelta
from io import StringIO

import django_rq
import pytest
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from freezegun import freeze_time

from irlearn.newsletter import engine, messages, scheduling, selectors, tasks, tokens
from irlearn.newsletter.models import Delivery, Issue, Subscriber
from tests.deployment import redis_database
from tests.factories import IssueFactory, SubscriberFactory
from tests.races import at_once
from tests.smtp import SmtpSink, free_port, mailers_for_port

# The sweep's tests on RQ: a Redis database of their own, emptied for each test.
RQ_REDIS_DATABASE = 10


@pytest.fixture
def sink(settings):
    with SmtpSink() as sink:
        settings.MAILERS = sink.mailers()
        yield sink


def erased_subscriber():
    return SubscriberFactory(email=None, status=Subscriber.Status.ERASED, erased_at=timezone.now())


def start_send(issue: Issue) -> None:
    """Start the send as the admin does. Inside a test's transaction the send tasks never run:
    the test plays the worker by calling issue_send_work."""
    scheduling.issue_send_start(issue_id=issue.pk)


def retries_fall_due(issue: Issue) -> None:
    """Time passes until every delivery waiting for a retry may be tried again."""
    issue.deliveries.filter(status=Delivery.Status.QUEUED).update(next_attempt_at=timezone.now())


def unsubscribe(client, subscriber) -> None:
    """The one-click unsubscribe of RFC 8058, as a mail programme sends it."""
    token = tokens.unsubscribe_token(subscriber)
    response = client.post(
        reverse("newsletter:unsubscribe", kwargs={"token": token}),
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200


# Starting a send ---------------------------------------------------------------------------


def test_starting_a_send_queues_one_delivery_for_each_subscribed_address_only(db):
    subscribed = SubscriberFactory.create_batch(3)
    SubscriberFactory(pending=True)
    SubscriberFactory(unsubscribed=True)
    erased_subscriber()
    issue = IssueFactory()

    start_send(issue)

    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING
    assert issue.started_at is not None
    assert sorted(issue.deliveries.values_list("subscriber_id", flat=True)) == sorted(
        subscriber.pk for subscriber in subscribed
    )
    assert selectors.issue_counts(issue) == {"queued": 3, "sent": 0, "failed": 0, "skipped": 0}


def test_starting_a_send_twice_is_refused_and_queues_nothing_more(db):
    SubscriberFactory.create_batch(2)
    issue = IssueFactory()
    start_send(issue)

    with pytest.raises(scheduling.SendError, match="sending already"):
        start_send(issue)

    assert issue.deliveries.count() == 2


def test_the_database_refuses_a_second_delivery_of_one_issue_to_one_subscriber(db):
    subscriber = SubscriberFactory()
    issue = IssueFactory()
    start_send(issue)

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(issue=issue, subscriber=subscriber)

    assert issue.deliveries.count() == 1


# Sending -----------------------------------------------------------------------------------


def test_every_subscribed_address_gets_exactly_one_email_recorded_with_its_message_id(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    # More than two batches, sent by the send tasks that starting the send enqueues.
    subscribers = SubscriberFactory.create_batch(2 * engine.BATCH_SIZE + 7)
    SubscriberFactory(unsubscribed=True)
    issue = IssueFactory()

    with django_capture_on_commit_callbacks(execute=True):
        start_send(issue)

    assert sorted(message.to[0] for message in mailoutbox) == sorted(s.email for s in subscribers)
    message_ids = {message.to[0]: message.extra_headers["Message-ID"] for message in mailoutbox}
    for delivery in issue.deliveries.select_related("subscriber"):
        assert delivery.status == Delivery.Status.SENT
        assert delivery.message_id == message_ids[delivery.subscriber.email]
        assert delivery.sent_at is not None
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert issue.finished_at is not None
    assert selectors.issue_counts(issue) == {
        "queued": 0,
        "sent": len(subscribers),
        "failed": 0,
        "skipped": 0,
    }


def test_each_message_of_a_batch_carries_its_own_subscribers_unsubscribe_link(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    subscribers = SubscriberFactory.create_batch(3)
    issue = IssueFactory()

    with django_capture_on_commit_callbacks(execute=True):
        start_send(issue)

    by_email = {subscriber.email: subscriber for subscriber in subscribers}
    for message in mailoutbox:
        token = tokens.unsubscribe_token(by_email[message.to[0]])
        url = reverse("newsletter:unsubscribe", kwargs={"token": token})
        html = message.alternatives[0].content
        assert url in message.body
        assert f'href="http://127.0.0.1:8000{url}"' in html or url in html
        assert message.extra_headers["List-Unsubscribe"].endswith(f"{url}>")
        assert messages.UNSUBSCRIBE_PLACEHOLDER not in message.body + html


def test_over_smtp_each_address_receives_one_message_with_the_message_id_of_its_delivery(db, sink):
    subscribers = SubscriberFactory.create_batch(5)
    issue = IssueFactory(subject="Nephrostomy, step by step")
    start_send(issue)

    assert engine.issue_send_work(issue_id=issue.pk) == 5

    assert sorted(sink.recipients()) == sorted(subscriber.email for subscriber in subscribers)
    recorded = dict(issue.deliveries.values_list("subscriber__email", "message_id"))
    for message in sink.received:
        assert message.subject == "Nephrostomy, step by step"
        assert message.message_id == recorded[message.recipient]
        assert message.message_id.startswith("<") and message.message_id.endswith(">")


def as_the_email_package_writes_it(message) -> dict:
    """What a reader sees of a message: its headers and parts (the MIME boundary and the Date,
    which differ each time a message is serialised, left out)."""
    headers = {
        name: value for name, value in message.items() if name not in ("Content-Type", "Date")
    }
    parts = [(part.get_content_type(), part.get_content()) for part in message.iter_parts()]
    return {"headers": headers, "type": message.get_content_type(), "parts": parts}


def test_a_message_serialised_once_per_batch_reads_exactly_as_one_serialised_on_its_own(db, sink):
    """Each batch serialises the issue once and puts each recipient in; what arrives over SMTP
    must be what the email package would have written for that recipient.

    The clock stands still: the unsubscribe link is signed with the second it was made in."""
    with freeze_time(timezone.now()):
        batch_copies_read_as_messages_on_their_own(sink)


def batch_copies_read_as_messages_on_their_own(sink):
    subscribers = SubscriberFactory.create_batch(3)
    issue = IssueFactory(subject="Drains: when to pull them, and the Ünïcode of it")
    start_send(issue)

    assert engine.issue_send_work(issue_id=issue.pk) == 3

    by_email = {subscriber.email: subscriber for subscriber in subscribers}
    received = sink.messages()
    assert len(received) == 3
    for message in received:
        recipient = by_email[message["To"]]
        delivery = issue.deliveries.get(subscriber=recipient)
        expected = messages.build_message(
            issue, recipient.pk, recipient.email, message_id=delivery.message_id
        )
        on_its_own = email.message_from_bytes(
            expected.message().as_bytes(), policy=email.policy.default
        )
        assert as_the_email_package_writes_it(message) == as_the_email_package_writes_it(on_its_own)
        assert messages.unsubscribe_url(recipient.pk) in message.get_body(("plain",)).get_content()
    # The messages compared were the batch's copy, not serialised on their own.
    assert messages.BatchTemplate(issue).message(1, "reader@example.org").serialised is not None


def test_a_body_the_email_package_must_encode_is_serialised_message_by_message(db, sink):
    """A line over 998 characters makes the body quoted-printable, which would hide the link
    marker in the batch copy: each message is then written on its own, link and all."""
    subscribers = SubscriberFactory.create_batch(2)
    issue = IssueFactory(body="A very long line. " * 80)
    assert messages.BatchTemplate(issue).serialised is None
    start_send(issue)

    assert engine.issue_send_work(issue_id=issue.pk) == 2

    for message in sink.messages():
        subscriber = next(s for s in subscribers if s.email == message["To"])
        text = message.get_body(("plain",)).get_content()
        assert messages.unsubscribe_url(subscriber.pk) in text
        assert messages.UNSUBSCRIBE_PLACEHOLDER not in text


def test_an_address_the_batch_copy_cannot_take_as_it_is_gets_a_message_of_its_own(db, sink):
    plain = SubscriberFactory(email="plain.reader@example.org")
    idn = SubscriberFactory(email="reader@bücher.example")
    issue = IssueFactory()
    start_send(issue)

    assert engine.issue_send_work(issue_id=issue.pk) == 2

    assert sorted(sink.recipients()) == ["plain.reader@example.org", "reader@xn--bcher-kva.example"]
    for message in sink.messages():
        subscriber = plain if message["To"] == plain.email else idn
        assert messages.unsubscribe_url(subscriber.pk) in message["List-Unsubscribe"]
    assert issue.deliveries.filter(status=Delivery.Status.SENT).count() == 2


def test_sending_costs_one_query_a_message_and_a_few_a_batch(
    db, mailoutbox, django_assert_max_num_queries
):
    SubscriberFactory.create_batch(2 * engine.BATCH_SIZE)
    issue = IssueFactory()
    start_send(issue)

    # Per message: mark it sent. Per batch (two here, and the empty claim that ends the run):
    # claim, renew the leases, read the batch, clear the issue's error; and once a run, looking
    # for other workers' leases to wait for, and finishing the issue.
    with django_assert_max_num_queries(2 * engine.BATCH_SIZE + 2 * 14 + 1):
        engine.issue_send_work(issue_id=issue.pk)

    assert len(mailoutbox) == 2 * engine.BATCH_SIZE


def test_a_subscriber_who_unsubscribes_after_the_send_started_is_skipped(db, client, mailoutbox):
    staying, leaving = SubscriberFactory.create_batch(2)
    issue = IssueFactory()
    start_send(issue)

    unsubscribe(client, leaving)
    engine.issue_send_work(issue_id=issue.pk)

    assert [message.to for message in mailoutbox] == [[staying.email]]
    assert issue.deliveries.get(subscriber=leaving).status == Delivery.Status.SKIPPED
    assert selectors.issue_counts(issue) == {"queued": 0, "sent": 1, "failed": 0, "skipped": 1}
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT


def test_unsubscribing_takes_effect_even_for_a_batch_a_worker_has_already_claimed(
    db, client, mailoutbox
):
    staying, leaving = SubscriberFactory.create_batch(2)
    issue = IssueFactory()
    start_send(issue)
    claims = engine.claim_batch(issue_id=issue.pk)

    unsubscribe(client, leaving)
    sent = engine.send_batch(issue=issue, claims=claims)

    assert sent == 1
    assert [message.to for message in mailoutbox] == [[staying.email]]
    assert issue.deliveries.get(subscriber=leaving).status == Delivery.Status.SKIPPED


# The mail server is down, or refuses --------------------------------------------------------


def test_while_the_mail_server_is_down_deliveries_wait_and_the_issue_says_why_then_all_go_out(
    db, settings
):
    port = free_port()
    settings.MAILERS = mailers_for_port(port)  # nothing listens there yet
    subscribers = SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)

    assert engine.issue_send_work(issue_id=issue.pk) == 0

    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING
    assert issue.last_error.startswith("Cannot send through the mail server:")
    assert "Connection refused" in issue.last_error
    for delivery in issue.deliveries.all():
        assert delivery.status == Delivery.Status.QUEUED
        assert delivery.next_attempt_at > timezone.now()
        assert delivery.error == issue.last_error
        assert delivery.attempts == 0  # an outage costs no attempt
    # Until the retry is due, another run leaves them alone.
    assert engine.issue_send_work(issue_id=issue.pk) == 0

    with SmtpSink(port=port) as sink:
        retries_fall_due(issue)
        assert engine.issue_send_work(issue_id=issue.pk) == 3

    assert sorted(sink.recipients()) == sorted(subscriber.email for subscriber in subscribers)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert issue.last_error == ""
    assert selectors.issue_counts(issue)["sent"] == 3


def test_a_long_outage_fails_no_delivery(db, settings):
    port = free_port()
    settings.MAILERS = mailers_for_port(port)
    SubscriberFactory.create_batch(2)
    issue = IssueFactory()
    start_send(issue)

    for _ in range(engine.MAX_ATTEMPTS + 2):
        engine.issue_send_work(issue_id=issue.pk)
        retries_fall_due(issue)

    assert selectors.issue_counts(issue) == {"queued": 2, "sent": 0, "failed": 0, "skipped": 0}
    with SmtpSink(port=port) as sink:
        engine.issue_send_work(issue_id=issue.pk)
    assert len(sink.received) == 2


def test_a_recipient_the_server_keeps_deferring_fails_after_max_attempts_with_its_answer(db, sink):
    accepted, busy = SubscriberFactory.create_batch(2)
    sink.refuse(busy.email, "451 4.2.0 Mailbox busy, try again later")
    issue = IssueFactory()
    start_send(issue)
    delivery = issue.deliveries.get(subscriber=busy)

    for attempt in range(1, engine.MAX_ATTEMPTS):
        before = timezone.now()
        engine.issue_send_work(issue_id=issue.pk)
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.QUEUED
        assert delivery.attempts == attempt
        assert delivery.next_attempt_at >= before + engine.backoff(attempt)
        assert "451 4.2.0 Mailbox busy" in delivery.error
        retries_fall_due(issue)
    engine.issue_send_work(issue_id=issue.pk)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == engine.MAX_ATTEMPTS
    assert "451 4.2.0 Mailbox busy" in delivery.error
    assert sink.recipients() == [accepted.email]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert selectors.issue_counts(issue) == {"queued": 0, "sent": 1, "failed": 1, "skipped": 0}


def test_a_recipient_the_server_refuses_for_good_fails_at_once(db, sink):
    gone = SubscriberFactory()
    sink.refuse(gone.email, "550 5.1.1 No such user")
    issue = IssueFactory()
    start_send(issue)

    engine.issue_send_work(issue_id=issue.pk)

    delivery = issue.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1
    assert "550 5.1.1 No such user" in delivery.error
    issue.refresh_from_db()
    assert issue.status == Issue.Status.FAILED  # nothing at all went out


def test_a_server_closing_the_channel_421_is_an_outage_that_costs_no_attempt(db, sink):
    subscriber = SubscriberFactory()
    sink.refuse(subscriber.email, "421 4.3.2 Service shutting down")
    issue = IssueFactory()
    start_send(issue)

    engine.issue_send_work(issue_id=issue.pk)

    delivery = issue.deliveries.get()
    assert delivery.status == Delivery.Status.QUEUED
    assert delivery.attempts == 0
    issue.refresh_from_db()
    assert "421 4.3.2 Service shutting down" in issue.last_error


# Leases and workers side by side ------------------------------------------------------------


def test_deliveries_claimed_by_a_worker_that_died_wait_for_the_lease_then_another_sends_them(
    db, settings, mailoutbox
):
    settings.NEWSLETTER_LEASE_SECONDS = 1
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)
    assert len(engine.claim_batch(issue_id=issue.pk)) == 3  # ... and the worker dies
    assert engine.claim_batch(issue_id=issue.pk) == {}
    began = time.monotonic()

    # Another worker finds nothing else to send: it waits for the lease rather than leaving
    # the batch to a successor deferred beyond it.
    assert engine.issue_send_work(issue_id=issue.pk) == 3

    assert time.monotonic() - began < 1 + 2
    assert len(mailoutbox) == 3
    assert list(issue.deliveries.values_list("attempts", flat=True)) == [2, 2, 2]
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT


def test_a_worker_waiting_for_leases_stops_when_it_sees_their_worker_sending(
    db, settings, mailoutbox, monkeypatch
):
    settings.NEWSLETTER_LEASE_SECONDS = 5
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)
    alive = engine.claim_batch(issue_id=issue.pk)

    def meanwhile_the_other_worker_sends_one(seconds):
        first = min(alive)
        Delivery.objects.filter(pk=first).update(status=Delivery.Status.SENT, lease_until=None)
        alive.pop(first, None)

    monkeypatch.setattr(engine.time, "sleep", meanwhile_the_other_worker_sends_one)
    began = time.monotonic()

    assert engine.issue_send_work(issue_id=issue.pk) == 0

    assert time.monotonic() - began < 2  # not the lease: the other worker sends its own batch
    assert mailoutbox == []
    assert issue.deliveries.filter(status=Delivery.Status.QUEUED, attempts=1).count() == 2


def test_a_worker_waits_at_most_one_lease_for_leases_their_worker_keeps_renewing(
    db, settings, mailoutbox, monkeypatch
):
    settings.NEWSLETTER_LEASE_SECONDS = 1
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)
    slow = engine.claim_batch(issue_id=issue.pk)

    with freeze_time(tick=True) as clock:

        def meanwhile_the_other_worker_renews(seconds):
            clock.tick(seconds)
            assert engine._renew_leases(slow) == 3

        monkeypatch.setattr(engine.time, "sleep", meanwhile_the_other_worker_renews)
        began = time.monotonic()

        assert engine.issue_send_work(issue_id=issue.pk) == 0

        assert time.monotonic() - began < 1 + 2  # one lease, and the other worker carries on
    assert mailoutbox == []
    assert engine.send_batch(issue=issue, claims=slow) == 3  # still the other worker's


def test_a_worker_whose_lease_ran_out_skips_what_another_worker_took_over(db, settings, mailoutbox):
    settings.NEWSLETTER_LEASE_SECONDS = 1
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)
    slow = engine.claim_batch(issue_id=issue.pk)

    with freeze_time(timezone.now() + timedelta(seconds=1.1), tick=True):  # the lease runs out
        assert engine.issue_send_work(issue_id=issue.pk) == 3  # another worker takes over
        assert engine.send_batch(issue=issue, claims=slow) == 0  # the slow one carries on

    assert len(mailoutbox) == 3


class StallingBackend(locmem.EmailBackend):
    """The test outbox, but the worker stalls on its first message until its lease has run out,
    and meanwhile another worker claims the batch again (``taken_over``)."""

    issue_id = None
    taken_over = None
    clock = None  # freezegun's, moved on past the lease instead of sleeping

    def send_messages(self, messages):
        if StallingBackend.taken_over is None:
            StallingBackend.clock.tick(1.1)
            StallingBackend.taken_over = engine.claim_batch(issue_id=StallingBackend.issue_id)
        return super().send_messages(messages)


def test_a_worker_that_stalls_mid_batch_skips_what_another_worker_took_over(
    db, settings, mailoutbox
):
    settings.NEWSLETTER_LEASE_SECONDS = 1
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.StallingBackend"}}
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)
    StallingBackend.issue_id, StallingBackend.taken_over = issue.pk, None
    slow = engine.claim_batch(issue_id=issue.pk)

    with freeze_time(tick=True) as StallingBackend.clock:
        # The message in flight during the stall goes out and is recorded; the rest are no
        # longer the slow worker's to send.
        assert engine.send_batch(issue=issue, claims=slow) == 1
        assert len(StallingBackend.taken_over) == 3
        assert engine.send_batch(issue=issue, claims=StallingBackend.taken_over) == 2

    recipients = [message.to[0] for message in mailoutbox]
    assert len(recipients) == len(set(recipients)) == 3
    assert selectors.issue_counts(issue)["sent"] == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    # Django's SQLite test database lives in memory with a shared cache, whose table locks
    # ("database table is locked") ignore the busy timeout: test_fault runs two worker processes
    # on a SQLite file instead, as production would.
    reason="threads cannot share SQLite's in-memory test database (test_fault covers SQLite)",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_send_one_delivery_twice(settings, sink):
    settings.NEWSLETTER_SEND_TASKS = 0  # the two threads below are the workers
    recipients = 500
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n}@example.org", status=Subscriber.Status.SUBSCRIBED)
        for n in range(recipients)
    )
    issue = IssueFactory()
    start_send(issue)

    sent = at_once(lambda: engine.issue_send_work(issue_id=issue.pk), timeout=120)

    received = Counter(sink.recipients())
    assert len(received) == recipients
    assert [address for address, times in received.items() if times > 1] == []
    assert sum(sent) == recipients
    assert min(sent) > 0, f"one worker did everything: {sent}"
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT


# The sweep and scheduled sends ----------------------------------------------------------------


def test_the_sweep_sets_going_a_send_whose_workers_died(db, mailoutbox):
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    start_send(issue)  # its tasks never run: say the worker died first
    out = StringIO()

    call_command("newsletter_sweep", stdout=out)

    assert f"issue {issue.pk}" in out.getvalue()
    assert len(mailoutbox) == 3
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT


def test_the_sweep_starts_a_scheduled_issue_whose_time_has_passed_and_no_other(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory()
    due = IssueFactory()
    later = IssueFactory()
    # The test task backend cannot defer, so their scheduled tasks never run.
    scheduling.issue_schedule(issue=due, when=timezone.now() - timedelta(minutes=5))
    scheduling.issue_schedule(issue=later, when=timezone.now() + timedelta(days=40))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("newsletter_sweep", stdout=StringIO())

    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == Issue.Status.SENT
    assert later.status == Issue.Status.SCHEDULED
    assert [message.to for message in mailoutbox] == [[subscriber.email]]


class DatabaseSendTasks:
    """Send tasks in django-tasks-db's table."""

    def __init__(self):
        self.send_tasks = DBTaskResult.objects.filter(task_path=tasks.issue_send.module_path)

    def waiting(self) -> int:
        """Send tasks waiting in the queue, due or deferred."""
        return self.send_tasks.filter(status="READY").count()

    def due(self) -> int:
        """Send tasks a worker takes next."""
        return self.send_tasks.ready().count()

    def taken_by_workers_that_died(self) -> None:
        # A killed worker's tasks stay "running" for ever.
        self.send_tasks.update(status="RUNNING")


class RqSendTasks:
    """Send jobs in RQ's queue on Redis."""

    def __init__(self, queue):
        self.queue = queue

    def _send_jobs(self, job_ids) -> list:
        jobs = self.queue.job_class.fetch_many(job_ids, connection=self.queue.connection)
        return [job for job in jobs if job and job.func_name == tasks.issue_send.module_path]

    def waiting(self) -> int:
        scheduled = self.queue.scheduled_job_registry.get_job_ids()
        return len(self._send_jobs([*self.queue.get_job_ids(), *scheduled]))

    def due(self) -> int:
        return len(self._send_jobs(self.queue.get_job_ids()))

    def taken_by_workers_that_died(self) -> None:
        for job in self._send_jobs(self.queue.get_job_ids()):
            self.queue.remove(job)


@pytest.fixture(params=["database", "rq"])
def send_tasks(request, settings):
    """The task queues of production (the database's, or RQ on Redis), and their send tasks."""
    if request.param == "database":
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
        yield DatabaseSendTasks()
        return
    url = redis_database(RQ_REDIS_DATABASE)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    settings.RQ_QUEUES = {"default": {"URL": url}}
    queue = django_rq.get_queue("default")
    yield RqSendTasks(queue)
    queue.connection.flushdb()


def test_the_sweep_leaves_a_send_alone_while_its_send_task_waits_to_run(
    db, settings, send_tasks, django_capture_on_commit_callbacks
):
    SubscriberFactory()
    issue = IssueFactory()
    with django_capture_on_commit_callbacks(execute=True):
        start_send(issue)
    assert send_tasks.due() == settings.NEWSLETTER_SEND_TASKS

    call_command("newsletter_sweep", stdout=StringIO())
    assert send_tasks.waiting() == settings.NEWSLETTER_SEND_TASKS

    # Workers take the tasks and are killed: nothing waits any more.
    send_tasks.taken_by_workers_that_died()
    call_command("newsletter_sweep", stdout=StringIO())
    assert send_tasks.due() == settings.NEWSLETTER_SEND_TASKS


def deferred_send_tasks(issue: Issue, send_tasks) -> None:
    """Send tasks were taken by workers that have been killed; their successors are deferred."""
    send_tasks.taken_by_workers_that_died()
    run_after = timezone.now() + engine.successor_delay()
    for _ in range(2):
        tasks.issue_send.using(run_after=run_after).enqueue(issue_id=issue.pk)


def test_the_sweep_sets_going_a_send_whose_only_waiting_tasks_are_deferred_successors(
    db, settings, send_tasks, django_capture_on_commit_callbacks
):
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    with django_capture_on_commit_callbacks(execute=True):
        start_send(issue)
    engine.claim_batch(issue_id=issue.pk, size=1)  # the killed worker's lease runs on
    deferred_send_tasks(issue, send_tasks)
    assert send_tasks.due() == 0

    out = StringIO()
    call_command("newsletter_sweep", stdout=out)

    # Restarted workers need not sit idle until the successors come due.
    assert f"issue {issue.pk}" in out.getvalue()
    assert send_tasks.due() == settings.NEWSLETTER_SEND_TASKS
    call_command("newsletter_sweep", stdout=StringIO())
    assert send_tasks.due() == settings.NEWSLETTER_SEND_TASKS


def test_the_sweep_leaves_deliveries_waiting_for_a_retry_to_the_deferred_successors(
    db, send_tasks, django_capture_on_commit_callbacks
):
    SubscriberFactory.create_batch(3)
    issue = IssueFactory()
    with django_capture_on_commit_callbacks(execute=True):
        start_send(issue)
    issue.deliveries.update(next_attempt_at=timezone.now() + engine.SERVER_RETRY)  # an outage
    deferred_send_tasks(issue, send_tasks)

    out = StringIO()
    call_command("newsletter_sweep", "-v", "2", stdout=out)

    assert "Nothing to do" in out.getvalue()
    assert send_tasks.due() == 0


def test_the_task_of_an_earlier_schedule_does_not_start_a_rescheduled_issue(db):
    SubscriberFactory()
    issue = IssueFactory()
    scheduling.issue_schedule(issue=issue, when=timezone.now() + timedelta(days=2))

    # The task enqueued for the first schedule comes due.
    tasks.issue_send_scheduled.call(issue_id=issue.pk)

    issue.refresh_from_db()
    assert issue.status == Issue.Status.SCHEDULED
    assert not issue.deliveries.exists()
