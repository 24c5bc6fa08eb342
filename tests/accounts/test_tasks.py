"""Account emails go through the task queue: the worker, not the web request, talks to SMTP."""

import pytest
from django.core.management import call_command
from django.urls import reverse

SIGNUP = {
    "full_name": "Priya Shah",
    "email": "priya@example.org",
    "password1": "tubes-and-wires-2026",
    "password2": "tubes-and-wires-2026",
    "grade": "foundation",
    "specialty": "",
}


@pytest.fixture
def database_task_queue(settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The worker drops connections it thinks are stale; inside the test's transaction that
    # closes the test's own connection on PostgreSQL ("Cannot open a new connection in an
    # atomic block"). The test database connection is never stale, so skip that housekeeping.
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )


@pytest.mark.django_db
def test_verification_email_waits_in_the_queue_until_the_worker_sends_it(
    client, mailoutbox, database_task_queue
):
    from django_tasks_db.models import DBTaskResult

    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert mailoutbox == []
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)

    assert [m.to for m in mailoutbox] == [["priya@example.org"]]
    assert "/accounts/confirm-email/" in mailoutbox[0].body
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
