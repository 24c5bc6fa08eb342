"""Finished task results are pruned on a schedule kept going by the worker's start-up sweep."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from irlearn.newsletter.tasks import email_confirmation_send
from irlearn.taskresults import task_results_prune_periodic
from tests.taskqueue import run_worker, use_database_queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def database_task_queue(settings, monkeypatch):
    use_database_queue(settings, monkeypatch)
    settings.TASK_RESULTS_KEEP_DAYS = 1
    settings.TASK_RESULTS_KEEP_FAILED_DAYS = 30


def finished(status, age, **kwargs):
    """A result of a harmless task that finished ``age`` ago."""
    result = email_confirmation_send.enqueue(subscriber_id=0)
    if status != "READY":
        DBTaskResult.objects.filter(pk=result.id).update(
            status=status, finished_at=timezone.now() - age
        )
    return str(result.id)


def sweep():
    call_command("newsletter_sweep", stdout=StringIO())


def prunes_waiting():
    return DBTaskResult.objects.filter(
        task_path=task_results_prune_periodic.module_path, status="READY"
    )


def test_the_worker_sweep_prunes_successes_after_a_day_and_failures_after_30_days():
    kept = {
        finished("SUCCESSFUL", timedelta(hours=20)),
        finished("FAILED", timedelta(days=29)),
        finished("READY", timedelta(days=40)),
    }
    finished("SUCCESSFUL", timedelta(days=2))
    finished("FAILED", timedelta(days=31))

    sweep()

    remaining = DBTaskResult.objects.exclude(task_path=task_results_prune_periodic.module_path)
    assert {str(pk) for pk in remaining.values_list("pk", flat=True)} == kept


def test_the_keeping_periods_are_settings(settings):
    settings.TASK_RESULTS_KEEP_DAYS = 0
    settings.TASK_RESULTS_KEEP_FAILED_DAYS = 7
    kept = finished("FAILED", timedelta(days=6))
    finished("FAILED", timedelta(days=8))
    finished("SUCCESSFUL", timedelta(minutes=1))

    sweep()

    remaining = DBTaskResult.objects.exclude(task_path=task_results_prune_periodic.module_path)
    assert [str(pk) for pk in remaining.values_list("pk", flat=True)] == [kept]


def test_the_sweep_leaves_one_prune_waiting_an_hour_however_often_it_runs():
    before = timezone.now()

    for _ in range(3):
        sweep()

    waiting = prunes_waiting().get()
    assert before + timedelta(minutes=59) < waiting.run_after < timezone.now() + timedelta(hours=1)


def test_the_hourly_prune_prunes_and_enqueues_the_next_one():
    sweep()
    old = finished("SUCCESSFUL", timedelta(days=2))
    first = prunes_waiting().get()
    prunes_waiting().update(run_after=timezone.now())  # an hour has passed

    run_worker()

    assert not DBTaskResult.objects.filter(pk=old).exists()
    assert DBTaskResult.objects.get(pk=first.pk).status == "SUCCESSFUL"
    assert prunes_waiting().get().run_after > timezone.now() + timedelta(minutes=59)


def test_of_two_prunes_waiting_one_ends_its_line():
    # Two workers started at the same moment, and each sweep saw no prune waiting.
    for _ in range(2):
        task_results_prune_periodic.using(run_after=timezone.now()).enqueue()

    run_worker()

    assert prunes_waiting().count() == 1
