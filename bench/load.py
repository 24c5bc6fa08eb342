"""Throughput of `make bench`: the production-like stack, and wrk against each endpoint.

The stack is gunicorn (DEBUG off, production middleware), the task worker (`manage.py
db_worker`, as in production) and an SMTP sink (aiosmtpd) for the mail the worker sends. Each
endpoint is loaded with wrk for a fixed time beside the bare view /bench/bare/, served by the
same server through the same middleware: its figure divided by the bare view's is the ratio the
targets are about. bench/run.py drives this; it is not meant to be run on its own.
"""

import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlencode

from bench.common import cpu_seconds, free_port, log, status_kb

BASE_DIR = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "report.lua"

# The endpoints of the issue, in the order they are loaded. Sign-ups come last: each one
# gives the task worker a confirmation email to send, and that work should not spill over
# into the other endpoints' figures.
ENDPOINTS = [
    "home",
    "procedure_list",
    "procedure_detail",
    "search",
    "catalogue",
    # Not one of the endpoints: the bare view for a logged-in learner (the session and
    # the user loaded, nothing else), the floor under every logged-in page. No target.
    "bare_logged_in",
    "lesson",
    "mark_complete",
    "question_submit",
    "newsletter_subscribe",
]
ANONYMOUS = {"home", "procedure_list", "procedure_detail", "search", "catalogue"}
REFERENCES = {"bare_logged_in"}
BARE = "bare"
BARE_URL = "/bench/bare/"
BARE_LOGGED_IN_URL = "/bench/bare-logged-in/"

_started: list[subprocess.Popen] = []


# --- processes -----------------------------------------------------------------------------------


def start(name: str, args: list[str], *, env: dict, log_dir: Path) -> subprocess.Popen:
    """Start ``args`` in its own process group (so stopping it stops its children), output to
    ``log_dir/<name>.log``. Every process started here is stopped by stop_all()."""
    log_file = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(  # noqa: S603 (our own commands)
        args,
        cwd=BASE_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    process.bench_name = name
    process.bench_log = log_file
    _started.append(process)
    return process


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM the process group we started (gunicorn and db_worker stop gracefully), then
    SIGKILL it if it is still there after ``timeout`` seconds."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    process.bench_log.close()
    if process in _started:
        _started.remove(process)


def stop_all() -> None:
    for process in reversed(list(_started)):
        stop(process)


def log_tail(process: subprocess.Popen, lines: int = 30) -> str:
    path = Path(process.bench_log.name)
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def proc_status(pid: int) -> dict:
    """VmRSS and VmHWM (peak) of a process, in MiB."""
    figures = {}
    for field in ("VmRSS", "VmHWM"):
        if (kb := status_kb(pid, field)) is not None:
            figures[field] = round(kb / 1024, 1)
    return figures


def cpu_seconds_of(pids: list[int]) -> float:
    """User and system CPU time of ``pids`` so far (those gone count nothing)."""
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


def children(pid: int) -> list[int]:
    with suppress(OSError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


# --- the stack -----------------------------------------------------------------------------------


def gunicorn_args(spec: str) -> list[str]:
    """``sync:5`` (five sync workers) or ``gthread:2x8`` (two workers of eight threads)."""
    match = re.fullmatch(r"(sync|gthread):(\d+)(?:x(\d+))?", spec)
    if not match or (match[1] == "gthread") != bool(match[3]):
        raise SystemExit(
            f"--gunicorn {spec!r}: expected sync:<workers> or gthread:<workers>x<threads>"
        )
    args = ["--worker-class", match[1], "--workers", match[2]]
    if match[3]:
        args += ["--threads", match[3]]
    return args


class Stack:
    """gunicorn + db_worker + SMTP sink on loopback; a context manager that stops them all."""

    def __init__(self, *, env: dict, log_dir: Path, gunicorn: str):
        self.env = dict(env)
        self.log_dir = log_dir
        self.spec = gunicorn
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        smtp_port = free_port()
        self.env["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
        python = sys.executable
        self.sink = start(
            "smtp-sink",
            [python, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
            + ["-l", f"127.0.0.1:{smtp_port}"],
            env=self.env,
            log_dir=self.log_dir,
        )
        self.worker = start(
            "db_worker", [python, "manage.py", "db_worker"], env=self.env, log_dir=self.log_dir
        )
        self.gunicorn = start(
            "gunicorn",
            [python, "-m", "gunicorn", "irlearn.wsgi", "--bind", f"127.0.0.1:{self.port}"]
            + gunicorn_args(self.spec)
            + ["--log-level", "warning"],
            env=self.env,
            log_dir=self.log_dir,
        )
        self._wait_ready()
        return self

    def __exit__(self, *exc):
        for process in (self.gunicorn, self.worker, self.sink):
            stop(process)

    def _wait_ready(self, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in (self.gunicorn, self.worker, self.sink):
                if process.poll() is not None:
                    raise SystemExit(
                        f"{process.bench_name} stopped (exit {process.returncode}):\n"
                        + log_tail(process)
                    )
            with suppress(OSError):
                if http_status(self.base_url + BARE_URL) == 200:
                    return
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within {timeout} s:\n" + log_tail(self.gunicorn))

    def wait_idle(self, timeout: float = 60, interval: float = 0.5) -> float:
        """Wait until the web workers are idle; the seconds waited.

        When wrk stops, the requests it left queued in gunicorn's backlog are still served (a
        sync worker only notices the closed connection when it writes the response): without
        this wait a slow endpoint's leftovers would eat into the next run."""
        began = time.monotonic()
        pids = children(self.gunicorn.pid)
        before = cpu_seconds_of(pids)
        while time.monotonic() - began < timeout:
            time.sleep(interval)
            after = cpu_seconds_of(pids)
            if after - before < 0.05 * interval:  # under 5 % of one core
                break
            before = after
        return round(time.monotonic() - began, 1)

    def memory(self) -> dict:
        """Resident memory of the web workers (each, and their sum) and of the task worker."""
        workers = [proc_status(pid) for pid in children(self.gunicorn.pid)]
        worker_pids = children(self.worker.pid) or [self.worker.pid]
        return {
            "gunicorn_master": proc_status(self.gunicorn.pid),
            "gunicorn_workers": workers,
            "gunicorn_workers_rss_total_mib": round(sum(w.get("VmRSS", 0) for w in workers), 1),
            "db_worker": proc_status(worker_pids[-1]),
        }


# --- requests ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_status(url: str, *, method="GET", body: str | None = None, cookie: str | None = None):
    """The status of one request, redirects not followed (a POST answering 302 is a success)."""
    request = urllib.request.Request(  # noqa: S310 (http on loopback)
        url, method=method, data=body.encode() if body else None
    )
    if cookie:
        request.add_header("Cookie", cookie)
    if body:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def request_specs(targets: dict) -> dict:
    """Method, path, body and Cookie header of each endpoint, from bench/queries.py's targets.

    Logged-in endpoints carry the learner's session cookie. POSTs carry a CSRF cookie and the
    same 32-character secret as csrfmiddlewaretoken: Django accepts the unmasked secret."""
    csrf = secrets.token_hex(16)  # 32 characters from Django's alphabet (0-9a-f)
    specs = {BARE: {"method": "GET", "path": BARE_URL, "body": None, "cookie": None}}
    for name in ENDPOINTS:
        if name == "bare_logged_in":
            page = {"method": "GET", "url": BARE_LOGGED_IN_URL, "logged_in": True}
        else:
            page = targets["pages"][name]
        cookies = [targets["session_cookie"]] if page["logged_in"] else []
        body = None
        if page["method"] == "POST":
            cookies.append(f"csrftoken={csrf}")
            data = {"csrfmiddlewaretoken": csrf}
            data.update({k: v for k, v in page["data"].items() if v != "{email}"})
            body = urlencode(data)
            # The placeholder stays as it is: report.lua puts a new address there each time.
            body += "".join(f"&{k}={{email}}" for k, v in page["data"].items() if v == "{email}")
        specs[name] = {
            "method": page["method"],
            "path": page["url"],
            "body": body,
            "cookie": "; ".join(cookies) or None,
            "unique": "{email}" in (body or ""),
        }
    return specs


def wrk(url: str, spec: dict, *, duration: float, connections: int, threads: int) -> dict:
    """One wrk run; the figures report.lua prints (requests/s, latency percentiles, errors)."""
    env = dict(os.environ)
    env["BENCH_METHOD"] = spec["method"]
    env["BENCH_BODY"] = spec["body"] or ""
    env["BENCH_COOKIE"] = spec["cookie"] or ""
    env["BENCH_UNIQUE"] = secrets.token_hex(4) if spec.get("unique") else ""
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s"]
    args += ["-s", str(WRK_SCRIPT), url]
    completed = subprocess.run(  # noqa: S603 (wrk, our own arguments)
        args, env=env, capture_output=True, text=True, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            figures = json.loads(line.removeprefix("BENCH_JSON "))
            figures["errors"]["total"] = sum(figures["errors"].values())
            return figures
    raise RuntimeError(f"wrk gave no figures (exit {completed.returncode}):\n{completed.stderr}")


def pending_tasks(database_url: str) -> int:
    """Tasks the worker has still to run (READY or RUNNING)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult"
            " WHERE status IN ('READY', 'RUNNING')"
        ).fetchone()
    return row[0]


def wait_for_worker(database_url: str, timeout: float = 120) -> dict:
    """Wait until the task worker has sent every queued email; how many and how long."""
    began = time.monotonic()
    first = pending = pending_tasks(database_url)
    while pending and time.monotonic() - began < timeout:
        time.sleep(1)
        pending = pending_tasks(database_url)
    return {
        "queued": first,
        "left": pending,
        "seconds": round(time.monotonic() - began, 1),
    }


# --- the throughput block ------------------------------------------------------------------------


def block_order(bare_every: int) -> list[str]:
    """The bare view before the endpoints, after them, and (if ``bare_every``) every so many."""
    order = [BARE]
    for index, name in enumerate(ENDPOINTS, start=1):
        order.append(name)
        if bare_every and index % bare_every == 0 and index != len(ENDPOINTS):
            order.append(BARE)
    return order + [BARE]


def throughput(
    stack: Stack,
    targets: dict,
    *,
    database_url: str,
    duration: float,
    repeats: int,
    connections: int,
    threads: int,
    bare_every: int,
) -> dict:
    """Every endpoint beside the bare view, ``repeats`` times; raw runs and medians."""
    specs = request_specs(targets)
    preflight = {}
    for name, spec in specs.items():
        body = (spec["body"] or "").replace("{email}", f"bench-preflight-{name}%40example.org")
        status = http_status(
            stack.base_url + spec["path"], method=spec["method"], body=body, cookie=spec["cookie"]
        )
        preflight[name] = status
        flag = "" if status < 400 else "   <-- wrk will count every request as an error"
        log(f"    preflight {name:<22} {spec['method']:<4} {spec['path']}  {status}{flag}")
    # Warm every worker process (imports, connection pools, caches) before measuring.
    wrk(
        stack.base_url + BARE_URL, specs[BARE], duration=2, connections=connections, threads=threads
    )

    order = block_order(bare_every)
    runs = []
    memory = []
    worker_drain = []
    for repeat in range(1, repeats + 1):
        log(f"    repeat {repeat}/{repeats} ({len(order)} runs of {duration:g} s)")
        for name in order:
            if name == BARE and runs and runs[-1]["endpoint"] == "newsletter_subscribe":
                # Let the worker send the sign-ups' emails before measuring anything else.
                drained = wait_for_worker(database_url)
                worker_drain.append(drained)
                log(
                    f"      task worker: {drained['queued']} queued emails sent in "
                    f"{drained['seconds']} s ({drained['left']} left)"
                )
            figures = wrk(
                stack.base_url + specs[name]["path"],
                specs[name],
                duration=duration,
                connections=connections,
                threads=threads,
            )
            settle = stack.wait_idle()
            runs.append({"repeat": repeat, "endpoint": name, **figures, "settle_s": settle})
            latency = figures["latency_ms"]
            log(
                f"      {name:<22} {figures['rps']:>8.1f} req/s  p50 {latency['p50']:>7.1f}"
                f"  p95 {latency['p95']:>7.1f}  p99 {latency['p99']:>7.1f} ms"
                f"  errors {figures['errors']['total']}"
                + (f"  (server busy {settle:.0f} s after)" if settle >= 1 else "")
            )
        memory.append(
            {**stack.memory(), "load_average": Path("/proc/loadavg").read_text().split()[:3]}
        )
    return {
        "settings": {
            "duration_s": duration,
            "repeats": repeats,
            "connections": connections,
            "wrk_threads": threads,
            "bare_every": bare_every,
            "gunicorn": stack.spec,
            "order": order,
        },
        "preflight_status": preflight,
        "runs": runs,
        "memory_after_each_repeat": memory,
        "worker_drain": worker_drain,
        "summary": summarise(runs, order, repeats),
    }


def summarise(runs: list[dict], order: list[str], repeats: int) -> dict:
    """Per endpoint: medians over the repeats of requests/s, latency and the ratio to the bare
    view measured around it (the mean of the bare runs just before and just after it)."""
    ratios = {name: [] for name in ENDPOINTS}
    for repeat in range(1, repeats + 1):
        block = [run for run in runs if run["repeat"] == repeat]
        for index, run in enumerate(block):
            if run["endpoint"] == BARE:
                continue
            before = next(r for r in reversed(block[:index]) if r["endpoint"] == BARE)
            after = next(r for r in block[index:] if r["endpoint"] == BARE)
            reference = (before["rps"] + after["rps"]) / 2
            ratios[run["endpoint"]].append(run["rps"] / reference if reference else 0)
    summary = {}
    for name in [BARE, *ENDPOINTS]:
        mine = [run for run in runs if run["endpoint"] == name]
        summary[name] = {
            "rps": round(statistics.median(r["rps"] for r in mine), 1),
            "p50_ms": round(statistics.median(r["latency_ms"]["p50"] for r in mine), 2),
            "p95_ms": round(statistics.median(r["latency_ms"]["p95"] for r in mine), 2),
            "p99_ms": round(statistics.median(r["latency_ms"]["p99"] for r in mine), 2),
            "requests": sum(r["requests"] for r in mine),
            "errors": sum(r["errors"]["total"] for r in mine),
            # A run in which no response came back has no latency to show, and no errors either.
            "runs_without_response": sum(1 for r in mine if r["requests"] == 0),
            "rps_each_repeat": [round(r["rps"], 1) for r in mine],
        }
        if name != BARE:
            summary[name]["ratio"] = round(statistics.median(ratios[name]), 3)
            summary[name]["ratio_each_repeat"] = [round(r, 3) for r in ratios[name]]
            summary[name]["anonymous"] = name in ANONYMOUS
            summary[name]["reference"] = name in REFERENCES
    return summary
