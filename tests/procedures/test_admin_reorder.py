"""Reordering categories by drag and drop in the admin shows on the public site at once, cached
pages and all (irlearn/pagecache.py: the reorder writes with bulk_update, which sends no
signals)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from procedures.models import Category
from tests.factories import CategoryFactory, ContentEditorFactory, ProcedureFactory, UserFactory

pytestmark = pytest.mark.django_db

REORDER_URL = reverse("admin:procedures_category_sortable_update")


@pytest.fixture
def categories():
    first = CategoryFactory(name="Vascular", order=1)
    second = CategoryFactory(name="Urology", order=2)
    ProcedureFactory(title="Angioplasty", category=first)
    ProcedureFactory(title="Nephrostomy", category=second)
    return first, second


def reorder(client, items):
    """What sortable2's script posts after a drag: the rows that moved and their new order."""
    return client.post(
        REORDER_URL,
        json.dumps({"updatedItems": [[str(pk), order] for pk, order in items]}),
        content_type="application/json",
    )


def order_on_the_page(html, *names):
    return sorted(names, key=html.index)


def editor():
    client = Client()
    client.force_login(ContentEditorFactory())
    return client


def test_a_drag_and_drop_reorder_shows_on_the_cached_library_page_at_once(client, categories):
    vascular, urology = categories
    before = client.get("/procedures/")
    assert client.get("/procedures/")["X-Page-Cache"] == "hit"
    assert order_on_the_page(before.content.decode(), "Urology", "Vascular") == [
        "Vascular",
        "Urology",
    ]

    response = reorder(editor(), [(urology.pk, 1), (vascular.pk, 2)])

    assert response.status_code == 200
    assert list(Category.objects.values_list("name", flat=True)) == ["Urology", "Vascular"]
    after = client.get("/procedures/")
    assert "X-Page-Cache" not in after
    assert order_on_the_page(after.content.decode(), "Urology", "Vascular") == [
        "Urology",
        "Vascular",
    ]


def test_a_refused_reorder_keeps_the_cached_page(client, categories):
    vascular, urology = categories
    client.get("/procedures/")
    learner = Client()
    learner.force_login(UserFactory())

    reorder(learner, [(urology.pk, 1), (vascular.pk, 2)])

    assert client.get("/procedures/")["X-Page-Cache"] == "hit"
    assert list(Category.objects.values_list("name", flat=True)) == ["Vascular", "Urology"]
