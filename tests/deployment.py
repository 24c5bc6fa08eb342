"""A production deployment in pieces, for tests that run it in real processes.

    database = process_database              # fixture (tests/conftest.py): a database of its own
    env = environment(database, TASKS_BACKEND="rq", REDIS_URL=redis_database(11))
    manage(env, "shell", "-c", "...")        # a management command, as an operator runs it
    worker = start(["python", "manage.py", "rqworker"], env, log_path)
    end(worker)                              # SIGKILL to it and to every process it started
    with WebServer(env, log_path) as server: # gunicorn, as `make serve` runs it
        WebClient().get(f"{server.url}/")    # (tests/webclient.py)

Each test's processes share a database of their own: a copy of a SQLite file, or a throwaway
PostgreSQL database when the suite runs on PostgreSQL, both copied from one migrated per run.
Redis is the one on 127.0.0.1:6379 (.ci/run starts it), one database number per test module.
"""

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from psycopg import sql

from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]

ENGINE = settings.DATABASES["default"]["ENGINE"]
on_sqlite = pytest.mark.skipif(
    ENGINE != "django.db.backends.sqlite3", reason="this run's database is not SQLite"
)
on_postgresql = pytest.mark.skipif(
    ENGINE != "django.db.backends.postgresql", reason="this run's database is not PostgreSQL"
)


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
        database = cls(f"irlearn_process_{uuid.uuid4().hex[:12]}")
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


def migrated_database(directory: Path):
    """A new migrated database of this run's kind (see the ``migrated_database`` fixture)."""
    if ENGINE == "django.db.backends.postgresql":
        database = PostgresqlDatabase.create()
    else:
        database = SqliteDatabase(directory / "template.sqlite3")
    try:
        manage(environment(database), "migrate", "--no-input", "-v", "0", timeout=120)
    except BaseException:
        database.drop()
        raise
    return database


def environment(database, **variables) -> dict[str, str]:
    """What a process of this deployment needs: production settings (DEBUG off) on ``database``,
    the database task queue unless ``variables`` say otherwise, and no developer's .env."""
    return {
        **os.environ,
        "DATABASE_URL": database.url,
        "TASKS_BACKEND": "database",
        "DJANGO_DEBUG": "0",
        "DJANGO_READ_DOT_ENV": "0",
        "DJANGO_SECRET_KEY": "process-test-only-secret-key-0123456789-abcdefghij",
        "DJANGO_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # A process that hangs can be made to show where: SIGABRT prints every thread's stack.
        "PYTHONFAULTHANDLER": "1",
        **variables,
    }


def manage(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    """Run a management command to its end; its output, or a failure with its errors."""
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


def redis_database(number: int) -> str:
    """The URL of Redis database ``number`` on 127.0.0.1:6379, emptied for the test.

    Without Redis the test skips, except under CI=true, where that is a failure.
    """
    url = f"redis://127.0.0.1:6379/{number}"
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
            client.flushdb()
    except redis.RedisError as error:
        reason = f"Redis does not answer on {url}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true, so this test cannot be skipped", pytrace=False)
        pytest.skip(reason)
    return url


# Processes ---------------------------------------------------------------------------------


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``command`` (``python`` is this interpreter) in the project folder, its output to
    ``log``. In a session of its own, so that ``end`` finds everything it starts: an RQ worker
    forks a work horse for each job and a scheduler, and they outlive a killed worker."""
    if command[0] == "python":
        command = [sys.executable, *command[1:]]
    with open(log, "a") as output:
        return subprocess.Popen(  # noqa: S603 (our own programs)
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _session(session_id: int) -> list[int]:
    """The processes of a session that are still alive (zombies are dead)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def end(process: subprocess.Popen, sig: signal.Signals = signal.SIGKILL) -> None:
    """Send ``sig`` to ``process`` and every process it started, then make sure all are gone.

    SIGKILL is a crash: nothing of the process runs any more. Others (SIGABRT for the stacks of
    a hung process) get a moment to act before what is left is killed.
    """
    if sig != signal.SIGKILL:
        for pid in _session(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    give_up = time.monotonic() + 10
    # Again until none is left: a process may fork while its session is being killed.
    while members := _session(process.pid):
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > give_up:
            raise RuntimeError(f"processes {members} outlived SIGKILL")
        time.sleep(0.01)
    process.wait(timeout=10)


def wait_for(condition, *, until: float, failure) -> bool:
    """Poll ``condition``; past ``until`` fail with ``failure()``, or return False if it is None."""
    while not condition():
        if time.monotonic() > until:
            if failure is None:
                return False
            pytest.fail(failure())
        time.sleep(0.1)
    return True


class WebServer:
    """The site under gunicorn on a port of its own, as ``make serve`` runs it."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = env
        self.workers = workers
        self.process = None

    def start(self) -> "WebServer":
        """Start gunicorn; ``wait`` until it answers (servers come up faster side by side)."""
        bind = f"127.0.0.1:{self.port}"
        command = ["python", "-m", "gunicorn", "irlearn.wsgi", "--bind", bind]
        self.process = start([*command, "--workers", str(self.workers)], self.env, self.log)
        return self

    def wait(self, *, timeout: float = 60) -> "WebServer":
        give_up = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > give_up:
                self.stop()
                pytest.fail(f"gunicorn did not come up on {self.url}:\n{self.log.read_text()}")
            time.sleep(0.2)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/robots.txt", timeout=5) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            end(self.process)

    def __enter__(self) -> "WebServer":
        return self.start().wait()

    def __exit__(self, *exc_info) -> None:
        self.stop()
