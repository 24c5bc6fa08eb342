import pytest

from tests.factories import SubscriberManagerFactory


@pytest.fixture
def manager(db):
    """A staff member in the Subscriber managers group."""
    return SubscriberManagerFactory(email="sam.manager@example.org")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client
