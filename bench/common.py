"""What the benchmark scripts share: printing, free ports, child processes, what /proc says
about them, and Django set up on a benchmark database of its own."""

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def log(message: str = "", *, tag: str = "") -> None:
    """Print ``message`` at once (the orchestrator reads it line by line), after ``[tag]``."""
    print(f"[{tag}] {message}" if tag else message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- What /proc says about a process (Linux), without psutil ------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, field: str) -> int | None:
    """A field of /proc/<pid>/status in kB (VmHWM: peak resident set; VmRSS: resident now)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


# --- Child processes -----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child, before exec: get SIGTERM should the benchmark die without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_process(args, *, env=None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own commands)
        args, cwd=ROOT, env=env, preexec_fn=_die_with_parent, **kwargs
    )


def stop_process(process: subprocess.Popen, *, kill: bool = False, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it lingers; SIGKILL at once with ``kill``."""
    if process.poll() is None:
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


class Processes:
    """Every child started, stopped on exit whatever happens (Ctrl-C, SIGTERM, an error)."""

    def __init__(self):
        self.running: list[subprocess.Popen] = []

    def add(self, process: subprocess.Popen) -> subprocess.Popen:
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen, *, kill: bool = False) -> None:
        stop_process(process, kill=kill)
        with contextlib.suppress(ValueError):
            self.running.remove(process)

    def stop_all(self) -> None:
        # Only after an error or an interrupt: a worker would finish its send task first.
        for process in list(self.running):
            self.stop(process, kill=True)


# --- Django in this process, on the benchmark's own database -----------------------------------


def base_environment(database_url: str, **variables: str) -> dict[str, str]:
    """Production-like settings shared by this process and the processes it starts."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench"),
        "DJANGO_READ_DOT_ENV": "0",
        "TASKS_BACKEND": "database",
        **variables,
    }


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist yet."""
    parts = urlsplit(database_url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            log(f"creating database {name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, **variables: str) -> None:
    """Settings from the environment, as in production; migrate the bench's own database."""
    ensure_database(database_url)
    os.environ.update(base_environment(database_url, **variables))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "irlearn.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("These benchmarks run on PostgreSQL (--database-url postgres://...).")

    call_command("migrate", interactive=False, verbosity=0)


# --- Benchmarks run at several sizes (the newsletter send, the subscriber export) ---------------


def size_arguments(description: str, *, child: str) -> argparse.ArgumentParser:
    """The options of a benchmark run at several subscriber counts on a database of its own,
    and ``child`` ("--measure"), hidden: the script run again as a child process of its own."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument(child, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the benchmark's own database (its newsletter tables are emptied)",
    )
    parser.add_argument(
        "--sizes", default="10000,100000", help="subscriber counts, comma-separated"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser


def parse_size_arguments(parser: argparse.ArgumentParser, *, child: str) -> argparse.Namespace:
    """The options; a database is required unless this is the ``child`` process."""
    args = parser.parse_args()
    if not getattr(args, child.removeprefix("--").replace("-", "_")) and not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    return args


def run_sizes(sizes: str, run_size: Callable[[int, Processes], dict]) -> dict[str, dict]:
    """``run_size(count, processes)`` for each count in ``sizes`` ("1000,10000"), by count;
    every child process is stopped whatever happens (Ctrl-C, SIGTERM, an error)."""
    # SIGTERM (the orchestrator stopping us) unwinds like Ctrl-C, so children are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    processes = Processes()
    results = {}
    try:
        for count in (int(size) for size in sizes.split(",")):
            results[str(count)] = run_size(count, processes)
    finally:
        processes.stop_all()
    return results


def write_results(
    results: dict[str, dict],
    path: Path | None,
    *,
    tag: str,
    memory_ratio: Callable[[dict, dict], tuple[dict, str]],
) -> None:
    """With two sizes or more, put ``memory_ratio(smallest, largest)``, the ratios of the
    figures at the two sizes, into the largest size's figures and say what they are; then write
    every figure to ``path`` as JSON."""
    if len(results) >= 2:
        small, large = results[min(results, key=int)], results[max(results, key=int)]
        large["memory_ratio"], described = memory_ratio(small, large)
        log(f"{large['subscribers']:,}/{small['subscribers']:,}: {described}", tag=tag)
    if path:
        path.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {path}", tag=tag)
