"""Account emails go through the task queue: the worker, not the web request, talks to SMTP.

The queue is a table that keeps each task's arguments and result, so a queued account email
names rows, never the address, the person or a link; the worker builds the message.
"""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from irlearn.accounts.models import QueuedAddress, User
from tests.factories import PASSWORD, UserFactory
from tests.taskqueue import run_worker, use_database_queue

SIGNUP = {
    "full_name": "Priya Shah",
    "email": "priya@example.org",
    "password1": "tubes-and-wires-2026",
    "password2": "tubes-and-wires-2026",
    "grade": "foundation",
    "specialty": "",
}
RESET_URL = reverse("account_reset_password")
LINK = re.compile(r"https?://[^/\s]+(/accounts/(?:confirm-email|password/reset/key)/[^/\s]+/)")


@pytest.fixture
def database_task_queue(settings, monkeypatch):
    use_database_queue(settings, monkeypatch)


def stored_tasks() -> str:
    """Everything the task table holds about its tasks, as one string."""
    return json.dumps(
        list(DBTaskResult.objects.values("args_kwargs", "return_value", "traceback")),
        default=str,
    )


@pytest.mark.django_db
def test_verification_email_waits_in_the_queue_until_the_worker_sends_it(
    client, mailoutbox, database_task_queue
):
    response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert mailoutbox == []
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    run_worker()

    assert [m.to for m in mailoutbox] == [["priya@example.org"]]
    assert "/accounts/confirm-email/" in mailoutbox[0].body
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


@pytest.mark.django_db
def test_queued_account_emails_hold_no_address_name_or_link(
    client, mailoutbox, database_task_queue
):
    learner = UserFactory(email="jane.doe@example.org", full_name="Jane Doe")
    client.post(reverse("account_signup"), SIGNUP)  # verification
    client.post(reverse("account_signup"), {**SIGNUP, "email": learner.email})  # already exists
    client.post(RESET_URL, {"email": learner.email})  # reset link
    client.post(RESET_URL, {"email": "nobody@example.org"})  # unknown account
    assert DBTaskResult.objects.filter(status="READY").count() == 4

    run_worker()
    sent = {m.to[0]: m for m in mailoutbox}

    assert sorted(sent) == ["jane.doe@example.org", "nobody@example.org", "priya@example.org"]
    assert len(mailoutbox) == 4
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    links = [match.group(1) for m in mailoutbox for match in LINK.finditer(m.body)]
    assert len(links) == 2  # confirm Priya's address, reset Jane's password
    held = stored_tasks().lower()
    for personal in ["@example.org", "priya", "jane", "doe", "shah", "/accounts/", *links]:
        assert personal.lower() not in held, personal
    # The address with no account waited in a row of its own, gone once it was mailed.
    assert not QueuedAddress.objects.exists()


@pytest.mark.django_db
def test_the_links_the_worker_builds_work(client, mailoutbox, database_task_queue):
    client.post(reverse("account_signup"), SIGNUP)
    run_worker()
    confirm = LINK.search(mailoutbox[-1].body).group(1)
    assert client.post(confirm).status_code == 302
    client.post(RESET_URL, {"email": SIGNUP["email"]})
    run_worker()
    reset = LINK.search(mailoutbox[-1].body).group(1)

    form = client.get(reset)["Location"]
    response = client.post(form, {"password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 302
    assert Client().post(
        reverse("account_login"), {"login": SIGNUP["email"], "password": PASSWORD}
    ).url == reverse("home")


@pytest.mark.django_db
def test_deleting_an_account_deletes_its_queued_emails_and_none_goes_out(
    client, mailoutbox, database_task_queue
):
    learner = UserFactory()
    other = UserFactory()
    client.post(RESET_URL, {"email": learner.email})
    client.post(RESET_URL, {"email": other.email})
    client.force_login(learner)

    client.post(reverse("accounts:delete"), {"password": PASSWORD})
    run_worker()

    assert not User.objects.filter(pk=learner.pk).exists()
    assert [m.to for m in mailoutbox] == [[other.email]]
    assert f'"user_id": {learner.pk}' not in stored_tasks()


@pytest.mark.django_db
def test_an_email_for_an_account_deleted_while_it_waited_is_not_sent(
    client, mailoutbox, database_task_queue
):
    # The RQ queue lives outside the database: deleting the account cannot reach its tasks.
    learner = UserFactory()
    client.post(RESET_URL, {"email": learner.email})
    learner.delete()

    run_worker()

    assert mailoutbox == []
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
