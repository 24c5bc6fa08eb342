"""Newsletter send benchmark: one issue to N subscribers through the real task workers.

    DJANGO_BENCH=1 .venv/bin/python bench/newsletter.py \
        --database-url postgres://postgres@127.0.0.1:5432/irlearn_bench_mail \
        --sizes 10000,100000 --json newsletter.json

The database is the benchmark's own: it is migrated if need be (created if missing), and its
newsletter and task tables are emptied before each size. For each size the script creates N
confirmed subscribers (each with its "given" and "confirmed" consent records), starts an SMTP
sink (aiosmtpd in a process of its own, counting what it accepts) and NEWSLETTER_SEND_TASKS
``manage.py db_worker`` processes with production settings, then starts the send the way the
admin's "Send now" does (``scheduling.issue_send_start``) and waits until every delivery is sent.

It reports the wall time from the start of the send (delivery rows included) to the last
delivery marked sent, messages per second, and each worker's peak memory (VmHWM, sampled from
/proc until the worker is stopped). Beside it, the ceiling: a plain smtplib loop over one
connection to the same sink sending the very messages the workers send (``messages.BatchTemplate``:
the issue serialised once per batch, each recipient's address, link and Message-ID put in), with
no database; and, on a sample, the same loop with each message serialised on its own by the email
package, as the workers did before (for comparison).

The JSON file holds one key per size; the largest size's entry also holds its memory ratio to
the smallest's. PostgreSQL only. ``--tasks`` sets NEWSLETTER_SEND_TASKS (default 2, one worker
per core here); ``--ceiling-limit N`` caps the ceiling loop (its rate does not depend on the
count; 100,000 messages take it several minutes); ``--timeout`` stops a send that runs too
long and reports it as a partial send ("finished": false).
"""

import contextlib
import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Run as a script, Python puts bench/ first on the path: put the project there instead, so that
# `irlearn` and `bench` import and nothing in bench/ shadows a top-level module.
if sys.path[0] == str(Path(__file__).resolve().parent):
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from bench import common  # noqa: E402 (after the path is set)
from bench.common import (  # noqa: E402
    Processes,
    base_environment,
    cpu_seconds,
    free_port,
    parse_size_arguments,
    run_sizes,
    setup_django,
    size_arguments,
    start_process,
    status_kb,
    write_results,
)

TAG = "newsletter"
log = functools.partial(common.log, tag=TAG)

ISSUE_SUBJECT = "IRLearn newsletter: new guides to nephrostomy and varicocele embolisation"
ISSUE_BODY = """\
Welcome to this month's IRLearn newsletter.

# New in the procedure library

- **Percutaneous nephrostomy**: patient selection, ultrasound-guided access, and what to do
  when the tract will not take the catheter. [Read the guide](https://irlearn.example/procedures/nephrostomy/).
- **Varicocele embolisation**: coils or sclerosant, and how to avoid the testicular artery.
- **Uterine fibroid embolisation**: consent, pain relief and follow-up imaging.

# New course: vascular access for beginners

Eight modules, from the anatomy of the common femoral artery to closure devices, with questions
at the end of every lesson and a certificate when you pass. Enrolment is open now.

| Module | Lessons | Time |
| --- | --- | --- |
| Anatomy | 8 | 40 min |
| Ultrasound guidance | 8 | 45 min |
| Closure devices | 8 | 35 min |

> "The best way to learn access is one careful puncture at a time." A reader from Leeds.

Thank you for reading, and see you next month.
"""
CONSENT_SOURCE = "https://irlearn.example/newsletter/"
TABLES = [
    "newsletter_delivery",
    "newsletter_consentrecord",
    "newsletter_issue",
    "newsletter_subscriber",
    "newsletter_suppression",
    "django_tasks_database_dbtaskresult",
]


def autovacuum_setting() -> str:
    """PostgreSQL's autovacuum: when off, nothing refreshes the planner's statistics of the
    delivery rows a send has just queued (production servers run with it on)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0]


def reset_tables() -> None:
    """Empty the newsletter and the task queue: this database belongs to the benchmark."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")


def create_subscribers(count: int) -> None:
    """``count`` confirmed subscribers, each with the consent records a real one has ("given"
    on the sign-up form, then "confirmed"), inserted set-wise by the database: building 300,000
    model instances for bulk_create takes a minute at 100,000 subscribers, this a few seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from irlearn.newsletter.models import ConsentRecord, Subscriber
    from irlearn.newsletter.services import CONFIRM_WORDING, CONSENT_WORDING
    from irlearn.pages.models import PrivacyPolicy

    policy = PrivacyPolicy.objects.current()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO newsletter_subscriber
                (email, status, created_at, confirmation_sent_at, confirmed_at)
            SELECT 'reader' || lpad(n::text, 7, '0') || '@example.org', %s, %s, %s, %s
            FROM generate_series(0, %s - 1) AS n ORDER BY n
            """,
            [Subscriber.Status.SUBSCRIBED, now, now, now, count],
        )
        cursor.execute(
            """
            INSERT INTO newsletter_consentrecord
                (subscriber_id, event, created_at, policy_id, wording, source, ip_address)
            SELECT subscriber.id, consent.event, %s, %s, consent.wording, %s,
                ('192.0.2.' || (subscriber.id %% 250 + 1))::inet
            FROM newsletter_subscriber AS subscriber
            CROSS JOIN (VALUES (1, %s, %s), (2, %s, %s)) AS consent (step, event, wording)
            ORDER BY subscriber.id, consent.step
            """,
            [
                *(now, policy.pk if policy else None, CONSENT_SOURCE),
                *(ConsentRecord.Event.GIVEN, CONSENT_WORDING),
                *(ConsentRecord.Event.CONFIRMED, CONFIRM_WORDING),
            ],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE newsletter_subscriber, newsletter_consentrecord")


def prepare(count: int) -> float:
    """Reset the tables and create ``count`` subscribers; return the seconds it took."""
    began = time.perf_counter()
    reset_tables()
    create_subscribers(count)
    return time.perf_counter() - began


# --- The SMTP sink (a process of its own) ------------------------------------------------------


def serve_sink() -> None:
    """Run the sink: accept every message, count them; answer "count" on stdin with the count.

    Prints "port N" once it listens. Exits when stdin closes (the benchmark has gone).
    """
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Counter:
        messages = 0
        recipients = 0

        async def handle_DATA(self, server, session, envelope):
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
            return "250 OK"

    port = free_port()
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(f"port {port}", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(f"{handler.messages} {handler.recipients}", flush=True)
    finally:
        controller.stop()


class Sink:
    def __init__(self, processes: Processes):
        self.process = processes.add(
            start_process(
                [sys.executable, __file__, "--serve-sink"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        line = self.process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        self.port = int(line.split()[1])
        self.email_url = f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        """Messages accepted so far."""
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline().split()[0])


# --- Worker memory and CPU ---------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """Samples every worker's VmHWM until stopped (read once more just before a worker stops)."""

    def __init__(self, pids: list[int], interval: float = 0.25):
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak_kb = dict.fromkeys(pids, 0)
        self.cpu = {pid: cpu_seconds(pid) or 0.0 for pid in pids}
        self.cpu_at_start = dict(self.cpu)
        self.done = threading.Event()

    def sample(self) -> None:
        for pid in self.pids:
            if (kb := status_kb(pid, "VmHWM")) is not None:
                self.peak_kb[pid] = max(self.peak_kb[pid], kb)
            if (seconds := cpu_seconds(pid)) is not None:
                self.cpu[pid] = seconds

    def cpu_used(self, pid: int) -> float:
        """CPU seconds ``pid`` has used since sampling began."""
        return self.cpu[pid] - self.cpu_at_start[pid]

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.sample()


# --- The benchmark -----------------------------------------------------------------------------


def start_workers(processes: Processes, count: int, env: dict, directory: Path) -> list:
    """``count`` db_worker processes, as production runs them; returns once all are polling."""
    workers = []
    logs = []
    for number in range(1, count + 1):
        path = directory / f"worker-{number}.log"
        with open(path, "w") as output:
            workers.append(
                processes.add(
                    start_process(
                        [sys.executable, "manage.py", "db_worker", "--no-reload"],
                        env=env,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )
            )
        logs.append(path)
    deadline = time.monotonic() + 60
    while not all("Starting worker" in path.read_text() for path in logs):
        for worker, path in zip(workers, logs, strict=True):
            if worker.poll() is not None:
                raise RuntimeError(f"a worker exited at start:\n{path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start within 60 s")
        time.sleep(0.1)
    return workers


def wait_until_sent(issue_id: int, count: int, workers, timeout: float) -> bool:
    """Wait for the issue to be sent; False if ``timeout`` seconds pass first."""
    from irlearn.newsletter.models import Delivery, Issue

    began = time.monotonic()
    shown = began
    while True:
        status = Issue.objects.values_list("status", flat=True).get(pk=issue_id)
        if status != Issue.Status.SENDING:
            return True
        now = time.monotonic()
        if now - shown >= 5:
            sent = Delivery.objects.filter(issue_id=issue_id, status=Delivery.Status.SENT).count()
            elapsed = now - began
            log(f"  {sent:,}/{count:,} sent after {elapsed:.0f} s ({sent / elapsed:.0f}/s)")
            shown = now
        if any(worker.poll() is not None for worker in workers):
            raise RuntimeError("a worker exited during the send")
        if now - began > timeout:
            log(f"  stopped after {timeout:.0f} s (--timeout): figures of a partial send")
            return False
        time.sleep(0.5)


def app_send(count: int, sink: Sink, processes: Processes, tasks: int, timeout: float) -> dict:
    """Send one issue to every subscriber through the real workers; figures of the send."""
    from django.db.models import Max, Min
    from django.utils import timezone

    from irlearn.newsletter import scheduling, selectors
    from irlearn.newsletter.models import Delivery, Issue

    env = {
        **os.environ,
        **base_environment(
            os.environ["DATABASE_URL"], EMAIL_URL=sink.email_url, NEWSLETTER_SEND_TASKS=str(tasks)
        ),
    }
    env.pop("DJANGO_BENCH", None)  # a production worker has no bench app
    with tempfile.TemporaryDirectory(prefix="bench-newsletter-") as directory:
        workers = start_workers(processes, tasks, env, Path(directory))
        idle_kb = [status_kb(worker.pid, "VmRSS") for worker in workers]
        sampler = MemorySampler([*(worker.pid for worker in workers), sink.process.pid])
        sampler.start()
        received_before = sink.count()
        finished = False
        try:
            issue = Issue.objects.create(subject=ISSUE_SUBJECT, body=ISSUE_BODY)
            began = timezone.now()
            scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=True)
            queued = timezone.now()
            log(f"  {count:,} deliveries queued in {(queued - began).total_seconds():.1f} s")
            finished = wait_until_sent(issue.pk, count, workers, timeout)
        except Exception:
            for path in sorted(Path(directory).glob("worker-*.log")):
                log(f"--- {path.name}\n{path.read_text()[-3000:]}")
            raise
        finally:
            sampler.stop()
            # A worker asked to stop finishes its task first: one stopped mid-send is killed.
            for worker in workers:
                processes.stop(worker, kill=not finished)
    issue.refresh_from_db()
    deliveries = Delivery.objects.filter(issue=issue)
    span = deliveries.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    counts = selectors.issue_counts(issue)
    received = sink.count() - received_before
    sent = counts["sent"]
    if finished and (issue.status != Issue.Status.SENT or sent != count):
        raise RuntimeError(f"issue {issue.status}: {counts}")
    if not sent or received < sent:
        raise RuntimeError(f"{sent} deliveries marked sent, {received} messages received")
    wall = (span["last"] - began).total_seconds()
    peaks = [sampler.peak_kb[worker.pid] for worker in workers]
    worker_cpu = sum(sampler.cpu_used(worker.pid) for worker in workers)
    return {
        "finished": finished,
        "workers": tasks,
        "sent": sent,
        "received_by_sink": received,
        "queue_seconds": round((queued - began).total_seconds(), 3),
        "wall_seconds": round(wall, 3),
        "sending_seconds": round((span["last"] - span["first"]).total_seconds(), 3),
        "messages_per_second": round(sent / wall, 1),
        "worker_idle_rss_kb": idle_kb,
        "worker_peak_kb": peaks,
        "worker_peak_kb_max": max(peaks),
        "worker_peak_kb_sum": sum(peaks),
        # CPU per message, less sensitive than the rate to other load on a shared machine.
        "worker_cpu_ms_per_message": round(worker_cpu * 1000 / sent, 3),
        "sink_cpu_ms_per_message": round(sampler.cpu_used(sink.process.pid) * 1000 / sent, 3),
    }


def ceiling_send(count: int, sink: Sink, sample: int) -> dict:
    """The plain smtplib loop over one connection: the very messages the workers send (the
    issue serialised once per batch of engine.BATCH_SIZE, each recipient put in), without the
    database. Then, on a sample, each message serialised on its own by the email package, as
    the workers did before batches were serialised once (for comparison only)."""
    import smtplib

    from django.core.mail.utils import DNS_NAME

    from irlearn.newsletter.engine import BATCH_SIZE
    from irlearn.newsletter.messages import BatchTemplate, build_message
    from irlearn.newsletter.models import Issue, Subscriber

    issue = Issue.objects.latest("pk")
    subscribers = list(
        Subscriber.objects.filter(status=Subscriber.Status.SUBSCRIBED)
        .order_by("pk")
        .values_list("pk", "email")[:count]
    )
    received_before = sink.count()
    with smtplib.SMTP(
        "127.0.0.1", sink.port, local_hostname=DNS_NAME.get_fqdn(), timeout=30
    ) as smtp:
        began, cpu_began = time.perf_counter(), time.process_time()
        for position, (pk, address) in enumerate(subscribers):
            if position % BATCH_SIZE == 0:
                template = BatchTemplate(issue)
            message = template.message(pk, address)
            smtp.sendmail(message.sender, [message.recipient], message.as_bytes())
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began

        sampled = subscribers[:sample]
        began = time.perf_counter()
        for pk, address in sampled:
            # build_message leaves the batch copy out: the email package writes each message.
            message = build_message(issue, pk, address)
            data = message.as_bytes()
            smtp.sendmail(message.sender, [message.recipient], data)
        on_their_own = time.perf_counter() - began
    received = sink.count() - received_before
    if received != len(subscribers) + len(sampled):
        raise RuntimeError(f"the sink received {received} of {len(subscribers) + len(sampled)}")
    return {
        "method": "the workers' messages (serialised once per batch, each recipient put in), "
        "smtplib.sendmail over one connection, no database",
        "messages": len(subscribers),
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(subscribers) / seconds, 1),
        "cpu_ms_per_message": round(cpu * 1000 / len(subscribers), 3),
        "serialised_one_by_one_messages": len(sampled),
        "serialised_one_by_one_messages_per_second": round(len(sampled) / on_their_own, 1)
        if sampled
        else None,
        "message_bytes": len(data) if sampled else None,
    }


def run_size(count: int, processes: Processes, args) -> dict:
    log(f"{count:,} subscribers: preparing")
    prepared = prepare(count)
    log(f"  {count:,} subscribers and {2 * count:,} consent records in {prepared:.1f} s")
    sink = Sink(processes)
    try:
        log(f"  sending through {args.tasks} db_worker processes to the sink on port {sink.port}")
        app = app_send(count, sink, processes, args.tasks, args.timeout)
        log(
            f"  app: {app['sent']:,} messages"
            f"{'' if app['finished'] else f' (of {count:,}: stopped by --timeout)'} in "
            f"{app['wall_seconds']:.1f} s = "
            f"{app['messages_per_second']:.0f} msg/s; worker peak memory "
            f"{', '.join(f'{kb / 1024:.0f}' for kb in app['worker_peak_kb'])} MiB "
            f"(sum {app['worker_peak_kb_sum'] / 1024:.0f} MiB); "
            f"worker CPU {app['worker_cpu_ms_per_message']:.2f} ms/msg"
        )
        # The same number of messages as the app sent (all of them unless stopped by --timeout).
        ceiling_count = min(app["sent"], args.ceiling_limit or app["sent"])
        log(f"  ceiling: plain smtplib loop, {ceiling_count:,} messages over one connection")
        ceiling = ceiling_send(ceiling_count, sink, min(ceiling_count, args.sample))
    finally:
        processes.stop(sink.process)
    ratio = app["messages_per_second"] / ceiling["messages_per_second"]
    log(
        f"  ceiling: {ceiling['messages_per_second']:.0f} msg/s "
        f"(each serialised on its own: "
        f"{ceiling['serialised_one_by_one_messages_per_second'] or 0:.0f} msg/s), "
        f"CPU {ceiling['cpu_ms_per_message']:.2f} ms/msg; app/ceiling = {ratio:.2f}"
    )
    return {
        "subscribers": count,
        "postgresql_autovacuum": autovacuum_setting(),
        # Other work on the machine skews every rate: the 1-minute load average at the end.
        "load_average": round(os.getloadavg()[0], 2),
        "prepare_seconds": round(prepared, 1),
        "app": app,
        "ceiling": ceiling,
        "ratio_app_to_ceiling": round(ratio, 3),
    }


def memory_ratio(small: dict, large: dict) -> tuple[dict, str]:
    """Peak worker memory at the largest size over that at the smallest."""
    ratio = {
        "against_size": small["subscribers"],
        "both_sends_finished": small["app"]["finished"] and large["app"]["finished"],
        "worker_peak_max": round(
            large["app"]["worker_peak_kb_max"] / small["app"]["worker_peak_kb_max"], 3
        ),
        "worker_peak_sum": round(
            large["app"]["worker_peak_kb_sum"] / small["app"]["worker_peak_kb_sum"], 3
        ),
    }
    return ratio, (
        f"worker peak memory {ratio['worker_peak_max']:.2f} (largest worker), "
        f"{ratio['worker_peak_sum']:.2f} (all workers)"
    )


def parse_args():
    parser = size_arguments(__doc__, child="--serve-sink")
    parser.add_argument(
        "--tasks",
        type=int,
        default=int(os.environ.get("NEWSLETTER_SEND_TASKS", 2)),
        help="NEWSLETTER_SEND_TASKS, and as many db_worker processes (default: 2)",
    )
    parser.add_argument(
        "--ceiling-limit",
        type=int,
        default=0,
        help="send at most this many messages in the ceiling loop (default: as many as the app)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=2000,
        help="messages serialised one by one after the ceiling loop, for comparison "
        "(default: 2000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds allowed for one send (default: 900)"
    )
    return parse_size_arguments(parser, child="--serve-sink")


def main() -> None:
    args = parse_args()
    if args.serve_sink:
        with contextlib.suppress(KeyboardInterrupt):
            serve_sink()
        return
    # This process's mailer is never opened (the ceiling speaks smtplib itself); it serialises
    # messages and addresses exactly as the workers' SMTP backend does.
    setup_django(
        args.database_url, NEWSLETTER_SEND_TASKS=str(args.tasks), EMAIL_URL="smtp://127.0.0.1:25"
    )
    if autovacuum_setting() != "on":
        log("note: autovacuum is off on this PostgreSQL server (the claim query plans stay stale)")
    results = run_sizes(args.sizes, lambda count, processes: run_size(count, processes, args))
    write_results(results, args.json, tag=TAG, memory_ratio=memory_ratio)


if __name__ == "__main__":
    main()
