"""Keeping the task table small and free of personal data.

Task arguments are ids, never addresses, names or links (see ``irlearn/accounts/tasks.py``), but
the database backend keeps every finished task with its return value and, for a failed one, its
traceback, and an SMTP refusal names its recipient. So finished results are pruned on a schedule
with django-tasks-db's own ``prune_db_task_results``: successful ones after
``TASK_RESULTS_KEEP_DAYS``, failed ones (worth reading after an outage) after
``TASK_RESULTS_KEEP_FAILED_DAYS``. Apps delete the results that concern one person when that
person goes (``task_results_delete``).

``manage.py newsletter_sweep``, run whenever a worker starts, prunes at once and makes sure an
hourly prune waits in the queue; that task enqueues its successor before it prunes, so a worker
killed mid-way does not end the schedule.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.tasks import TaskResultStatus, task
from django.utils import timezone

PRUNE_INTERVAL = timedelta(hours=1)


def _database_backend(a_task):
    """The task's backend when it is django-tasks-db's, else None (other backends keep no rows)."""
    from django_tasks_db import DatabaseBackend

    backend = a_task.get_backend()
    return backend if isinstance(backend, DatabaseBackend) else None


def task_results_delete(*, task, **kwargs) -> int:
    """Delete the stored results of ``task`` enqueued with these keyword arguments, waiting or
    finished, and return how many. A task that is running is left to finish: it reads its rows
    again and finds nothing to do once they are gone.
    """
    backend = _database_backend(task)
    if backend is None:
        return 0
    from django_tasks_db.models import DBTaskResult

    lookups = {f"args_kwargs__kwargs__{name}": value for name, value in kwargs.items()}
    deleted, _ = (
        DBTaskResult.objects.filter(backend_name=backend.alias, task_path=task.module_path)
        .exclude(status=TaskResultStatus.RUNNING)
        .filter(**lookups)
        .delete()
    )
    return deleted


def task_results_prune() -> bool:
    """Delete finished results older than their keeping period; False when the backend keeps
    none (RQ expires its own, the immediate backend stores nothing)."""
    backend = _database_backend(task_results_prune_periodic)
    if backend is None:
        return False
    call_command(
        "prune_db_task_results",
        backend=backend,
        queue_name="*",
        min_age_days=settings.TASK_RESULTS_KEEP_DAYS,
        failed_min_age_days=settings.TASK_RESULTS_KEEP_FAILED_DAYS,
        verbosity=0,
    )
    return True


def _prune_waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=task_results_prune_periodic.module_path
    ).exists()


def _prune_later() -> None:
    task_results_prune_periodic.using(run_after=timezone.now() + PRUNE_INTERVAL).enqueue()


@task
def task_results_prune_periodic() -> None:
    """Prune, and come back in an hour (first, so that a crash here keeps the schedule).

    When another prune already waits (two workers started at once), this one ends its line.
    """
    if _database_backend(task_results_prune_periodic) is None:
        return
    if not _prune_waiting():
        _prune_later()
    task_results_prune()


def task_results_sweep() -> bool:
    """Prune now and make sure a periodic prune waits in the queue (the worker start-up sweep).

    Returns False when the task backend keeps no results.
    """
    if not task_results_prune():
        return False
    if not _prune_waiting():
        _prune_later()
    return True
