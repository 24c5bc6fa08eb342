import io

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from irlearn.accounts.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from irlearn.accounts.models import User
from irlearn.accounts.roles import CONTENT_EDITORS, SUBSCRIBER_MANAGERS

pytestmark = pytest.mark.django_db

DEMO_EMAILS = [account[0] for account in DEMO_ACCOUNTS]


def row_counts():
    """Rows in every table of every installed model, plus the many-to-many tables."""
    counts = {}
    for model in apps.get_models(include_auto_created=True):
        counts[model._meta.label] = model._default_manager.count()
    return counts


def seed(**options):
    call_command("seed_demo", stdout=io.StringIO(), **options)


def test_seed_demo_creates_the_four_demo_accounts_with_their_roles(settings):
    settings.DEBUG = True

    seed()

    users = {u.email: u for u in User.objects.filter(email__in=DEMO_EMAILS)}
    assert set(users) == set(DEMO_EMAILS)
    admin = users["admin@irlearn.localhost"]
    editor = users["editor@irlearn.localhost"]
    subscribers = users["subscribers@irlearn.localhost"]
    learner = users["learner@irlearn.localhost"]
    assert admin.is_superuser and admin.is_staff
    assert editor.is_staff and not editor.is_superuser
    assert subscribers.is_staff and not subscribers.is_superuser
    assert not learner.is_staff and not learner.is_superuser
    assert list(editor.groups.values_list("name", flat=True)) == [CONTENT_EDITORS]
    assert list(subscribers.groups.values_list("name", flat=True)) == [SUBSCRIBER_MANAGERS]
    assert not learner.groups.exists()
    assert editor.has_perm("pages.change_page")
    assert not subscribers.has_perm("pages.change_page")
    for user in users.values():
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()


def test_demo_accounts_can_log_in(client, settings):
    settings.DEBUG = True
    seed()

    response = client.post(
        "/accounts/login/", {"login": "learner@irlearn.localhost", "password": DEMO_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    seed()
    first = row_counts()

    seed()

    assert row_counts() == first
    assert User.objects.filter(email__in=DEMO_EMAILS).count() == len(DEMO_EMAILS)
    assert Group.objects.get(name=CONTENT_EDITORS).user_set.count() == 1
    assert Group.objects.get(name=SUBSCRIBER_MANAGERS).user_set.count() == 1


def test_seed_demo_leaves_a_changed_demo_password_alone(settings):
    settings.DEBUG = True
    seed()
    learner = User.objects.get(email="learner@irlearn.localhost")
    learner.set_password("my-own-local-passphrase")
    learner.save()

    seed()

    learner.refresh_from_db()
    assert learner.check_password("my-own-local-passphrase")


def test_seed_demo_refuses_to_create_demo_accounts_without_debug(settings):
    settings.DEBUG = False
    before = row_counts()

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        seed()

    assert row_counts() == before
    assert not User.objects.filter(email__in=DEMO_EMAILS).exists()


def test_seed_demo_loads_content_alone_without_debug(settings):
    settings.DEBUG = False

    seed(no_accounts=True)

    assert not User.objects.filter(email__in=DEMO_EMAILS).exists()
