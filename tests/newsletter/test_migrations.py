"""Data migrations of the newsletter, run on today's models."""

import importlib

import pytest
from django.apps import apps
from django.core import signing

from irlearn.newsletter import tokens
from irlearn.newsletter.models import ConsentRecord
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

sources_without_tokens = importlib.import_module(
    "irlearn.newsletter.migrations.0002_consent_sources_without_tokens"
).sources_without_tokens


def test_consent_sources_written_before_lose_their_tokens_and_staff_addresses(manager):
    subscriber = SubscriberFactory(email="ana@example.org")
    confirm = signing.dumps(
        [subscriber.pk, subscriber.email], salt=tokens.CONFIRM_SALT, compress=True
    )
    unsubscribe = tokens.unsubscribe_token(subscriber)
    manager.full_name = "Sam Manager"
    manager.save()
    before_and_after = {
        "http://testserver/about/": "http://testserver/about/",
        f"https://irlearn.example/newsletter/confirm/{confirm}/": (
            "https://irlearn.example/newsletter/confirm/"
        ),
        f"https://irlearn.example/newsletter/unsubscribe/{unsubscribe}/": (
            "https://irlearn.example/newsletter/unsubscribe/"
        ),
        "admin user sam.manager@example.org": f"admin user #{manager.pk}",
        "import bsir.csv by Sam Manager": f"import bsir.csv by admin user #{manager.pk}",
        "Sign-up sheet": "Sign-up sheet",
    }
    for source in before_and_after:
        ConsentRecord.objects.create(
            subscriber=subscriber, event=ConsentRecord.Event.GIVEN, source=source, actor=manager
        )

    sources_without_tokens(apps, None)

    assert list(ConsentRecord.objects.values_list("source", flat=True)) == list(
        before_and_after.values()
    )
