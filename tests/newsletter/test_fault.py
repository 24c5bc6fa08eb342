"""The send survives its worker being killed: real worker processes, a real SMTP server, SIGKILL.

Each test has a database of its own that worker processes can share (a copy of a SQLite file, or
a throwaway PostgreSQL database when the suite runs on PostgreSQL, both copied from one migrated
per run), and starts the send with ``manage.py shell``. The workers are ``manage.py db_worker``,
started the way the README says: ``manage.py newsletter_sweep`` first. Everything they send goes
to an aiosmtpd server in this process. The SQLite variants run when the suite runs on SQLite, the
PostgreSQL ones when it runs on PostgreSQL, so each CI run exercises its own database.
"""

import contextlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.smtp import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3
TIME_LIMIT = 90  # seconds for the whole fault test, set-up included
# Restarted workers finish a send within a lease of the kill, plus this for the restart and the
# killed workers' batches. Long enough a lease that the successors of the killed tasks, deferred
# by twice as much, come too late: waiting for them is what the bound rules out.
RESTART_LEASE_SECONDS = 15
RESTART_MARGIN_SECONDS = 8
SEND_TASK = "irlearn.newsletter.tasks.issue_send"

ENGINE = settings.DATABASES["default"]["ENGINE"]
on_sqlite = pytest.mark.skipif(
    ENGINE != "django.db.backends.sqlite3", reason="this run's database is not SQLite"
)
on_postgresql = pytest.mark.skipif(
    ENGINE != "django.db.backends.postgresql", reason="this run's database is not PostgreSQL"
)

SET_UP_SEND = """
from django.utils import timezone
from irlearn.newsletter import sending
from irlearn.newsletter.models import Issue, Subscriber

now = timezone.now()
Subscriber.objects.bulk_create(
    Subscriber(email=f"reader{{n}}@example.org", status="subscribed", confirmed_at=now)
    for n in range({count})
)
issue = Issue.objects.create(subject="Fault test", body="A new guide to **nephrostomy**.")
sending.issue_send_start(issue_id=issue.pk, confirm_too_soon=True)
print("issue", issue.pk)
"""


class SqliteDatabase:
    """A SQLite file; copies of a migrated file make new ones quickly."""

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def copy(self, path: Path) -> "SqliteDatabase":
        shutil.copyfile(self.path, path)
        return SqliteDatabase(path)

    def query(self, statement: str, params=()) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=20)) as connection:
            return connection.execute(statement.replace("%s", "?"), params).fetchall()

    def drop(self) -> None:
        pass  # the file goes with tmp_path

    def activity(self) -> str:
        return ""


class PostgresqlDatabase:
    """A throwaway database on the suite's server; copies are CREATE DATABASE ... TEMPLATE."""

    def __init__(self, name: str):
        default = settings.DATABASES["default"]
        self.name = name
        self.server = {
            "host": default.get("HOST") or "127.0.0.1",
            "port": default.get("PORT") or 5432,
            "user": default.get("USER") or "postgres",
            "password": default.get("PASSWORD") or None,
        }
        credentials = self.server["user"] + (
            f":{default['PASSWORD']}" if self.server["password"] else ""
        )
        self.url = f"postgres://{credentials}@{self.server['host']}:{self.server['port']}/{name}"
        self._connection = None

    @classmethod
    def create(cls, template: str | None = None) -> "PostgresqlDatabase":
        database = cls(f"irlearn_fault_{uuid.uuid4().hex[:12]}")
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        database._on_server(statement)
        return database

    def copy(self, path: Path) -> "PostgresqlDatabase":
        return self.create(template=self.name)

    def _on_server(self, statement) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as connection:
            connection.execute(statement)

    def query(self, statement: str, params=()) -> list[tuple]:
        # One connection for the test's polling: a new one each time costs the server a process.
        if self._connection is None:
            self._connection = psycopg.connect(dbname=self.name, autocommit=True, **self.server)
        return self._connection.execute(statement, params).fetchall()

    def activity(self) -> str:
        """What every session on the database is doing (for a failure message)."""
        rows = self.query(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 120) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return "\n".join(map(str, rows))

    def drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._on_server(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
        )


def environment(database, **variables) -> dict[str, str]:
    """What a worker process of this deployment needs (production settings, database tasks)."""
    return {
        **os.environ,
        "DATABASE_URL": database.url,
        "TASKS_BACKEND": "database",
        "DJANGO_DEBUG": "0",
        "DJANGO_READ_DOT_ENV": "0",
        "DJANGO_SECRET_KEY": "fault-test-only-secret-key-0123456789-abcdefghij",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # A worker that hangs can be made to show where: SIGABRT prints every thread's stack.
        "PYTHONFAULTHANDLER": "1",
        **variables,
    }


def manage(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stderr}"
    return result.stdout


class Deployment:
    """A database of its own, the worker processes on it, and the environment they share."""

    def __init__(self, database, sink: SmtpSink, directory: Path, **variables: str):
        self.database = database
        self.directory = directory
        self.env = environment(database, EMAIL_URL=sink.email_url, **variables)
        self.workers: list[subprocess.Popen] = []
        self.sweeps_that_set_going = 0

    def set_up_send(self, count: int) -> int:
        """``count`` subscribers and an issue whose send has started; returns the issue's id."""
        output = manage(self.env, "shell", "-v", "0", "-c", SET_UP_SEND.format(count=count))
        return int(output.split("issue")[-1])

    def start_worker(self, *, sweep: bool = True) -> subprocess.Popen:
        """Start a worker as the README says: the sweep, then db_worker."""
        if sweep and "Set going" in manage(self.env, "newsletter_sweep"):
            self.sweeps_that_set_going += 1
        with open(self.directory / f"worker-{len(self.workers) + 1}.log", "w") as log:
            worker = subprocess.Popen(  # noqa: S603 (our own manage.py)
                [
                    *(sys.executable, "manage.py", "db_worker", "--no-reload"),
                    *("--no-startup-delay", "--interval", "0.2"),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                self.kill(worker)

    def issue_status(self, issue_id: int) -> str:
        query = "SELECT status FROM newsletter_issue WHERE id = %s"
        return self.database.query(query, [issue_id])[0][0]

    def delivery_counts(self, issue_id: int) -> dict[str, int]:
        query = (
            "SELECT status, COUNT(*) FROM newsletter_delivery WHERE issue_id = %s GROUP BY status"
        )
        return dict(self.database.query(query, [issue_id]))

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

    def worker_logs(self) -> str:
        """The tail of every worker's log, with the stacks of the workers still running."""
        activity = self.database.activity()
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGABRT)
                worker.wait(timeout=10)
        logs = sorted(self.directory.glob("worker-*.log"))
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
        return f"{tails}\n--- database sessions\n{activity}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """One migrated database per test run, of this run's kind; each test works on a copy."""
    if ENGINE == "django.db.backends.postgresql":
        database = PostgresqlDatabase.create()
    else:
        database = SqliteDatabase(tmp_path_factory.mktemp("fault") / "template.sqlite3")
    try:
        manage(environment(database), "migrate", "--no-input", "-v", "0", timeout=120)
        yield database
    finally:
        database.drop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=on_sqlite),
        pytest.param("postgresql", marks=on_postgresql),
    ]
)
def database(request, migrated_database, tmp_path):
    database = migrated_database.copy(tmp_path / "fault.sqlite3")
    yield database
    database.drop()


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def deployment(database, sink, tmp_path):
    deployment = Deployment(
        database,
        sink,
        tmp_path,
        NEWSLETTER_LEASE_SECONDS=str(LEASE_SECONDS),
        NEWSLETTER_SEND_TASKS="2",
    )
    yield deployment
    deployment.stop()


def wait_for(condition, *, until: float, failure) -> bool:
    """Poll ``condition``; past ``until`` fail with ``failure()``, or return False if it is None."""
    while not condition():
        if time.monotonic() > until:
            if failure is None:
                return False
            pytest.fail(failure())
        time.sleep(0.1)
    return True


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
        f"\n{ENGINE.rsplit('.', 1)[-1]}: {len(kills)} kills at {', '.join(kills)}; "
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
        f"\n{ENGINE.rsplit('.', 1)[-1]}: killed at {received_at_kill} received; sending resumed "
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
