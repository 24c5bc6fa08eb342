"""The send survives its worker being killed: real worker processes, a real SMTP server, SIGKILL.

Each test has a database of its own that worker processes share (``process_database``: SQLite on
the SQLite run, PostgreSQL on the PostgreSQL run) and starts the send with ``manage.py shell``.
Each runs on the database's task queue (``manage.py db_worker``) and, in the PostgreSQL run, on
RQ on Redis (``manage.py rqworker --with-scheduler``), every worker started the way the README
says, with ``manage.py newsletter_sweep`` first. Killing a worker kills everything it started
(RQ's work horse, which runs the task, and its scheduler), as a crash of its machine would.
Everything the workers send goes to an aiosmtpd server in this process.
"""

import random
import signal
import time
from collections import Counter

import pytest
import redis
from rq import Queue

from tests.deployment import (
    ENGINE,
    end,
    environment,
    manage,
    on_postgresql,
    redis_database,
    start,
    wait_for,
)
from tests.smtp import SmtpSink

LEASE_SECONDS = 3
# Seconds for the whole fault test, set-up included: a bound for a send that never finishes, not
# a speed. Each restart starts two Django processes (the sweep, the worker), which takes seconds
# on a busy 2-core machine: five kills of RQ workers took 80 s there while other suites ran.
TIME_LIMIT = 150
# Restarted workers finish a send within a lease of the kill, plus this for the restart and the
# killed workers' batches. Long enough a lease that the successors of the killed tasks, deferred
# by twice as much, come too late: waiting for them is what the bound rules out.
RESTART_LEASE_SECONDS = 15
RESTART_MARGIN_SECONDS = 8
SEND_TASK = "irlearn.newsletter.tasks.issue_send"
# The RQ variants' queue: a Redis database of their own, emptied for each test.
RQ_REDIS_DATABASE = 11

SET_UP_SEND = """
from django.utils import timezone
from irlearn.newsletter import scheduling
from irlearn.newsletter.models import Issue, Subscriber

now = timezone.now()
Subscriber.objects.bulk_create(
    Subscriber(email=f"reader{{n}}@example.org", status="subscribed", confirmed_at=now)
    for n in range({count})
)
issue = Issue.objects.create(subject="Fault test", body="A new guide to **nephrostomy**.")
scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=True)
print("issue", issue.pk)
"""


class DatabaseQueue:
    """Tasks in django-tasks-db's table; the workers are ``manage.py db_worker``."""

    name = "database queue"
    worker = [
        *("python", "manage.py", "db_worker", "--no-reload"),
        *("--no-startup-delay", "--interval", "0.2"),
    ]

    def __init__(self, database):
        self.database = database
        self.environment = {"TASKS_BACKEND": "database"}

    def send_task_results(self) -> list[int]:
        """How many messages each finished send task sent."""
        query = (
            "SELECT return_value FROM django_tasks_database_dbtaskresult "
            "WHERE status = 'SUCCESSFUL' AND task_path = %s"
        )
        return sorted(int(str(value)) for (value,) in self.database.query(query, [SEND_TASK]))

    def send_tasks(self, status: str) -> int:
        """How many send tasks are in ``status`` (READY: waiting, due or deferred; RUNNING)."""
        query = (
            "SELECT COUNT(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status = %s AND task_path = %s"
        )
        return self.database.query(query, [status, SEND_TASK])[0][0]

    def close(self) -> None:
        pass


class RqQueue:
    """Jobs in Redis; the workers are ``manage.py rqworker --with-scheduler``, as in the README."""

    name = "RQ"
    worker = [
        *("python", "manage.py", "rqworker", "--with-scheduler"),
        *("--job-class", "django_tasks_rq.Job"),
    ]

    def __init__(self, url: str):
        self.environment = {"TASKS_BACKEND": "rq", "REDIS_URL": url}
        self.redis = redis.Redis.from_url(url)
        self.queue = Queue("default", connection=self.redis)

    def send_jobs(self, job_ids) -> list:
        jobs = self.queue.job_class.fetch_many(job_ids, connection=self.redis)
        return [job for job in jobs if job is not None and job.func_name == SEND_TASK]

    def send_task_results(self) -> list[int]:
        """How many messages each finished send task sent."""
        finished = self.send_jobs(self.queue.finished_job_registry.get_job_ids())
        return sorted(job.return_value() for job in finished)

    def send_tasks(self, status: str) -> int:
        """How many send tasks are in ``status`` (READY: waiting, due or deferred; RUNNING)."""
        if status == "RUNNING":
            # No clean-up: that is the workers' business (it would fail jobs of killed ones).
            return len(self.send_jobs(self.queue.started_job_registry.get_job_ids(cleanup=False)))
        waiting = [*self.queue.get_job_ids(), *self.queue.scheduled_job_registry.get_job_ids()]
        return len(self.send_jobs(waiting))

    def close(self) -> None:
        self.redis.flushdb()
        self.redis.close()


class Deployment:
    """A database of its own, a task queue, the worker processes, and the environment they
    share."""

    def __init__(self, database, queue, sink: SmtpSink, directory, **variables: str):
        self.database = database
        self.queue = queue
        self.directory = directory
        self.env = environment(database, EMAIL_URL=sink.email_url, **queue.environment, **variables)
        self.workers = []
        self.sweeps_that_set_going = 0
        self.name = f"{ENGINE.rsplit('.', 1)[-1]}, {queue.name}"

    def set_up_send(self, count: int) -> int:
        """``count`` subscribers and an issue whose send has started; returns the issue's id."""
        output = manage(self.env, "shell", "-v", "0", "-c", SET_UP_SEND.format(count=count))
        return int(output.split("issue")[-1])

    def start_worker(self, *, sweep: bool = True):
        """Start a worker as the README says: the sweep, then the worker."""
        if sweep and "Set going" in manage(self.env, "newsletter_sweep"):
            self.sweeps_that_set_going += 1
        log = self.directory / f"worker-{len(self.workers) + 1}.log"
        worker = start(self.queue.worker, self.env, log)
        self.workers.append(worker)
        return worker

    def kill(self, worker) -> None:
        end(worker)

    def stop(self) -> None:
        for worker in self.workers:
            end(worker)

    def issue_status(self, issue_id: int) -> str:
        query = "SELECT status FROM newsletter_issue WHERE id = %s"
        return self.database.query(query, [issue_id])[0][0]

    def delivery_counts(self, issue_id: int) -> dict[str, int]:
        query = (
            "SELECT status, COUNT(*) FROM newsletter_delivery WHERE issue_id = %s GROUP BY status"
        )
        return dict(self.database.query(query, [issue_id]))

    def send_task_results(self) -> list[int]:
        return self.queue.send_task_results()

    def send_tasks(self, status: str) -> int:
        return self.queue.send_tasks(status)

    def worker_logs(self) -> str:
        """The tail of every worker's log, with the stacks of the workers still running."""
        activity = self.database.activity()
        for worker in self.workers:
            end(worker, signal.SIGABRT)
        logs = sorted(self.directory.glob("worker-*.log"))
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
        return f"{tails}\n--- database sessions\n{activity}"


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(
    params=[
        "database",
        # RQ is the queue of the scale-out deployment, which is PostgreSQL's: once per CI is
        # enough for these slow tests, and that is the PostgreSQL run.
        pytest.param("rq", marks=on_postgresql),
    ]
)
def task_queue(request, process_database):
    if request.param == "rq":
        queue = RqQueue(redis_database(RQ_REDIS_DATABASE))
    else:
        queue = DatabaseQueue(process_database)
    yield queue
    queue.close()


@pytest.fixture
def deployment(process_database, task_queue, sink, tmp_path):
    deployment = Deployment(
        process_database,
        task_queue,
        sink,
        tmp_path,
        NEWSLETTER_LEASE_SECONDS=str(LEASE_SECONDS),
        NEWSLETTER_SEND_TASKS="2",
    )
    yield deployment
    deployment.stop()


def test_killing_the_worker_at_random_moments_misses_nobody_and_duplicates_no_more_than_kills(
    deployment, sink
):
    began = time.monotonic()
    until = began + TIME_LIMIT
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    recipients = 2000
    issue_id = deployment.set_up_send(recipients)

    def sending():
        return deployment.issue_status(issue_id) == "sending"

    # The first kill comes 0.2-1.5 s after the worker starts: often in start-up, before its task
    # has enqueued a successor. The others come at random points of the send.
    kill_at = sorted(rng.sample(range(1, recipients - 100), rng.randint(2, 4)))
    kills = []
    for target in [None, *kill_at]:
        worker = deployment.start_worker()
        if target is None:
            time.sleep(rng.uniform(0.2, 1.5))
        else:
            wait_for(
                lambda target=target: sink.count() >= target or not sending(),
                until=until,
                failure=None,
            )
        if not sending() or time.monotonic() > until:
            break
        deployment.kill(worker)
        kills.append(f"{time.monotonic() - began:.1f} s ({sink.count()} received)")
    deployment.start_worker()
    wait_for(
        lambda: not sending(),
        until=until,
        failure=lambda: (
            f"The send did not finish within {TIME_LIMIT} s after kills at {kills} (seed {seed}): "
            f"{deployment.delivery_counts(issue_id)}, {sink.count()} messages received.\n"
            f"{deployment.worker_logs()}"
        ),
    )

    received = Counter(sink.recipients())
    duplicates = sum(received.values()) - len(received)
    print(
        f"\n{deployment.name}: {len(kills)} kills at {', '.join(kills)}; "
        f"{duplicates} duplicates; the sweep set the send going {deployment.sweeps_that_set_going} "
        f"times; {time.monotonic() - began:.1f} s (seed {seed})"
    )
    assert deployment.issue_status(issue_id) == "sent"
    assert deployment.delivery_counts(issue_id) == {"sent": recipients}
    assert set(received) == {f"reader{n}@example.org" for n in range(recipients)}
    # One worker process sends one message at a time: only that one can go out twice per kill.
    assert duplicates <= len(kills), (
        f"{duplicates} duplicates after {len(kills)} kills (seed {seed})"
    )


def test_workers_restarted_after_a_kill_finish_the_send_within_about_a_lease(deployment, sink):
    """Both workers are killed mid-send, each task's successor deferred beyond the lease, and
    restarted at once: the restarted workers send what nobody holds straight away and take the
    killed workers' batches back as their leases run out, without waiting for the successors."""
    until = time.monotonic() + TIME_LIMIT
    recipients = 300
    deployment.env["NEWSLETTER_LEASE_SECONDS"] = str(RESTART_LEASE_SECONDS)
    issue_id = deployment.set_up_send(recipients)

    def sending():
        return deployment.issue_status(issue_id) == "sending"

    workers = [deployment.start_worker(), deployment.start_worker(sweep=False)]
    # Both send tasks run, and each has enqueued its deferred successor and claimed a batch.
    wait_for(
        lambda: deployment.send_tasks("RUNNING") == 2 and deployment.send_tasks("READY") == 2,
        until=until,
        failure=lambda: f"The send tasks did not both start.\n{deployment.worker_logs()}",
    )
    wait_for(lambda: sink.count() >= 20, until=until, failure=deployment.worker_logs)
    for worker in workers:
        deployment.kill(worker)
    killed_at = time.monotonic()
    received_at_kill = sink.count()
    assert sending(), "the send finished before the kill: give it more recipients"

    deployment.start_worker()
    deployment.start_worker()
    resumed_after = []  # when the first message after the kill came in

    def finished():
        if not resumed_after and sink.count() > received_at_kill:
            resumed_after.append(f"{time.monotonic() - killed_at:.1f} s")
        return not sending()

    wait_for(
        finished,
        until=until,
        failure=lambda: (
            f"Not finished: {deployment.delivery_counts(issue_id)}\n{deployment.worker_logs()}"
        ),
    )
    took = time.monotonic() - killed_at
    resumed = f"{resumed_after[0]} after the kill" if resumed_after else "never"

    received = Counter(sink.recipients())
    duplicates = sum(received.values()) - len(received)
    print(
        f"\n{deployment.name}: killed at {received_at_kill} received; sending resumed "
        f"{resumed} and finished {took:.1f} s after it "
        f"(lease {RESTART_LEASE_SECONDS} s); {duplicates} duplicates"
    )
    assert deployment.delivery_counts(issue_id) == {"sent": recipients}
    assert len(received) == recipients
    assert duplicates <= len(workers)
    assert took < RESTART_LEASE_SECONDS + RESTART_MARGIN_SECONDS, (
        f"The restarted workers took {took:.1f} s to finish the send after the kill (sending "
        f"resumed {resumed}); the killed workers' leases ran out within "
        f"{RESTART_LEASE_SECONDS} s.\n{deployment.worker_logs()}"
    )


def test_two_worker_processes_at_once_send_every_delivery_exactly_once(deployment, sink):
    until = time.monotonic() + TIME_LIMIT
    recipients = 500
    deployment.env["NEWSLETTER_LEASE_SECONDS"] = "120"
    issue_id = deployment.set_up_send(recipients)

    deployment.start_worker()
    deployment.start_worker(sweep=False)
    wait_for(
        lambda: len(deployment.send_task_results()) == 2,
        until=until,
        failure=lambda: (
            f"Not finished: {deployment.delivery_counts(issue_id)}\n{deployment.worker_logs()}"
        ),
    )

    received = Counter(sink.recipients())
    assert deployment.issue_status(issue_id) == "sent"
    assert deployment.delivery_counts(issue_id) == {"sent": recipients}
    assert len(received) == recipients
    assert [address for address, times in received.items() if times > 1] == []
    sent_by_task = deployment.send_task_results()
    assert sum(sent_by_task) == recipients
    assert min(sent_by_task) > 0, f"one worker did everything: {sent_by_task}"


def test_rq_never_cuts_a_send_task_short(process_database, sink, tmp_path):
    """RQ stops a job after 180 s unless told otherwise, mid-batch, in whatever line it has
    reached; a send task must run as long as its issue takes."""
    queue = RqQueue(redis_database(RQ_REDIS_DATABASE))
    try:
        Deployment(process_database, queue, sink, tmp_path).set_up_send(1)
        send_jobs = queue.send_jobs(queue.queue.get_job_ids())
    finally:
        queue.close()

    assert [job.timeout for job in send_jobs] == [-1, -1]  # RQ's "no timeout"
