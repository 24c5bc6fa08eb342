"""The database task queue in tests, as production runs it: tasks wait in a table until a worker
takes them (the test settings use the immediate backend, which stores nothing)."""

from django.core.management import call_command


def use_database_queue(settings, monkeypatch) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The worker drops connections it thinks are stale; inside the test's transaction that
    # closes the test's own connection on PostgreSQL ("Cannot open a new connection in an
    # atomic block"). The test database connection is never stale, so skip that housekeeping.
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )


def run_worker() -> None:
    """Run every task that is due, as one worker would, then stop."""
    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
