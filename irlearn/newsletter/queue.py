"""What waits in the task queue: the one place that reads the task backends' own storage.

The sweep asks whether a send still has tasks waiting (``tasks_waiting``). Django's task API
cannot tell, so this reads django-tasks-db's table and RQ's queue, each through its library's
public interface. The task is passed in: this module imports no task.
"""

from django.tasks import Task, TaskResultStatus
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult


def tasks_waiting(task: Task, **kwargs) -> tuple[int, int] | None:
    """How many enqueued runs of ``task`` with these keyword arguments wait in the queue: (due
    to run now, deferred to later).

    "Due now" is what a worker takes next. The database backend (django-tasks-db) and RQ can
    tell; None when the backend cannot (the immediate backend in tests keeps no queue).
    """
    backend = task.get_backend()
    if isinstance(backend, DatabaseBackend):
        return _database_tasks_waiting(backend, task, kwargs)
    from django_tasks_rq import RQBackend  # RQ and Redis's client only where they are used

    if isinstance(backend, RQBackend):
        return _rq_tasks_waiting(task, kwargs)
    return None


def _database_tasks_waiting(backend, task: Task, kwargs: dict) -> tuple[int, int]:
    """django-tasks-db's table; "due now" is its own ``ready()``."""
    waiting = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        backend_name=backend.alias,
        task_path=task.module_path,
        **{f"args_kwargs__kwargs__{name}": value for name, value in kwargs.items()},
    )
    due_now = waiting.ready().count()
    return due_now, waiting.count() - due_now


def _rq_tasks_waiting(task: Task, kwargs: dict) -> tuple[int, int]:
    """RQ's queue, through django-rq and RQ's public API.

    "Due now" is a job in the queue itself. A deferred job waits in the scheduled-job registry
    until a worker's scheduler moves it to the queue, and counts as deferred even once its
    time has come: only one worker runs the scheduler, and after that worker dies another one
    takes the scheduler over only minutes later, so such a job is not what a worker takes next.
    """
    import django_rq

    queue = django_rq.get_queue(task.queue_name)

    def matching(job_ids) -> int:
        jobs = queue.job_class.fetch_many(
            job_ids, connection=queue.connection, serializer=queue.serializer
        )
        return sum(
            1
            for job in jobs
            if job is not None
            and job.func_name == task.module_path
            and all(job.kwargs.get(name) == value for name, value in kwargs.items())
        )

    return matching(queue.get_job_ids()), matching(queue.scheduled_job_registry.get_job_ids())
