import pytest
from django.core.cache import cache

from tests.factories import PASSWORD, UserFactory
from tests.smtp import SmtpSink


@pytest.fixture(autouse=True)
def _clear_cache():
    """allauth keeps its rate limits in the cache: each test starts with none used up."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Files uploaded or seeded by a test go to a folder of its own, never the project's media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def learner(db):
    return UserFactory()


@pytest.fixture
def learner_client(client, learner):
    client.force_login(learner)
    return client


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 that Django sends to (instead of the locmem outbox)."""
    with SmtpSink() as sink:
        # Django's test set-up swaps every mailer for locmem; this override comes after it.
        settings.MAILERS = sink.mailers()
        yield sink
